"""Reading a feature set's vectors: streamed by binary COPY, a batch at a time, in tile order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import psycopg

from asm_db.db import copy as pgcopy
from asm_db.db.sqlfiles import load_sql

BATCH_ROWS = 2000
# tile_id is a non-negative bigint (asm_db.grid): these bound every range of tiles.
MIN_TILE_ID, MAX_TILE_ID = 0, 2**63 - 1


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


def tile_ranges(pg: psycopg.Connection, feature_set_id: int, parts: int) -> list[tuple[int, int]]:
    """`parts` ranges of tile ids (low included, high not) holding about as many of the set's
    tiles each, covering every tile id."""
    fractions = [i / parts for i in range(1, parts)]
    cuts = (
        pg.execute(
            load_sql("maps/tile_feature_cuts"),
            {"feature_set_id": feature_set_id, "fractions": fractions},
        ).fetchone()[0]
        or []
    )
    bounds = [MIN_TILE_ID, *sorted(set(cuts)), MAX_TILE_ID]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def sample_vectors(
    pg: psycopg.Connection, feature_set_id: int, n_features: int, tiles: int
) -> np.ndarray:
    """The vectors of up to `tiles` tiles of a feature set, the same ones every time and
    spread over the whole set (drawn by a hash of the tile id), as a float32 matrix."""
    dtype = pgcopy.row_dtype([("tile_id", "int8"), ("features", ("float32", n_features))])
    params = {"feature_set_id": feature_set_id, "tiles": tiles}
    parts = [np.empty((0, n_features), np.float32)]
    with pg.cursor() as cur, cur.copy(load_sql("features/feature_sample_rows"), params) as copy:
        for rows in pgcopy.decode_batches(copy, dtype, BATCH_ROWS):
            parts.append(pgcopy.column(rows, "features"))
    return np.concatenate(parts)
