"""Database roles for people and for the web server.

- The reader: a login that reads asmdb's data, styles and project (QGIS, SQL, `asmdb serve`),
  writes nothing. With it comes `<reader>_public`, a role without login that reads the public
  map layers and imagery and nothing else: the web server switches to it for anonymous visitors
  (a switch that only ever narrows what the reader may do).
- A reviewer: reads what the reader reads, and may change the answer columns of the review
  queue.

Roles are the server's, not one database's: each role asmdb makes says in its comment which
databases it was made for, and a role made for another database is taken only with `force`.
Settings that differ per database are made `IN DATABASE`.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from sqlalchemy.engine import Engine

from asm_db import layers
from asm_db.db.engine import VERSION_TABLE, check_ready, connect, driver
from asm_db.errors import AsmdbError

DEFAULT_READER = "asmdb_reader"
DEFAULT_REVIEWER = "asmdb_reviewer"
PUBLIC_SUFFIX = "_public"
# What a reviewer may change: the answer columns of the review queue, nothing else (a change's
# sample is answered per period, in answer_from and answer_to).
REVIEW_COLUMNS = ("status", "reviewer", "reviewed_at", "notes", "answer_from", "answer_to")
# What an anonymous visitor of a public server may read: the map layers, and the columns of the
# map registry the layers (their functions) and the page's period slider and popup read, all of
# which the layers show already. No label, review, run or feature vector.
PUBLIC_VIEWS = tuple(layer.table for layer in layers.public())
PUBLIC_COLUMNS = {
    "maps": ("map_id", "run_id", "feature_set_id", "promoted_at"),
    "feature_sets": ("feature_set_id", "period_start", "period_end"),
    "changes": ("change_id",),
    "tiles": ("tile_id", "lon", "lat"),
}
# Registered imagery, when the registry declares it public: what lists it and proves a visitor
# may read it; never what it is drawn from (its files, scale, offset, stretch: the server reads
# those as the reader) nor its provenance. A wider grant of an earlier version is revoked with
# the rest (`_grant_public` revokes all before granting).
if layers.IMAGERY.public:
    PUBLIC_COLUMNS[layers.IMAGERY.table] = layers.IMAGERY.columns
# PostgreSQL cuts longer names: the public role's name must fit.
MAX_NAME = 63 - len(PUBLIC_SUFFIX)

# Written on every role asmdb makes, so that it never takes over a role someone else made.
MARK = "made by asmdb roles create"


@dataclass(frozen=True)
class RoleResult:
    name: str
    created: bool
    database: str
    password_set: bool
    public_role: str | None = None


def public_role(reader: str) -> str:
    """The name of a reader's role for anonymous visitors."""
    return reader + PUBLIC_SUFFIX


def create_reader(
    engine: Engine,
    name: str = DEFAULT_READER,
    password: str | None = None,
    force: bool = False,
) -> RoleResult:
    """Create (or bring up to date) a login role that can read asmdb and nothing else, and its
    role for anonymous visitors, `<name>_public`, that reads the public map layers only.

    The reader may read every table and view of the `asmdb` schema, QGIS's
    `public.layer_styles` and the schema's revision (so `asmdb serve` can run as it); it gets no
    write privilege anywhere, and its sessions in this database are read-only by default as
    well. Run it again after a migration that adds tables.
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


def _marked_databases(comment: str) -> list[str] | None:
    """The databases a role's comment says asmdb made it for; None when asmdb did not make it."""
    if not comment.startswith(MARK):
        return None
    _, _, where = comment.partition(" of database")
    where = where.removeprefix("s")
    return [d.strip() for d in where.split(",") if d.strip()]


def _mark(kind: str, databases: list[str]) -> str:
    plural = "s" if len(databases) > 1 else ""
    return f"{MARK}: {kind} of database{plural} {', '.join(databases)}"


def _existing(pg, name: str):
    return pg.execute(
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication, "
        "coalesce(shobj_description(oid, 'pg_authid'), ''), rolcanlogin, "
        "ARRAY(SELECT g.rolname FROM pg_auth_members AS m JOIN pg_roles AS g "
        "      ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) "
        "FROM pg_roles AS r WHERE rolname = %s",
        (name,),
    ).fetchone()


def _check_takeover(
    name: str, existing, database: str, allowed_memberships: set[str], force: bool
) -> list[str]:
    """Refuse to take over a role asmdb should not (see `_create_role`); returns the databases
    the role will be marked for."""
    if existing is None:
        return [database]
    admin, comment, _, memberships = existing
    if admin:
        raise AsmdbError(f"role '{name}' exists with administrative rights; choose another --name")
    databases = _marked_databases(comment)
    others = [m for m in memberships if m not in allowed_memberships]
    if others:
        why = f"it is a member of {', '.join(others)}"
    elif databases is None:
        why = "asmdb did not create it"
    elif database not in databases:
        why = f"asmdb made it for database {', '.join(databases)}"
    else:
        why = None
    if why is not None and not force:
        raise AsmdbError(
            f"role '{name}' exists and {why}; choose another --name, or add --force "
            "to give it asmdb's grants anyway (its other rights stay)"
        )
    return sorted({*(databases or []), database})


def _create_role(
    engine: Engine, name: str, password: str | None, reviewer: bool, force: bool
) -> RoleResult:
    """Create the role, or bring one asmdb made up to date.

    An existing role is taken only when asmdb made it for this database (its comment says so)
    and it is a member of no other role than the ones asmdb grants it, unless `force`; a role
    with administrative rights never. The password goes to the server as a SCRAM verifier, so
    no log holds it in plain text.
    """
    role = sql.Identifier(name)
    kind = "reviewer" if reviewer else "reader"
    anonymous = None if reviewer else public_role(name)
    if anonymous is not None and len(name.encode()) > MAX_NAME:
        raise AsmdbError(
            f"a reader's name has at most {MAX_NAME} bytes (it is given a role "
            f"'<name>{PUBLIC_SUFFIX}' for anonymous web visitors)"
        )
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        database = pg.execute("SELECT current_database()").fetchone()[0]
        existing = _existing(pg, name)
        allowed = {anonymous} if anonymous else set()
        databases = _check_takeover(name, existing, database, allowed, force)
        if anonymous is not None:
            public_existing = _existing(pg, anonymous)
            if public_existing is not None and public_existing[2]:
                raise AsmdbError(
                    f"role '{anonymous}' exists and can log in; it cannot be the anonymous "
                    f"visitors' role of '{name}': choose another --name"
                )
            public_databases = _check_takeover(anonymous, public_existing, database, set(), force)
        if existing is None:
            pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        pg.execute(
            sql.SQL("COMMENT ON ROLE {} IS {}").format(role, sql.Literal(_mark(kind, databases)))
        )
        if password is not None:
            verifier = pg.pgconn.encrypt_password(
                password.encode(), name.encode(), b"scram-sha-256"
            )
            # Utility statements take no bound parameters: the literal is quoted by psycopg.
            pg.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(verifier.decode()))
            )
        # Read-only by default in this database only; earlier versions set it for every
        # database of the server, which a reviewer of another database must not inherit.
        statements = [
            "REVOKE UPDATE ON asmdb.review_queue FROM {role}",
            "ALTER ROLE {role} RESET default_transaction_read_only",
            "ALTER ROLE {role} IN DATABASE {database} RESET default_transaction_read_only"
            if reviewer
            else "ALTER ROLE {role} IN DATABASE {database} SET default_transaction_read_only = on",
            "GRANT CONNECT ON DATABASE {database} TO {role}",
            "GRANT USAGE ON SCHEMA asmdb TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA asmdb TO {role}",
            "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA asmdb TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA asmdb GRANT SELECT ON TABLES TO {role}",
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT ON public.layer_styles TO {role}",
            "GRANT SELECT ON public.{version} TO {role}",
        ]
        for statement in statements:
            pg.execute(
                sql.SQL(statement).format(
                    role=role,
                    database=sql.Identifier(database),
                    version=sql.Identifier(VERSION_TABLE),
                )
            )
        if reviewer:
            pg.execute(
                sql.SQL("GRANT UPDATE ({columns}) ON asmdb.review_queue TO {role}").format(
                    columns=sql.SQL(", ").join(sql.Identifier(c) for c in REVIEW_COLUMNS),
                    role=role,
                )
            )
        else:
            _grant_public(pg, anonymous, name, public_databases)
    return RoleResult(name, existing is None, database, password is not None, anonymous)


def _grant_public(pg, anonymous: str, reader: str, databases: list[str]) -> None:
    """The anonymous visitors' role: no login, the public map layers only; the reader may
    switch to it (SET ROLE), and nobody may switch from it to anything."""
    role = sql.Identifier(anonymous)
    if _existing(pg, anonymous) is None:
        pg.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
    pg.execute(
        sql.SQL("COMMENT ON ROLE {} IS {}").format(
            role, sql.Literal(_mark(f"public map layers of reader {reader}", databases))
        )
    )
    pg.execute(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(reader)))
    pg.execute(sql.SQL("GRANT USAGE ON SCHEMA asmdb TO {}").format(role))
    pg.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA asmdb FROM {}").format(role))
    for view in PUBLIC_VIEWS:
        pg.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier("asmdb", view), role))
    for table, columns in PUBLIC_COLUMNS.items():
        pg.execute(
            sql.SQL("GRANT SELECT ({}) ON {} TO {}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                sql.Identifier("asmdb", table),
                role,
            )
        )
