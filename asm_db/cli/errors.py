"""Every error a user can meet, as one line and an exit status: asmdb's own errors, files that
cannot be read or written, a database that refuses, times out or hangs up, a malformed database
URL, and Ctrl-C. Anything else is a bug and keeps its traceback."""

from __future__ import annotations

import re
import sys

import psycopg
import sqlalchemy as sa

from asm_db.errors import AsmdbError

INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
TERMINATED = 143  # 128 + SIGTERM (asm_db.cli.app turns the signal into this exit)
# A password in a connection URL (user:PASSWORD@host) or a libpq string (password=PASSWORD).
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def without_password(text: str) -> str:
    """`text` with any password in a URL or connection string hidden."""
    return _KEYWORD_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return without_password(lines[0] if lines else type(exc).__name__)


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C: a KeyboardInterrupt, or the exit status 130 Typer turns one into."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    code = getattr(exc, "exit_code", getattr(exc, "code", None))
    if code != INTERRUPTED:
        return False
    seen, link = set(), exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, KeyboardInterrupt):
            return True
        link = link.__cause__ or link.__context__
    return False


def _terminated(exc: BaseException) -> bool:
    """SIGTERM (asm_db.cli.app.Terminated, exit 143), or an error it caused while unwinding
    (a rollback on a connection interrupted mid-query)."""
    seen, link = set(), exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, SystemExit) and link.code == TERMINATED:
            return True
        link = link.__cause__ or link.__context__
    return False


def _database_cause(exc: BaseException) -> BaseException:
    """The first database error behind `exc`: SQLAlchemy's wrapper unwrapped, and past the
    errors of cleaning up after it (a rollback on a connection the server closed)."""
    cause, link = exc, exc
    while isinstance(link, psycopg.Error | sa.exc.DBAPIError):
        if isinstance(link, sa.exc.DBAPIError) and isinstance(link.orig, psycopg.Error):
            link = link.orig
        cause = link
        link = link.__context__
    return cause


def one_line(exc: BaseException) -> tuple[str, int] | None:
    """The one line to print for `exc` and the exit status, or None if it is not the user's
    (a bug, or a normal exit): then it propagates unchanged."""
    if _interrupted(exc):
        return "interrupted", INTERRUPTED
    if _terminated(exc):
        return "terminated", TERMINATED
    if isinstance(exc, AsmdbError):
        return f"error: {exc}", 1
    if isinstance(exc, sa.exc.ArgumentError):
        return f"error: malformed database URL: {_first_line(exc)}", 1
    exc = _database_cause(exc)
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return f"error: the database stopped a statement: {_first_line(exc)}", 1
    if isinstance(exc, psycopg.errors.AdminShutdown | psycopg.errors.CrashShutdown):
        return f"error: the database closed the connection: {_first_line(exc)}", 1
    if isinstance(exc, psycopg.OperationalError):
        # Failures of the connection itself (refused, bad credentials, lost) have no SQLSTATE.
        if exc.sqlstate is not None:
            what = "database error"
        elif str(exc).startswith("connection failed"):
            what = "cannot reach the database"
        else:
            what = "lost the connection to the database"
        return f"error: {what}: {_first_line(exc)}", 1
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return f"error: {where}{exc.strerror.lower()}", 1
    # GDAL cannot open or write a file (a folder given as a file, a folder that does not
    # exist); pyogrio is looked up, not imported, to keep the command line fast.
    gdal = sys.modules.get("pyogrio.errors")
    if gdal is not None and isinstance(exc, gdal.DataSourceError | gdal.DataLayerError):
        return f"error: {_first_line(exc)}", 1
    return None
