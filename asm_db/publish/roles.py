"""The read-only role: sees asmdb's data, styles and project in QGIS or SQL, writes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.errors import AsmdbError

DEFAULT_READER = "asmdb_reader"
DEFAULT_REVIEWER = "asmdb_reviewer"
# What a reviewer may change: the answer columns of the review queue, nothing else.
REVIEW_COLUMNS = ("status", "reviewer", "reviewed_at", "notes")


@dataclass(frozen=True)
class RoleResult:
    name: str
    created: bool
    database: str
    password_set: bool


def create_reader(
    engine: Engine, name: str = DEFAULT_READER, password: str | None = None
) -> RoleResult:
    """Create (or bring up to date) a login role that can read asmdb and nothing else.

    It may read every table and view of the `asmdb` schema and QGIS's `public.layer_styles`;
    it gets no write privilege anywhere, and its sessions are read-only by default as well.
    Run it again after a migration that adds tables.
    """
    return _create_role(engine, name, password, reviewer=False)


def create_reviewer(
    engine: Engine, name: str = DEFAULT_REVIEWER, password: str | None = None
) -> RoleResult:
    """Create (or bring up to date) a reviewer: reads what the reader reads, and may change
    only the answer columns (status, reviewer, reviewed_at, notes) of `asmdb.review_queue`.

    This grant is what lets a person answer reviews in the web page (`asmdb serve`), which
    writes as the logged-in role.
    """
    return _create_role(engine, name, password, reviewer=True)


def _create_role(engine: Engine, name: str, password: str | None, reviewer: bool) -> RoleResult:
    role = sql.Identifier(name)
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        database = pg.execute("SELECT current_database()").fetchone()[0]
        exists = pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if exists:
            can_write = pg.execute(
                "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls "
                "FROM pg_roles WHERE rolname = %s",
                (name,),
            ).fetchone()[0]
            if can_write:
                raise AsmdbError(
                    f"role '{name}' exists with administrative rights; choose another --name"
                )
        else:
            pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        if password is not None:
            # Utility statements take no bound parameters: the literal is quoted by psycopg.
            pg.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password)))
        statements = [
            "REVOKE UPDATE ON asmdb.review_queue FROM {role}",
            "ALTER ROLE {role} RESET default_transaction_read_only"
            if reviewer
            else "ALTER ROLE {role} SET default_transaction_read_only = on",
            "GRANT CONNECT ON DATABASE {database} TO {role}",
            "GRANT USAGE ON SCHEMA asmdb TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA asmdb TO {role}",
            "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA asmdb TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA asmdb GRANT SELECT ON TABLES TO {role}",
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT ON public.layer_styles TO {role}",
        ]
        for statement in statements:
            pg.execute(sql.SQL(statement).format(role=role, database=sql.Identifier(database)))
        if reviewer:
            pg.execute(
                sql.SQL("GRANT UPDATE ({columns}) ON asmdb.review_queue TO {role}").format(
                    columns=sql.SQL(", ").join(sql.Identifier(c) for c in REVIEW_COLUMNS),
                    role=role,
                )
            )
    return RoleResult(name, not exists, database, password is not None)
