"""Score every tile of a feature set with a model, in streamed batches read by parallel
connections in one snapshot."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import psycopg
from psycopg import sql

from asm_db.features.vectors import MAX_TILE_ID, MIN_TILE_ID, tile_feature_batches, tile_ranges
from asm_db.maps import READERS

if TYPE_CHECKING:
    from sqlalchemy.pool import PoolProxiedConnection

    from asm_db.modeling.protocols import CalibratedClassifier


@dataclass
class TilePredictions:
    tile_id: np.ndarray
    score: np.ndarray
    probability: np.ndarray


OpenConnection = Callable[[], "PoolProxiedConnection"]


def predict_tiles(
    pg: psycopg.Connection,
    model: CalibratedClassifier,
    feature_set_id: int,
    n_features: int,
    *,
    open_connection: OpenConnection | None = None,
    readers: int = READERS,
    progress: Callable[[int], None] | None = None,
) -> TilePredictions:
    """Score every tile; memory holds two buffers of a batch per reader (see
    `tile_feature_batches`), plus three numbers per tile.

    With `open_connection` (a new connection to the same database), `readers` connections
    each stream one range of tiles at once, all in the snapshot of `pg`'s transaction: the
    read is bounded by PostgreSQL sending rows and psycopg receiving them (measured at 75,076
    tiles x 4,000 features over TCP on 2 cores: 1.55 s with one reader, 1.4 s with two, 1.2 s
    with four).
    """
    lock = threading.Lock()
    done = [0]

    def score_range(conn: psycopg.Connection, tile_range: tuple[int, int]):
        ids, scores = [np.empty(0, np.int64)], [np.empty(0)]
        for batch_ids, features in tile_feature_batches(
            conn, feature_set_id, n_features, tile_range=tile_range
        ):
            ids.append(batch_ids)
            scores.append(model.score(features))
            with lock:
                done[0] += len(batch_ids)
                if progress:
                    progress(done[0])
        return np.concatenate(ids), np.concatenate(scores)

    if open_connection is None or readers < 2:
        parts = [score_range(pg, (MIN_TILE_ID, MAX_TILE_ID))]
    else:
        snapshot = pg.execute("SELECT pg_export_snapshot()").fetchone()[0]
        ranges = tile_ranges(pg, feature_set_id, readers)

        def read(tile_range):
            with _snapshot_reader(open_connection, snapshot) as conn:
                return score_range(conn, tile_range)

        with ThreadPoolExecutor(len(ranges)) as pool:
            parts = list(pool.map(read, ranges))
    tile_id = np.concatenate([ids for ids, _ in parts])
    score = np.concatenate([scores for _, scores in parts])
    return TilePredictions(tile_id, score, model.probability(score))


@contextmanager
def _snapshot_reader(
    open_connection: OpenConnection, snapshot: str
) -> Iterator[psycopg.Connection]:
    """A read-only connection in the exported `snapshot` (pg_export_snapshot), given back to
    the pool after, or dropped if reading failed."""
    raw = open_connection()
    conn = raw.driver_connection
    try:
        conn.rollback()
        conn.autocommit = True
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        yield conn
        conn.execute("COMMIT")
        conn.autocommit = False
    except BaseException:
        raw.invalidate()
        raise
    finally:
        raw.close()
