"""Connecting to the asmdb database, checking it is ready, and migrating it with Alembic."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from asm_db.db.sqlfiles import replaceable_files
from asm_db.errors import AsmdbError, DatabaseNotReady
from asm_db.migrations import HEAD

if TYPE_CHECKING:
    from alembic.config import Config

URL_ENV = "ASMDB_DATABASE_URL"
# An empty psycopg URL means libpq's own defaults and variables (PGHOST, PGDATABASE, ...).
DEFAULT_URL = "postgresql+psycopg://"
# asmdb keeps its own Alembic version table so it can share a database with other applications.
VERSION_TABLE = "asmdb_version"
# The advisory lock `asmdb db upgrade` holds (any 64-bit number only asmdb uses).
UPGRADE_LOCK = 0x61736D6462_7570  # "asmdb" "up"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else ASMDB_DATABASE_URL, else libpq's defaults."""
    url = url or os.environ.get(URL_ENV) or DEFAULT_URL
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# libpq takes a password in the user-info part, as a `password` query parameter, or inside a
# `dbname` that is itself a conninfo string; every form is masked.
_SECRET_KEYS = frozenset({"password", "sslpassword"})
MASK = "***"


def redacted(url: str | sa.URL) -> str:
    """The URL with every password hidden, for messages."""
    try:
        parsed = url if isinstance(url, sa.URL) else make_url(str(url))
    except (sa.exc.ArgumentError, ValueError):
        return "(an unreadable database URL)"
    query = {
        key: (MASK if key.lower() in _SECRET_KEYS else value) for key, value in parsed.query.items()
    }
    parsed = parsed.set(query=query)
    if parsed.database and "=" in parsed.database:
        parsed = parsed.set(database=_redacted_conninfo(parsed.database))
    return parsed.render_as_string(hide_password=True)


def _redacted_conninfo(conninfo: str) -> str:
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return MASK
    return " ".join(
        f"{key}={MASK if key.lower() in _SECRET_KEYS else value}" for key, value in params.items()
    )


def create_engine(url: str | None = None) -> Engine:
    """An engine on psycopg 3 for the given URL (see `database_url`).

    Its sessions run with JIT compilation off: asmdb's queries stream rows or probe indexes,
    and JIT only adds its compile time (measured: 245 ms of a 489 ms label-tile join).
    """
    try:
        parsed = make_url(database_url(url))
        if parsed.drivername != "postgresql+psycopg":
            # Another database's URL would fail later, deep in its own driver.
            raise sa.exc.ArgumentError(
                f"asmdb needs PostgreSQL, not '{parsed.drivername}': the URL starts "
                "postgresql:// or postgresql+psycopg://"
            )
        engine = sa.create_engine(parsed, pool_pre_ping=False)
    except ValueError as exc:  # a port that is not a number, say; the URL is not repeated
        raise sa.exc.ArgumentError(f"Could not parse the URL: {exc}") from None
    sa.event.listen(engine, "connect", _session_settings)
    return engine


def _session_settings(dbapi_connection, _record) -> None:
    dbapi_connection.execute("SET jit = off")
    dbapi_connection.commit()


def driver(conn: Connection) -> psycopg.Connection:
    """The psycopg connection under a SQLAlchemy connection (for COPY), same transaction."""
    return conn.connection.driver_connection


def _alembic_config(conn: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "asm_db:migrations")
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest revision: `asm_db.migrations.HEAD`, which a test holds equal to Alembic's
    head. Every command checks it, and importing Alembic to read it would cost a tenth of a
    second each time."""
    return HEAD


def current_revision(conn: Connection) -> str | None:
    """The database's revision, read from asmdb's Alembic version table (None before the first
    upgrade)."""
    table = conn.execute(
        sa.text("SELECT to_regclass(:name)"), {"name": f"public.{VERSION_TABLE}"}
    ).scalar()
    if table is None:
        return None
    versions = conn.execute(sa.text(f"SELECT version_num FROM public.{VERSION_TABLE}")).scalars()
    found = list(versions)
    if len(found) > 1:
        raise DatabaseNotReady(f"the database has several asmdb revisions ({', '.join(found)})")
    return found[0] if found else None


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A transaction on the database; an unreachable server becomes DatabaseNotReady."""
    try:
        conn_cm = engine.begin()
        conn = conn_cm.__enter__()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            # A time limit (PGOPTIONS' statement_timeout) stopped the first queries: reached.
            raise AsmdbError(f"the database stopped a statement: {reason}") from None
        raise DatabaseNotReady(
            f"cannot reach the database at {redacted(engine.url)} ({reason}); start PostGIS "
            f"(`docker compose up -d`) or set {URL_ENV} / --database-url"
        ) from None
    try:
        yield conn
    except BaseException as exc:
        conn_cm.__exit__(type(exc), exc, exc.__traceback__)
        raise
    else:
        conn_cm.__exit__(None, None, None)


def check_ready(conn: Connection) -> None:
    """Raise DatabaseNotReady unless PostGIS is installed and the schema is at the head revision."""
    url = redacted(conn.engine.url)
    has_postgis = conn.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
    ).scalar()
    current = current_revision(conn)
    head = head_revision()
    if not has_postgis or current is None:
        require_postgis_package(conn)
        raise DatabaseNotReady(f"the database {url} is not set up; run `asmdb db upgrade`")
    if current != head:
        raise DatabaseNotReady(
            f"the database {url} is at revision {current}, asmdb needs {head}; "
            "run `asmdb db upgrade`"
        )


def require_postgis_package(conn: Connection) -> None:
    """Raise DatabaseNotReady, saying what to install, unless the server can create PostGIS."""
    available = conn.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
    ).scalar()
    if not available:
        raise DatabaseNotReady(
            f"PostGIS is not installed on the server of {redacted(conn.engine.url)}; install it "
            "(Debian: apt-get install postgresql-15-postgis-3) and run `asmdb db upgrade`"
        )


def apply_replaceable(conn: Connection) -> None:
    """(Re)create the views and functions of `sql/schema/`, file by file in name order."""
    for _, text in replaceable_files():
        conn.exec_driver_sql(text)


def upgrade(
    engine: Engine,
    revision: str = "head",
    *,
    then: Callable[[Connection], object] | None = None,
) -> str:
    """Migrate the database to `revision` and re-apply the views; returns the new revision.

    `then` runs in the same transaction afterwards (a failure there undoes the migration):
    `asm_db.publish.workflows.upgrade_database`, what `asmdb db upgrade` runs, passes the
    installation of the QGIS styles.
    """
    with connect(engine) as conn:
        # Two upgrades at once would both run the same revisions ("tuple concurrently
        # updated"): the second waits for the first, then finds nothing left to do.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
        require_postgis_package(conn)
        from alembic import command

        command.upgrade(_alembic_config(conn), revision)
        if current_revision(conn) == head_revision():
            apply_replaceable(conn)
        if then is not None:
            then(conn)
        return current_revision(conn) or "base"


def downgrade(engine: Engine, revision: str) -> str:
    """Migrate the database down to `revision` ('base' removes everything asmdb made)."""
    from alembic import command

    with connect(engine) as conn:
        command.downgrade(_alembic_config(conn), revision)
        return current_revision(conn) or "base"
