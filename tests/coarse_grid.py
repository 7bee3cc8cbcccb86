"""The sample's features on a coarser grid, for the tests of a second tile size."""

from __future__ import annotations

import numpy as np
import pyarrow.feather as feather

from asm_db.grid import Grid


def coarser_features(sample, path, cell_size: float = 0.02):
    """The sample's features on a coarser grid: each coarse cell's vector is the mean of the
    sample tiles in it, at the cell's centre (lat/lon columns)."""
    table = feather.read_table(sample.features).to_pandas()
    parts = table.image_id.str.extract(r"lat_(?P<lat>[-\d]+--\d+)__lon_(?P<lon>[-\d]+--\d+)")
    lat = parts.lat.str.replace("--", ".").astype(float).to_numpy()
    lon = parts.lon.str.replace("--", ".").astype(float).to_numpy()
    grid = Grid(cell_size=cell_size)
    cells = grid.tile_ids(lat, lon)
    coarse = table.drop(columns="image_id").groupby(cells).mean().astype(np.float32)
    c_lat, c_lon = grid.centres(coarse.index.to_numpy())
    coarse.insert(0, "lon", np.round(c_lon, 6))
    coarse.insert(0, "lat", np.round(c_lat, 6))
    feather.write_feather(coarse.reset_index(drop=True), path)
    return len(coarse)
