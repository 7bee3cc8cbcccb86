"""Advisory locks for the operations that must not overlap.

Two ingests of the same kind would upsert overlapping rows in different orders (a deadlock)
and ANALYZE the same table at once (PostgreSQL refuses concurrent ANALYZE of one table); two
maps' write-backs would ANALYZE `predictions` together. Each such step takes a transaction-level
advisory lock: a second one waits for the first to commit, after saying so on stderr. Fitting
is not locked: two `asmdb train` fit at the same time and only write one after the other.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import psycopg

NAMESPACE = zlib.crc32(b"asmdb") - 2**31  # the first int4 of every asmdb lock
# name -> (second int4 of the lock, what a waiting user is told)
LOCKS = {
    "ingest labels": (1, "waiting for another `asmdb ingest labels` to commit ..."),
    "ingest features": (2, "waiting for another `asmdb ingest features` to commit ..."),
    "write run": (3, "waiting for another `asmdb train` to finish writing its run ..."),
    "write map": (4, "waiting for another `asmdb train` or `asmdb predict` to write its map ..."),
}

Notify = Callable[[str], None]


def hold(pg: psycopg.Connection, name: str, notify: Notify | None = None) -> None:
    """Take the lock `name` until the transaction ends, waiting for whoever holds it."""
    number, waiting = LOCKS[name]
    key = (NAMESPACE, number)
    if pg.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", key).fetchone()[0]:
        return
    if notify:
        notify(waiting)
    pg.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)
