"""The tile grid: square cells of one size in EPSG:4326, and the one formula for `tile_id`.

A grid is a record (`asmdb.grids`): cell size, origin and CRS. Every feature set and every tile
belongs to one grid. `tile_id` numbers the cells of a grid row by row from its origin; grid 1,
the 0.01-degree MOSAIKS grid, keeps the ids asmdb has always given (`asmdb.tile_id(lat, lon)`),
and the cells of grid g > 1 are offset by (g - 1) * 2**40, so a tile id names one cell of one
grid everywhere. SQL's `asmdb.grid_tile_id(...)` is the same formula; tests hold them equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asm_db.errors import AsmdbError

SRID = 4326
DEFAULT_CELL_SIZE = 0.01
GRID_ID_SHIFT = 2**40  # cells per grid: 0.00025-degree cells still fit, globally
# Coordinates are rounded to a tenth of a cell before the cell is taken, so a centre written
# as 8.125 or 8.125000000001 names the same cell (the rule grid 1 has always used).
SUBDIVISIONS = 10


def check_cell_size(cell_size: float) -> float:
    """The cell size as a float, or an AsmdbError saying why it cannot be one."""
    try:
        size = float(cell_size)
    except (TypeError, ValueError):
        raise AsmdbError(f"tile size {cell_size!r} is not a number") from None
    if not math.isfinite(size) or size <= 0:
        raise AsmdbError(f"tile size {cell_size!r} must be a positive finite number of degrees")
    if size > 10:
        raise AsmdbError(f"tile size {size:g} degrees is larger than asmdb's largest (10)")
    if (180 / size + 1) * (360 / size + 1) >= GRID_ID_SHIFT:
        raise AsmdbError(f"tile size {size:g} degrees is finer than asmdb's grids allow (0.00025)")
    return size


@dataclass(frozen=True)
class Grid:
    """Square cells of `cell_size` degrees from (`origin_lon`, `origin_lat`) in EPSG:4326."""

    grid_id: int = 1
    cell_size: float = DEFAULT_CELL_SIZE
    origin_lon: float = -180.0
    origin_lat: float = -90.0

    @property
    def n_cols(self) -> int:
        return round(360 / self.cell_size) + 1

    @property
    def id_offset(self) -> int:
        return (self.grid_id - 1) * GRID_ID_SHIFT

    @property
    def half_size(self) -> float:
        return self.cell_size / 2

    def cells(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells holding these points (arrays of int64)."""
        scale = SUBDIVISIONS / self.cell_size
        row = np.round((np.asarray(lat, dtype=np.float64) - self.origin_lat) * scale)
        col = np.round((np.asarray(lon, dtype=np.float64) - self.origin_lon) * scale)
        return (row.astype(np.int64) // SUBDIVISIONS, col.astype(np.int64) // SUBDIVISIONS)

    def tile_ids(self, lat, lon) -> np.ndarray:
        """The tile ids of the cells holding these points (int64)."""
        row, col = self.cells(lat, lon)
        return self.id_offset + row * self.n_cols + col

    def centres(self, tile_ids) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) of the centres of these tiles."""
        local = np.asarray(tile_ids, dtype=np.int64) - self.id_offset
        row, col = np.divmod(local, self.n_cols)
        lat = self.origin_lat + (row + 0.5) * self.cell_size
        lon = self.origin_lon + (col + 0.5) * self.cell_size
        return lat, lon

    def cells_in_bbox(self, west: float, south: float, east: float, north: float) -> np.ndarray:
        """Tile ids of every cell that intersects the box (degrees), row by row."""
        row0 = math.floor((south - self.origin_lat) / self.cell_size)
        row1 = math.ceil((north - self.origin_lat) / self.cell_size)
        col0 = math.floor((west - self.origin_lon) / self.cell_size)
        col1 = math.ceil((east - self.origin_lon) / self.cell_size)
        rows, cols = np.meshgrid(
            np.arange(row0, max(row1, row0 + 1), dtype=np.int64),
            np.arange(col0, max(col1, col0 + 1), dtype=np.int64),
            indexing="ij",
        )
        return (self.id_offset + rows * self.n_cols + cols).ravel()

    def bounds(self, tile_id: int) -> tuple[float, float, float, float]:
        """(west, south, east, north) of one tile, in degrees."""
        lat, lon = self.centres([tile_id])
        h = self.half_size
        return (float(lon[0] - h), float(lat[0] - h), float(lon[0] + h), float(lat[0] + h))


DEFAULT_GRID = Grid()
