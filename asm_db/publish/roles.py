"""The read-only role: sees asmdb's data, styles and project in QGIS or SQL, writes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.errors import AsmdbError

DEFAULT_READER = "asmdb_reader"
DEFAULT_REVIEWER = "asmdb_reviewer"
# What a reviewer may change: the answer columns of the review queue, nothing else (a change's
# sample is answered per period, in answer_from and answer_to).
REVIEW_COLUMNS = ("status", "reviewer", "reviewed_at", "notes", "answer_from", "answer_to")


# Written on every role asmdb makes, so that it never takes over a role someone else made.
MARK = "made by asmdb roles create"


@dataclass(frozen=True)
class RoleResult:
    name: str
    created: bool
    database: str
    password_set: bool


def create_reader(
    engine: Engine,
    name: str = DEFAULT_READER,
    password: str | None = None,
    force: bool = False,
) -> RoleResult:
    """Create (or bring up to date) a login role that can read asmdb and nothing else.

    It may read every table and view of the `asmdb` schema and QGIS's `public.layer_styles`;
    it gets no write privilege anywhere, and its sessions are read-only by default as well.
    Run it again after a migration that adds tables.
    """
    return _create_role(engine, name, password, reviewer=False, force=force)


def create_reviewer(
    engine: Engine,
    name: str = DEFAULT_REVIEWER,
    password: str | None = None,
    force: bool = False,
) -> RoleResult:
    """Create (or bring up to date) a reviewer: reads what the reader reads, and may change
    only the answer columns (status, reviewer, reviewed_at, notes; answer_from and answer_to
    for a change's sample) of `asmdb.review_queue`.

    This grant is what lets a person answer reviews in the web page (`asmdb serve`), which
    writes as the logged-in role.
    """
    return _create_role(engine, name, password, reviewer=True, force=force)


def _create_role(
    engine: Engine, name: str, password: str | None, reviewer: bool, force: bool
) -> RoleResult:
    """Create the role, or bring one asmdb made up to date.

    An existing role is taken only when asmdb made it (its comment says so) and it is a
    member of no other role, unless `force`; a role with administrative rights never. The
    password goes to the server as a SCRAM verifier, so no log holds it in plain text.
    """
    role = sql.Identifier(name)
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        database = pg.execute("SELECT current_database()").fetchone()[0]
        existing = pg.execute(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication, "
            "coalesce(shobj_description(oid, 'pg_authid'), ''), "
            "ARRAY(SELECT g.rolname FROM pg_auth_members AS m JOIN pg_roles AS g "
            "      ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) "
            "FROM pg_roles AS r WHERE rolname = %s",
            (name,),
        ).fetchone()
        if existing:
            admin, comment, memberships = existing
            if admin:
                raise AsmdbError(
                    f"role '{name}' exists with administrative rights; choose another --name"
                )
            if not force and (not comment.startswith(MARK) or memberships):
                why = (
                    f"it is a member of {', '.join(memberships)}"
                    if memberships
                    else "asmdb did not create it"
                )
                raise AsmdbError(
                    f"role '{name}' exists and {why}; choose another --name, or add --force "
                    "to give it asmdb's grants anyway (its other rights stay)"
                )
        else:
            pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        kind = "reviewer" if reviewer else "reader"
        pg.execute(
            sql.SQL("COMMENT ON ROLE {} IS {}").format(
                role, sql.Literal(f"{MARK}: {kind} of database {database}")
            )
        )
        if password is not None:
            verifier = pg.pgconn.encrypt_password(
                password.encode(), name.encode(), b"scram-sha-256"
            )
            # Utility statements take no bound parameters: the literal is quoted by psycopg.
            pg.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(verifier.decode()))
            )
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
    return RoleResult(name, existing is None, database, password is not None)
