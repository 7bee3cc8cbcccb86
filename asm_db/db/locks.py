"""Locks for the operations that must not overlap, which only asmdb's writers can take.

Two ingests of the same kind would upsert overlapping rows in different orders (a deadlock)
and ANALYZE the same table at once (PostgreSQL refuses concurrent ANALYZE of one table); two
runs' or maps' write-backs would ANALYZE `predictions` together. Each such step locks its row of
`asmdb.operation_locks` FOR UPDATE until its transaction ends. Row locks need UPDATE rights on
the table, which the read-only and reviewer roles never get, so a map user cannot stall an
ingest or a train (an advisory lock, which anyone who can connect may take, could). A second
writer waits, after saying who holds the lock, for at most `ASMDB_LOCK_TIMEOUT` seconds
(default 600), then stops with one line naming the blocking session. `asmdb review import` and
`asmdb review labels` write labels too, and take the labels' lock. Fitting is not locked:
two `asmdb train` fit at the same time and only write one after the other.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import psycopg
from psycopg import errors

from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError

TIMEOUT_ENV = "ASMDB_LOCK_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 600.0
# name -> what the command is, for the messages
LOCKS = {
    "ingest labels": "writer of labels (`asmdb ingest labels` or `asmdb review import`)",
    "ingest features": "`asmdb ingest features`",
    "write run": "`asmdb train` writing its run",
    "write map": "`asmdb train` or `asmdb predict` writing its map",
}

Notify = Callable[[str], None]


def timeout_seconds() -> float:
    """How long a writer waits for a lock: ASMDB_LOCK_TIMEOUT seconds, default 600."""
    text = os.environ.get(TIMEOUT_ENV, "")
    if not text:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise AsmdbError(f"{TIMEOUT_ENV}={text!r} must be a positive number of seconds")
    return seconds


def hold(pg: psycopg.Connection, name: str, notify: Notify | None = None) -> None:
    """Take the lock `name` until the transaction ends, waiting a bounded time for its holder."""
    what = LOCKS[name]
    seconds = timeout_seconds()
    try:
        with pg.transaction():  # a savepoint: a lock not granted leaves the caller's work
            pg.execute(load_sql("db/lock_try"), {"name": name})
        return
    except errors.LockNotAvailable:
        pass
    holder = _holder(pg, name)
    if notify:
        notify(f"waiting for another {what} to finish{holder} ...")
    pg.execute("SELECT set_config('lock_timeout', %s, true)", (f"{int(seconds * 1000)}ms",))
    try:
        with pg.transaction():
            pg.execute(load_sql("db/lock_take"), {"name": name})
    except errors.LockNotAvailable:
        raise AsmdbError(
            f"gave up after {seconds:g} s waiting for another {what}{holder}; let it finish, "
            f"or end that session (SELECT pg_terminate_backend(pid)), or raise {TIMEOUT_ENV}"
        ) from None
    finally:
        pg.execute("SELECT set_config('lock_timeout', '0', true)")


def _holder(pg: psycopg.Connection, name: str) -> str:
    """' (session pid N, user U, application A, since T)' of the lock's holder, if visible."""
    row = pg.execute(load_sql("db/lock_holder"), {"name": name}).fetchone()
    if row is None:
        return ""
    pid, user, application, since = row
    parts = [f"session pid {pid}", f"user {user}"]
    if application:
        parts.append(f"application {application}")
    if since is not None:
        parts.append(f"in a transaction since {since:%Y-%m-%d %H:%M:%S %Z}".rstrip())
    return " (" + ", ".join(parts) + ")"
