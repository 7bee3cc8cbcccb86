"""Tiles: the cells of a grid that hold data, one row each in `asmdb.tiles`.

Every tile is written here, whatever made it (a feature file, imagery): its id is the grid's
(`asm_db.grid.Grid.tile_ids`), its polygon its centre buffered by half a cell with square caps.
Tiles are unique per (grid, cell) because their ids are, so loading one grid never rewrites
another grid's tiles.
"""

from __future__ import annotations

import numpy as np
import psycopg
from psycopg import sql

from asm_db.db import copy as pgcopy
from asm_db.db.sqlfiles import load_sql
from asm_db.grid import Grid

STAGE = "tiles_stage"
STAGE_COLUMNS = [("tile_id", "int8"), ("lat", "float8"), ("lon", "float8")]


def merge_staged_tiles(cur: psycopg.Cursor, grid: Grid, stage: str = STAGE) -> int:
    """Upsert the tiles staged in the temporary table `stage` (columns tile_id, lat, lon,
    image_id; ids of `grid`); returns how many were new."""
    statement = sql.SQL(load_sql("ingest/tiles_merge")).format(stage=sql.Identifier(stage))
    cur.execute(statement, {"half": grid.half_size})
    return cur.fetchone()[0]


def ensure_tiles(
    pg: psycopg.Connection,
    grid: Grid,
    tile_ids,
    *,
    lat=None,
    lon=None,
    image_ids: list[str | None] | None = None,
) -> int:
    """Make sure these tiles of `grid` exist, in the caller's transaction; returns how many
    were new. Centres default to the cells' centres; an existing tile of these ids takes the
    centres (and any image_id) given. `tile_ids` must be ids of `grid` and distinct."""
    ids = np.asarray(tile_ids, dtype=np.int64)
    if lat is None or lon is None:
        lat, lon = grid.centres(ids)
    with pg.cursor() as cur:
        cur.execute(load_sql("ingest/tiles_stage_create"))
        with cur.copy(load_sql("ingest/tiles_stage_copy")) as copy:
            copy.write(pgcopy.HEADER)
            copy.write(
                pgcopy.encode_rows(
                    STAGE_COLUMNS,
                    {"tile_id": ids, "lat": np.asarray(lat), "lon": np.asarray(lon)},
                    text_tail=image_ids if image_ids is not None else [None] * len(ids),
                )
            )
            copy.write(pgcopy.TRAILER)
        added = merge_staged_tiles(cur, grid)
        cur.execute("DROP TABLE tiles_stage")
    return added


CENTRE_DECIMALS = 9  # 8.125000000000014 is stored as 8.125, the centre a file would give


def create_missing_tiles(cur: psycopg.Cursor, grid: Grid, tile_ids) -> int:
    """Create the tiles of `grid` among `tile_ids` that are missing, at the cells' centres,
    leaving existing tiles as they are (imagery names cells, not centres); returns how many
    were new."""
    ids = np.unique(np.asarray(tile_ids, dtype=np.int64))
    if len(ids) == 0:
        return 0
    lat, lon = grid.centres(ids)
    cur.execute(
        load_sql("ingest/tiles_ensure"),
        {
            "tile_ids": ids.tolist(),
            "lat": np.round(lat, CENTRE_DECIMALS).tolist(),
            "lon": np.round(lon, CENTRE_DECIMALS).tolist(),
            "half": grid.half_size,
        },
    )
    return cur.fetchone()[0]
