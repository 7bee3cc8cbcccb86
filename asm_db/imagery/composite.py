"""`asmdb imagery composite`: a period's cloud-free picture from a STAC API, as COGs on the grid.

The area is cut in blocks of grid cells; each block is one odc-stac load of the items meeting
it onto the grid's own pixel lattice (EPSG:4326, `tile_pixels` per cell, nearest neighbour),
granules of one solar day fused into one observation (`groupby="solar_day"`), so items in
several UTM zones and overlapping granules are one mosaic in time. Items are loaded in groups
of the same `raster:bands` scale and offset, and each group's numbers become values
(stored * scale + offset) before the statistic, so a period across a processing change is not
mixed. A pixel's observations count where every band has data and the mask asset neither has
one of `mask_values` nor its nodata; the statistic (median or mean) of those is stored as
float32 (scale 1, offset 0), NaN where no observation was valid.

Each block is written as a Cloud-Optimized GeoTIFF under a temporary name, then renamed: a
killed run leaves whole blocks, and the same command skips them. Blocks run here or on Dask
(`asm_db.imagery.cluster`), each worker reading its items' windows over HTTP range requests;
memory follows the block, not the area. Once every block is written the imagery is registered.
"""

from __future__ import annotations

import math
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from asm_db.errors import AsmdbError
from asm_db.features.provenance import parse_period
from asm_db.grid import Grid, check_cell_size
from asm_db.imagery.limits import MAX_DERIVED_TILE_PIXELS, MAX_TILE_PIXELS
from asm_db.imagery.registry import ImageryRecord, check_name_free, raster_stretch, register_imagery
from asm_db.imagery.stac import ItemBands, check_bbox, search_items

STATS = ("median", "mean")
DEFAULT_BLOCK_CELLS = 8  # 8 x 8 cells of 111 px: 888 px a side, about 3 MB a band a date
DEFAULT_MASK_NODATA = 0.0  # SCL's "no data"
MAX_BLOCKS = 100_000
# GDAL reads remote assets by window over HTTP range requests, never listing directories.
GDAL_REMOTE = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF,.jp2,.JP2",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "VSI_CACHE": "TRUE",
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Spec:
    """What every block is made with."""

    assets: tuple[str, ...]
    mask_asset: str | None
    mask_values: tuple[float, ...]
    stat: str
    tile_pixels: int
    threads: int = 1  # odc-stac reading threads per block (one per core when run here)


@dataclass(frozen=True)
class Block:
    """One block's work description: its cells' bounds, pixel size, file and items."""

    bounds: tuple[float, float, float, float]
    shape: tuple[int, int]  # rows, columns of pixels
    path: str
    items: tuple[dict, ...]  # STAC item dicts meeting the block
    bands: tuple[ItemBands, ...]
    spec: Spec


@dataclass
class BlockResult:
    path: str
    observations: int
    seconds: float


@dataclass
class CompositeResult:
    name: str
    items: int
    item_ids: list[str]
    skipped_items: int
    empty_fraction: float
    files: list[str]
    blocks_written: int
    blocks_resumed: int
    pixels: int
    seconds: float
    record: ImageryRecord | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "items": self.items,
            "item_ids": self.item_ids,
            "skipped_items": self.skipped_items,
            "empty_fraction": self.empty_fraction,
            "files": self.files,
            "blocks_written": self.blocks_written,
            "blocks_resumed": self.blocks_resumed,
            "pixels": self.pixels,
            "seconds": self.seconds,
        }


def _area(bbox, aoi: str | None) -> tuple[float, float, float, float]:
    if (bbox is None) == (aoi is None):
        raise AsmdbError("give the area as one of --bbox W,S,E,N or --aoi FILE")
    if aoi is not None:
        from asm_db.imagery.plan import _read_area

        return check_bbox(_read_area(aoi).bounds)
    return check_bbox(bbox)


def native_tile_pixels(band: ItemBands, asset: str, cell_size: float) -> int:
    """Pixels per cell edge at the native resolution of one item's asset."""
    import rasterio

    from asm_db.imagery.read import _footprint, _open

    where = f"item '{band.item_id}', asset '{asset}'"
    with rasterio.Env(**GDAL_REMOTE), _open(band.hrefs[asset], where) as src:
        _, resolution = _footprint(src, where)
    n = max(3, round(cell_size / resolution))
    if n > MAX_DERIVED_TILE_PIXELS:
        raise AsmdbError(
            f"{where}: its resolution makes a {cell_size:g}-degree cell {n:,} pixels a side; "
            f"give --tile-pixels (at most {MAX_TILE_PIXELS:,}) or a larger --tile-size"
        )
    return n


def plan_blocks(
    grid: Grid, area, n: int, block_cells: int
) -> Iterator[tuple[tuple[float, float, float, float], tuple[int, int], str]]:
    """(bounds, pixel shape, file name) of each block of cells covering the area, north first."""
    row0, row1, col0, col1 = grid._cell_range(*area)
    for r in range(row1, row0, -block_cells):
        r_lo = max(row0, r - block_cells)
        for c in range(col0, col1, block_cells):
            c_hi = min(col1, c + block_cells)
            bounds = (
                grid.origin_lon + c * grid.cell_size,
                grid.origin_lat + r_lo * grid.cell_size,
                grid.origin_lon + c_hi * grid.cell_size,
                grid.origin_lat + r * grid.cell_size,
            )
            yield bounds, ((r - r_lo) * n, (c_hi - c) * n), f"block_r{r_lo}_c{c}.tif"


def _meets(item: dict, bounds) -> bool:
    bbox = item.get("bbox")
    if not bbox or len(bbox) < 4:
        return True
    w, s, e, n = bounds
    return bbox[0] < e and bbox[2] > w and bbox[1] < n and bbox[3] > s


def _groups(block: Block) -> Iterator[tuple[list[dict], ItemBands]]:
    """The block's items in groups of the same scale, offset and nodata per asset."""
    groups: dict[tuple, list[int]] = {}
    for i, b in enumerate(block.bands):
        key = (tuple(sorted(b.scale.items())), tuple(sorted(b.offset.items())),
               tuple(sorted((k, repr(v)) for k, v in b.nodata.items())))  # fmt: skip
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        yield [block.items[i] for i in members], block.bands[members[0]]


def _observations(items: list[dict], meta: ItemBands, block: Block, geobox) -> np.ndarray:
    """(dates, bands, rows, cols) float32 values of one group, NaN where not valid."""
    import odc.stac
    import pystac

    spec = block.spec
    names = list(spec.assets) + ([spec.mask_asset] if spec.mask_asset else [])
    loaded = odc.stac.load(
        [pystac.Item.from_dict(i) for i in items],
        bands=names,
        geobox=geobox,
        groupby="solar_day",
        resampling="nearest",
        chunks=None,
        pool=spec.threads,
    )
    first = loaded[names[0]]
    valid = np.ones(first.shape, bool)
    for name in spec.assets:
        raw = loaded[name].values
        nodata = meta.nodata[name]
        if nodata is None:
            nodata = loaded[name].attrs.get("nodata")
        if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
            valid &= raw != nodata
        if raw.dtype.kind == "f":
            valid &= np.isfinite(raw)
    if spec.mask_asset:
        mask = loaded[spec.mask_asset].values
        nodata = meta.nodata[spec.mask_asset]
        valid &= ~np.isin(mask, spec.mask_values)
        valid &= mask != (DEFAULT_MASK_NODATA if nodata is None else nodata)
    out = np.empty((first.shape[0], len(spec.assets), *first.shape[1:]), np.float32)
    for b, name in enumerate(spec.assets):
        values = loaded[name].values.astype(np.float32) * np.float32(meta.scale[name])
        values += np.float32(meta.offset[name])
        out[:, b] = np.where(valid, values, np.nan)
        del loaded[name]
    return out


def compute_block(block: Block) -> BlockResult:
    """Composite one block and write its COG atomically (runs here or on a Dask worker)."""
    from odc.geo.geobox import GeoBox
    from odc.stac import configure_rio

    started = time.perf_counter()
    configure_rio(cloud_defaults=True, **GDAL_REMOTE)
    geobox = GeoBox.from_bbox(block.bounds, "EPSG:4326", shape=block.shape)
    stacks = [_observations(items, meta, block, geobox) for items, meta in _groups(block)]
    bands = len(block.spec.assets)
    if stacks:
        stack = np.concatenate(stacks) if len(stacks) > 1 else stacks[0]
        del stacks
        observations = int(np.isfinite(stack[:, 0]).sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
            if block.spec.stat == "median":
                image = np.nanmedian(stack, axis=0).astype(np.float32)
            else:
                image = np.nanmean(stack, axis=0).astype(np.float32)
    else:
        observations = 0
        image = np.full((bands, *block.shape), np.nan, np.float32)
    _write_cog(block.path, image, block.bounds, block.spec.assets)
    return BlockResult(block.path, observations, time.perf_counter() - started)


def _write_cog(path: str, image: np.ndarray, bounds, names) -> None:
    import rasterio
    from rasterio.transform import from_bounds

    rows, cols = image.shape[1:]
    temporary = f"{path}.part{os.getpid()}.tif"
    profile = dict(
        driver="COG",
        width=cols,
        height=rows,
        count=image.shape[0],
        dtype="float32",
        crs="EPSG:4326",
        transform=from_bounds(*bounds, cols, rows),
        nodata=float("nan"),
        blocksize=256,
        compress="deflate",
        predictor=3,
        overviews="auto",
        overview_resampling="average",
    )
    try:
        with rasterio.open(temporary, "w", **profile) as dst:
            dst.write(image)
            dst.scales = (1.0,) * image.shape[0]
            dst.offsets = (0.0,) * image.shape[0]
            dst.descriptions = tuple(names)
            dst.update_tags(ASMDB_VALUES="reflectance: value = stored * 1 + 0")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def run_blocks(
    blocks: Iterable[Block], *, workers: int | None = 0, scheduler: str | None = None
) -> Iterator[BlockResult]:
    """Each block's result as it finishes: here (workers=0) or on Dask."""
    if scheduler is None and workers == 0:
        for block in blocks:
            yield compute_block(block)
        return
    from asm_db.imagery.cluster import dask_map

    yield from dask_map(compute_block, blocks, workers=workers, scheduler=scheduler)


def make_composite(
    engine: Engine,
    name: str,
    *,
    stac_api: str,
    collection: str,
    period: str,
    assets: list[str],
    bbox=None,
    aoi: str | None = None,
    mask_asset: str | None = None,
    mask_values: tuple[float, ...] = (),
    max_cloud: float | None = None,
    stat: str = "median",
    tile_size: float = 0.01,
    tile_pixels: int | None = None,
    out: str | None = None,
    block_cells: int = DEFAULT_BLOCK_CELLS,
    workers: int | None = 0,
    scheduler: str | None = None,
    allowed_hosts: frozenset[str] | None = None,
    progress: Progress | None = None,
) -> CompositeResult:
    """Search, composite block by block, write COGs, and register the imagery as `name`.

    Everything is checked before a block is written; a stopped run is resumed by the same call
    (finished blocks are kept); nothing is registered unless every block is written."""
    started = time.perf_counter()
    if not NAME.match(name):
        raise AsmdbError(
            f"imagery name {name!r}: use letters, digits, '.', '_' or '-' (it names a folder)"
        )
    if stat not in STATS:
        raise AsmdbError(f"--stat {stat!r}: choose one of {', '.join(STATS)}")
    if not assets or any(not a for a in assets):
        raise AsmdbError("--assets: name the assets to composite, e.g. red,green,blue")
    if max_cloud is not None and not (math.isfinite(max_cloud) and 0 <= max_cloud <= 100):
        raise AsmdbError(f"--max-cloud {max_cloud}: a percentage from 0 to 100")
    if tile_pixels is not None and not 3 <= tile_pixels <= MAX_TILE_PIXELS:
        raise AsmdbError(f"--tile-pixels {tile_pixels}: must be between 3 and {MAX_TILE_PIXELS:,}")
    if mask_values and mask_asset is None:
        raise AsmdbError("--mask-values needs --mask-asset, e.g. --mask-asset scl")
    if any(not math.isfinite(v) for v in mask_values):
        raise AsmdbError("--mask-values: expected finite numbers")
    start, end = parse_period(period)
    if start is None or end is None:
        raise AsmdbError(f"--period {period!r}: give both dates, START/END")
    area = _area(bbox, aoi)
    cell = check_cell_size(tile_size)
    grid = Grid(cell_size=cell)
    check_name_free(engine, name)
    names = list(assets) + ([mask_asset] if mask_asset else [])
    found = search_items(
        stac_api,
        collection,
        area,
        (start, end),
        names,
        max_cloud=max_cloud,
        hosts=allowed_hosts,
    )
    n = tile_pixels or native_tile_pixels(found.bands[0], assets[0], cell)
    count = grid.count_in_bbox(*area)
    if count / block_cells**2 > MAX_BLOCKS:
        raise AsmdbError(f"the area holds {count:,} cells, too many blocks; narrow it")
    folder = Path(out or Path("asmdb-imagery") / name).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    threads = (os.cpu_count() or 1) if (workers == 0 and scheduler is None) else 1
    spec = Spec(tuple(assets), mask_asset, tuple(float(v) for v in mask_values), stat, n, threads)
    items = [i.to_dict() for i in found.items]
    planned = list(plan_blocks(grid, area, n, block_cells))
    files = [str(folder / file) for _, _, file in planned]
    todo = []
    for (bounds, shape, _), path in zip(planned, files, strict=True):
        if os.path.exists(path):
            continue
        chosen = [i for i, item in enumerate(items) if _meets(item, bounds)]
        todo.append(
            Block(
                bounds,
                shape,
                path,
                tuple(items[i] for i in chosen),
                tuple(found.bands[i] for i in chosen),
                spec,
            )
        )
    resumed = len(planned) - len(todo)
    done = resumed
    if progress:
        progress(done, len(planned))
    for _ in run_blocks(todo, workers=workers, scheduler=scheduler):
        done += 1
        if progress:
            progress(done, len(planned))
    stretch, empty = raster_stretch(files, len(assets))
    pixels = sum(shape[0] * shape[1] for _, shape, _ in planned)
    record = ImageryRecord(
        name=name,
        period_start=start,
        period_end=end,
        bounds=(
            min(b[0] for b, _, _ in planned),
            min(b[1] for b, _, _ in planned),
            max(b[2] for b, _, _ in planned),
            max(b[3] for b, _, _ in planned),
        ),
        bands=list(assets),
        files=files,
        scale=[1.0] * len(assets),
        offset=[0.0] * len(assets),
        files_owned=True,
        stretch={assets[b]: list(v) for b, v in stretch.items()},
        empty_fraction=empty,
        source={"made_by": "asmdb imagery composite", **found.query},
        item_ids=[b.item_id for b in found.bands],
        parameters={
            "stat": stat,
            "mask_asset": mask_asset,
            "mask_values": list(spec.mask_values),
            "tile_size": cell,
            "tile_pixels": n,
            "block_cells": block_cells,
            "folder": str(folder),
            "items_skipped_for_cloud": found.skipped_for_cloud,
        },
    )
    register_imagery(engine, record)
    return CompositeResult(
        name=name,
        items=len(found.items),
        item_ids=record.item_ids,
        skipped_items=found.skipped_for_cloud,
        empty_fraction=empty,
        files=files,
        blocks_written=len(todo),
        blocks_resumed=resumed,
        pixels=pixels,
        seconds=time.perf_counter() - started,
        record=record,
    )
