"""Which tiles `asmdb featurize` computes: counted from boxes before any tile id is listed.

The tiles of a run are the cells that some scene's footprint meets, within `--bbox` or
meeting the shapes of `--aoi`. Each scene's bounding box, cut to the world and to the box (or
the area's bounds) asked for, is a block of rows and columns of the grid whose number of cells
is known without listing them; a plan of more than `max_tiles` tiles is refused from that
count alone, and while the blocks are listed the distinct ids so far are counted again, so
the plan never holds more than a few times `max_tiles` ids, however large the extent.
"""

from __future__ import annotations

import numpy as np

from asm_db.errors import AsmdbError
from asm_db.grid import Grid
from asm_db.imagery.limits import DEFAULT_MAX_TILES
from asm_db.imagery.read import Imagery

WORLD = (-180.0, -90.0, 180.0, 90.0)


def _within(box, limit):
    """The part of `box` inside `limit` (both W, S, E, N), or None when they do not meet."""
    west, south = max(box[0], limit[0]), max(box[1], limit[1])
    east, north = min(box[2], limit[2]), min(box[3], limit[3])
    if west > east or south > north:
        return None
    return west, south, east, north


def _too_many(count: int, max_tiles: int, grid: Grid) -> AsmdbError:
    return AsmdbError(
        f"the imagery covers at least {count:,} tiles of {grid.cell_size:g} degrees where "
        f"asked, above --max-tiles {max_tiles:,}; choose fewer with --bbox or --aoi, "
        "or raise --max-tiles"
    )


def _read_area(aoi: str):
    import geopandas as gpd

    try:
        shapes = gpd.read_file(aoi)
    except Exception as exc:  # pyogrio/fiona raise many kinds
        raise AsmdbError(f"{aoi}: cannot be read as a vector file: {exc}") from None
    if shapes.crs is None:
        raise AsmdbError(f"{aoi}: has no coordinate reference system (CRS)")
    area = shapes.to_crs(4326).union_all()
    if area.is_empty or not np.isfinite(area.bounds).all():
        raise AsmdbError(f"{aoi}: holds no shapes with coordinates")
    return area


def plan_tiles(
    imagery: Imagery,
    grid: Grid,
    bbox=None,
    aoi: str | None = None,
    max_tiles: int = DEFAULT_MAX_TILES,
) -> np.ndarray:
    """Tile ids to featurize, sorted: those in --bbox or meeting --aoi, else every tile the
    imagery covers; always only tiles that some scene's footprint meets. More than
    `max_tiles` is refused with an AsmdbError before the ids are listed."""
    if max_tiles < 1:
        raise AsmdbError(f"--max-tiles {max_tiles}: must be at least 1")
    if bbox is not None and not (len(bbox) == 4 and np.isfinite(bbox).all()):
        raise AsmdbError(f"--bbox {bbox}: expected four finite numbers W,S,E,N")
    area = _read_area(aoi) if aoi is not None else None
    limit = _within(area.bounds if area is not None else bbox or WORLD, WORLD)
    blocks = []
    for scene in imagery.scenes:
        box = _within(scene.bounds, limit) if limit is not None else None
        if box is None:
            continue
        count = grid.count_in_bbox(*box)
        if count > max_tiles:
            raise _too_many(count, max_tiles, grid)
        blocks.append((scene, box))
    kept = np.empty(0, np.int64)
    pending, pending_count = [], 0
    for scene, box in blocks:
        ids = grid.cells_in_bbox(*box)
        ids = ids[_overlaps(grid, ids, scene.bounds)]
        pending.append(ids)
        pending_count += len(ids)
        if pending_count > max_tiles:  # duplicates are dropped now and then, not at every block
            kept = np.unique(np.concatenate([kept, *pending]))
            pending, pending_count = [], 0
            if len(kept) > max_tiles:
                raise _too_many(len(kept), max_tiles, grid)
    ids = np.unique(np.concatenate([kept, *pending]))
    if area is not None:
        import shapely

        cells = shapely.box(*grid.bounds_of(ids))
        ids = ids[shapely.intersects(cells, area) & ~shapely.touches(cells, area)]
    if len(ids) > max_tiles:
        raise _too_many(len(ids), max_tiles, grid)
    return ids


def _overlaps(grid: Grid, ids: np.ndarray, bounds) -> np.ndarray:
    """Which of these tiles overlap the box (W, S, E, N) in more than an edge."""
    west, south, east, north = grid.bounds_of(ids)
    return (bounds[0] < east) & (bounds[2] > west) & (bounds[1] < north) & (bounds[3] > south)
