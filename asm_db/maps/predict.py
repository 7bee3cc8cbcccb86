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

from asm_db.db import copy as pgcopy
from asm_db.db.sqlfiles import load_sql
from asm_db.maps import READERS

if TYPE_CHECKING:
    from sqlalchemy.pool import PoolProxiedConnection

    from asm_db.modeling.protocols import CalibratedClassifier

BATCH_ROWS = 2000
# tile_id is a non-negative bigint (asm_db.grid): these bound every range of tiles.
MIN_TILE_ID, MAX_TILE_ID = 0, 2**63 - 1


@dataclass
class TilePredictions:
    tile_id: np.ndarray
    score: np.ndarray
    probability: np.ndarray


def tile_feature_batches(
    pg: psycopg.Connection,
    feature_set_id: int,
    n_features: int,
    batch_rows: int = BATCH_ROWS,
    tile_range: tuple[int, int] = (MIN_TILE_ID, MAX_TILE_ID),
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(tile ids, float32 feature matrix) of the tiles of a feature set in `tile_range`
    (low included, high not), in tile order, a batch at a time: memory holds two buffers of
    a batch (the rows as received, the matrix), whatever the number of tiles. The matrix is
    a view of the buffer every batch refills: valid until the next batch is asked for."""
    dtype = pgcopy.row_dtype([("tile_id", "int8"), ("features", ("float32", n_features))])
    params = {"feature_set_id": feature_set_id, "low": tile_range[0], "high": tile_range[1]}
    features = np.empty((batch_rows, n_features), dtype=np.float32)
    with pg.cursor() as cur, cur.copy(load_sql("maps/tile_feature_rows"), params) as copy:
        for rows in pgcopy.decode_batches(copy, dtype, batch_rows):
            yield pgcopy.column(rows, "tile_id"), pgcopy.column(rows, "features", out=features)


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
        fractions = [i / readers for i in range(1, readers)]
        cuts = (
            pg.execute(
                load_sql("maps/tile_feature_cuts"),
                {"feature_set_id": feature_set_id, "fractions": fractions},
            ).fetchone()[0]
            or []
        )
        bounds = [MIN_TILE_ID, *sorted(set(cuts)), MAX_TILE_ID]
        ranges = list(zip(bounds[:-1], bounds[1:], strict=True))

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
