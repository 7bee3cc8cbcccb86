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
from typing import TYPE_CHECKING

import numpy as np

from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound

if TYPE_CHECKING:
    import psycopg

SRID = 4326
DEFAULT_CELL_SIZE = 0.01
GRID_ID_SHIFT = 2**40  # cells per grid: 0.00025-degree cells still fit, globally
# Coordinates are rounded to a tenth of a cell before the cell is taken, so a centre written
# as 8.125 or 8.125000000001 names the same cell (the rule grid 1 has always used).
SUBDIVISIONS = 10
MAX_CELL_SIZE = 10.0


def check_cell_size(cell_size: float) -> float:
    """The cell size as a float, or an AsmdbError saying why it cannot be one."""
    try:
        size = float(cell_size)
    except (TypeError, ValueError):
        raise AsmdbError(f"tile size {cell_size!r} is not a number") from None
    if not math.isfinite(size) or size <= 0:
        raise AsmdbError(f"tile size {cell_size!r} must be a positive finite number of degrees")
    if size > MAX_CELL_SIZE:
        raise AsmdbError(
            f"tile size {size:g} degrees is larger than asmdb's largest ({MAX_CELL_SIZE:g})"
        )
    if Grid(cell_size=size).n_cells > GRID_ID_SHIFT:
        raise AsmdbError(
            f"tile size {size:g} degrees is finer than asmdb's grids allow (about 0.00025)"
        )
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
        """Columns from the origin to longitude 180 (36001 on grid 1: lon = 180 has its own)."""
        return round((180 - self.origin_lon) / self.cell_size) + 1

    @property
    def n_rows(self) -> int:
        return round((90 - self.origin_lat) / self.cell_size) + 1

    @property
    def n_cells(self) -> int:
        return self.n_rows * self.n_cols

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

    def cell_indices(self, tile_ids) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (from the origin) of these tiles of this grid (arrays of int64)."""
        local = np.asarray(tile_ids, dtype=np.int64) - self.id_offset
        return np.divmod(local, self.n_cols)

    def centres(self, tile_ids) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) of the centres of these tiles."""
        row, col = self.cell_indices(tile_ids)
        lat = self.origin_lat + (row + 0.5) * self.cell_size
        lon = self.origin_lon + (col + 0.5) * self.cell_size
        return lat, lon

    def _cell_range(self, west, south, east, north) -> tuple[int, int, int, int]:
        """First and past-the-last row and column of the cells that intersect the box."""
        row0 = math.floor((south - self.origin_lat) / self.cell_size)
        row1 = math.ceil((north - self.origin_lat) / self.cell_size)
        col0 = math.floor((west - self.origin_lon) / self.cell_size)
        col1 = math.ceil((east - self.origin_lon) / self.cell_size)
        return row0, max(row1, row0 + 1), col0, max(col1, col0 + 1)

    def count_in_bbox(self, west: float, south: float, east: float, north: float) -> int:
        """How many cells `cells_in_bbox` lists for the box, without listing them."""
        row0, row1, col0, col1 = self._cell_range(west, south, east, north)
        return (row1 - row0) * (col1 - col0)

    def cells_in_bbox(self, west: float, south: float, east: float, north: float) -> np.ndarray:
        """Tile ids of every cell that intersects the box (degrees), row by row."""
        row0, row1, col0, col1 = self._cell_range(west, south, east, north)
        rows, cols = np.meshgrid(
            np.arange(row0, row1, dtype=np.int64),
            np.arange(col0, col1, dtype=np.int64),
            indexing="ij",
        )
        return (self.id_offset + rows * self.n_cols + cols).ravel()

    def bounds(self, tile_id: int) -> tuple[float, float, float, float]:
        """(west, south, east, north) of one tile, in degrees."""
        west, south, east, north = self.bounds_of([tile_id])
        return (float(west[0]), float(south[0]), float(east[0]), float(north[0]))

    def bounds_of(self, tile_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """West, south, east and north of these tiles, in degrees (arrays)."""
        lat, lon = self.centres(tile_ids)
        h = self.half_size
        return lon - h, lat - h, lon + h, lat + h


DEFAULT_GRID = Grid()


def _grid(row) -> Grid:
    grid_id, cell_size, origin_lon, origin_lat = row
    return Grid(int(grid_id), float(cell_size), float(origin_lon), float(origin_lat))


def grid_for_cell_size(pg: psycopg.Connection, cell_size: float) -> Grid:
    """The grid of `cell_size`-degree cells from (-180, -90), recorded in `asmdb.grids` if
    it was not yet (in the caller's transaction). Refuses a size that cannot be a grid."""
    size = check_cell_size(cell_size)
    params = {"cell_size": size, "origin_lon": -180.0, "origin_lat": -90.0}
    return _grid(pg.execute(load_sql("grid/find_or_create"), params).fetchone())


def load_grid(pg: psycopg.Connection, grid_id: int) -> Grid:
    """A grid recorded in `asmdb.grids`; NotFound if there is none of that id."""
    row = pg.execute(load_sql("grid/by_id"), {"grid_id": grid_id}).fetchone()
    if row is None:
        raise NotFound(f"no grid {grid_id} in asmdb.grids")
    return _grid(row)


def feature_set_grid(pg: psycopg.Connection, feature_set_id: int) -> Grid:
    """The grid a feature set's tiles are cells of."""
    row = pg.execute(load_sql("grid/of_feature_set"), {"feature_set_id": feature_set_id}).fetchone()
    if row is None:
        raise NotFound(f"no feature set {feature_set_id}")
    return _grid(row)
