"""Alembic environment: asmdb always runs migrations on a connection it passes in."""

from alembic import context

from asm_db.db.engine import VERSION_TABLE, create_engine

connection = context.config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(
        connection=conn,
        version_table=VERSION_TABLE,
        version_table_schema="public",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # plain `alembic` command line: ASMDB_DATABASE_URL or libpq defaults
    with create_engine().begin() as conn:
        _run(conn)
