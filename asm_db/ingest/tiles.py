"""Grid tiles made from their ids: the one place that creates tiles that no file named.

`asmdb featurize` stores vectors for tiles of asmdb's grid that may not exist yet; they are
created here from the grid's own centres, exactly as an ingested MOSAIKS file would make them.
"""

from __future__ import annotations

import numpy as np

from asm_db.db.sqlfiles import load_sql
from asm_db.grid import Grid

CENTRE_DECIMALS = 9  # 8.125000000000014 is stored as 8.125, the centre a file would give


def ensure_tiles(cur, grid: Grid, tile_ids) -> int:
    """Create the tiles of `grid` among `tile_ids` that are missing; returns how many were new."""
    ids = np.unique(np.asarray(tile_ids, dtype=np.int64))
    if len(ids) == 0:
        return 0
    lat, lon = grid.centres(ids)
    cur.execute(
        load_sql("tiles_ensure"),
        {
            "tile_ids": ids.tolist(),
            "lat": np.round(lat, CENTRE_DECIMALS).tolist(),
            "lon": np.round(lon, CENTRE_DECIMALS).tolist(),
            "half": grid.half_size,
        },
    )
    return cur.fetchone()[0]
