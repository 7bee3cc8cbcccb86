"""The imagery a review file carries (`asmdb review export --imagery`), so that a field team
without a connection sees what it judges.

Each period the file shows (a map's queue: its map's; a change's sample: both maps') gets the
registered imagery (`asmdb.imagery`) best for it and the queued tiles, by the rule the web page
follows too (`imagery/imagery_for_period.sql`), or the one named, as one raster table of the
GeoPackage (`imagery`, or `imagery_from` and `imagery_to`): 8-bit RGBA, true colour stretched
with the stretch recorded at registration, transparent where the imagery has no pixel. A
GeoPackage tile table holds 8-bit colour (or a single band of numbers), so the stored bands
themselves cannot go in; PNG tiles keep the stretched values exact.

Only the GeoPackage tiles (256 x 256 pixels) that meet a queued tile's window (the tile and
MARGIN_TILES tiles each side) are read and written, one at a time, through the reader
`featurize` uses (`asm_db.imagery.read.TileReader`: a mosaic of the files, later files' pixels
first, warped to EPSG:4326 by nearest neighbour): memory follows one tile, and a country-wide
scatter of queued tiles stores only the tiles around them. A GeoPackage tile left unwritten is
not stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg

from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.imagery.display import display_bands, display_range, is_grey
from asm_db.imagery.registry import ImageryRecord, read_imagery
from asm_db.publish import qml
from asm_db.publish.files import write_styled_gpkg

MARGIN_TILES = 1  # a queued tile's window: the tile and this many tiles each side
BLOCK = 256  # pixels a side of a GeoPackage tile
MAX_WINDOW_PIXELS = 1024  # finer imagery is read coarser, to this many pixels across a window
MAX_OPEN_FILES = 8  # imagery files kept open while writing (each holds its cached blocks)
GDAL_CACHE_MB = 64  # GDAL's block cache while writing: written tiles leave memory past it
TABLES = {"map": "imagery", "from": "imagery_from", "to": "imagery_to"}
TABLE_CRS = "EPSG:4326"


@dataclass(frozen=True)
class ImageryLayer:
    """One raster table of a review file: the period it shows and the imagery that shows it."""

    role: str  # map, from or to
    table: str
    map_id: int
    period: str | None  # the map's period, START/END (its feature set's)
    imagery: ImageryRecord
    matched: tuple[str, ...]  # the imagery matching the period, best first; () when named
    covered: int  # queued tiles the imagery's footprint meets
    tiles: int  # queued tiles in the file
    bands: tuple[str, ...]  # shown as red, green and blue (one band: grey)
    stored: int = 0  # GeoPackage tiles written

    def summary(self) -> str:
        """One line for the user: which imagery shows which period, and how it was chosen."""
        record = self.imagery
        shown = f"'{record.name}' ({record.period_start}/{record.period_end})"
        if self.matched:
            others = [n for n in self.matched if n != record.name]
            how = "best match" + (
                f" of {len(self.matched)}; also: {', '.join(others)}" if others else ""
            )
        else:
            how = "named"
        colour = ", ".join(self.bands) + (" as grey" if len(self.bands) == 1 else " as RGB")
        return (
            f"{self.table}: {shown} for {_role(self.role, self.map_id, self.period)} ({how}); "
            f"{colour}; covers {self.covered} of {self.tiles} tiles; {self.stored} image tiles"
        )


@dataclass(frozen=True)
class ReviewExport:
    """What `review export` wrote: the file, its queued tiles and its imagery tables."""

    path: Path
    tiles: int
    imagery: tuple[ImageryLayer, ...] = ()


def _role(role: str, map_id: int, period: str | None) -> str:
    """`map 2's period 2024-01-01/2024-12-31 (to)`: a period of a review file, for the user."""
    return f"map {map_id}'s period {period or '(none)'}" + ("" if role == "map" else f" ({role})")


def true_colour(bands: list[str]) -> tuple[int, ...]:
    """Indexes of the bands read, shown as red, green and blue (`asm_db.imagery.display`; one
    band, shown as grey, when it draws one)."""
    shown = display_bands(bands)
    return shown[:1] if is_grey(shown) else shown


def choose_imagery(
    pg: psycopg.Connection,
    *,
    map_id: int | None,
    change_id: int | None,
    tiles: np.ndarray,
    names: list[str] | None = None,
) -> list[ImageryLayer]:
    """The raster tables of a review file (a map's queue: `map_id`; a change's sample:
    `change_id`; `tiles`: the queued tiles' west, south, east, north rows), one per period: the
    best of the imagery `imagery/imagery_for_period` ranks for it and the queued tiles (the web
    page's rule), or the one `names` gives for it. One line naming the period when none fits."""
    periods = pg.execute(
        load_sql("review/imagery_periods"), {"map_id": map_id, "change_id": change_id}
    ).fetchall()
    if names is not None and len(names) != len(periods):
        wanted = "once" if len(periods) == 1 else f"{len(periods)} times (from, then to)"
        raise AsmdbError(
            f"--imagery-name given {len(names)} time(s): this file shows {len(periods)} "
            f"period(s); give it {wanted}"
        )
    boxes = np.asarray(tiles, dtype=np.float64).tolist()
    layers = []
    for k, (role, period_map, start, end) in enumerate(periods):
        period = f"{start}/{end}" if start and end else None
        params = {"boxes": boxes, "start": start, "end": end, "names": None}
        if names is not None:
            params["names"] = [names[k]]
        elif period is None:
            raise AsmdbError(
                f"map {period_map}'s feature set has no period, so no imagery matches it: name "
                "the imagery with --imagery-name"
            )
        rows = pg.execute(load_sql("imagery/imagery_for_period"), params).fetchall()
        if names is not None and not rows:
            read_imagery(pg, names[k])  # NotFound, when no imagery has the name
            raise AsmdbError(
                f"imagery '{names[k]}' covers none of the queued tiles (for "
                f"{_role(role, period_map, period)})"
            )
        if not rows:
            elsewhere = pg.execute(
                load_sql("imagery/imagery_for_period"), {**params, "boxes": None}
            ).fetchall()
            found = ", ".join(r[0] for r in elsewhere)
            found = f" ({found} match it but cover none of the queued tiles)" if found else ""
            raise AsmdbError(
                f"no registered imagery for {_role(role, period_map, period)}{found}: "
                "`asmdb imagery add NAME FILE --period START/END` registers some, or export "
                "without --imagery"
            )
        record = read_imagery(pg, rows[0][0])
        matched = () if names is not None else tuple(r[0] for r in rows)
        shown = tuple(record.bands[i] for i in true_colour(record.bands))
        layers.append(
            ImageryLayer(
                role,
                TABLES[role],
                period_map,
                period,
                record,
                matched,
                int(rows[0][7]),
                len(boxes),
                shown,
            )
        )
    return layers


def _window_bounds(tiles: np.ndarray) -> np.ndarray:
    """Each queued tile's window (west, south, east, north): the tile and MARGIN_TILES each side."""
    width = (tiles[:, 2] - tiles[:, 0])[:, None]
    height = (tiles[:, 3] - tiles[:, 1])[:, None]
    grow = np.hstack([-width, -height, width, height]) * MARGIN_TILES
    return tiles + grow


@dataclass(frozen=True)
class Grid:
    """A raster table's pixel grid in EPSG:4326: its top-left corner, pixel size and the
    GeoPackage tiles (row, column) to write."""

    west: float
    north: float
    resolution: float
    rows: int
    columns: int
    blocks: tuple[tuple[int, int], ...]

    def block_bounds(self, row: int, column: int) -> tuple[float, float, float, float]:
        step = BLOCK * self.resolution
        return (
            self.west + column * step,
            self.north - (row + 1) * step,
            self.west + (column + 1) * step,
            self.north - row * step,
        )


def plan_grid(
    tiles: np.ndarray, resolution: float, footprint: tuple[float, float, float, float]
) -> Grid:
    """The grid of a raster table around `tiles` (west, south, east, north rows): pixels of
    `resolution` degrees (coarser where a window would be more than MAX_WINDOW_PIXELS across),
    the GeoPackage tiles meeting a window and the imagery's `footprint`."""
    windows = _window_bounds(tiles)
    widest = float(np.max(np.maximum(windows[:, 2] - windows[:, 0], windows[:, 3] - windows[:, 1])))
    resolution = max(resolution, widest / MAX_WINDOW_PIXELS)
    west = math.floor(windows[:, 0].min() / resolution) * resolution
    north = math.ceil(windows[:, 3].max() / resolution) * resolution
    step = BLOCK * resolution
    fw, fs, fe, fn = footprint
    blocks = set()
    for w, s, e, n in windows:
        w, s, e, n = max(w, fw), max(s, fs), min(e, fe), min(n, fn)
        if w >= e or s >= n:
            continue  # the imagery does not reach this window
        columns = range(math.floor((w - west) / step), math.ceil((e - west) / step))
        rows = range(math.floor((north - n) / step), math.ceil((north - s) / step))
        blocks.update((r, c) for r in rows for c in columns)
    last_row = max((r for r, _ in blocks), default=0)
    last_column = max((c for _, c in blocks), default=0)
    return Grid(west, north, resolution, last_row + 1, last_column + 1, tuple(sorted(blocks)))


def _stretch(record: ImageryRecord, indexes: tuple[int, ...]) -> list[tuple[float, float]]:
    """Per shown band the (low, high) values mapped to 0 and 255 (`asm_db.imagery.display`),
    a band without a recorded range by its type in the first file."""
    import rasterio

    from asm_db.imagery.composite import GDAL_REMOTE
    from asm_db.imagery.read import gdal_href

    dtypes: tuple[str, ...] = ()
    if any(record.bands[i] not in (record.stretch or {}) for i in indexes):
        with rasterio.Env(**GDAL_REMOTE), rasterio.open(gdal_href(record.files[0])) as src:
            dtypes = tuple(src.dtypes)
    return [display_range(record, i, dtypes[i] if i < len(dtypes) else None) for i in indexes]


def write_imagery_layer(path: str, layer: ImageryLayer, tiles: np.ndarray) -> ImageryLayer:
    """Add `layer` as a raster table of the GeoPackage at `path` (a GDAL path) around `tiles`
    (west, south, east, north rows); returns it with the GeoPackage tiles it stored."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    from rio_tiler.models import rescale_image

    from asm_db.imagery.read import TileReader, open_imagery

    record = layer.imagery
    indexes = true_colour(record.bands)
    imagery = open_imagery(
        record.files,
        bands=[i + 1 for i in indexes],
        scale=[record.scale[i] for i in indexes],
        offset=[record.offset[i] for i in indexes],
    )
    stretch = _stretch(record, indexes)
    grid = plan_grid(tiles, imagery.resolution, imagery.bounds)
    identifier = record.name
    if record.period_start and record.period_end:
        identifier += f" ({record.period_start}/{record.period_end})"
    profile = dict(
        driver="GPKG",
        width=grid.columns * BLOCK,
        height=grid.rows * BLOCK,
        count=4,
        dtype="uint8",
        crs=TABLE_CRS,
        transform=from_origin(grid.west, grid.north, grid.resolution, grid.resolution),
        RASTER_TABLE=layer.table,
        APPEND_SUBDATASET="YES",
        TILE_FORMAT="PNG",  # lossless: the stretched values as computed
        RASTER_IDENTIFIER=identifier,
        RASTER_DESCRIPTION=f"{', '.join(layer.bands)} stretched to 0-255, around queued tiles",
    )
    stored = 0
    with (
        rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB),
        TileReader(imagery, MAX_OPEN_FILES) as reader,
        rasterio.open(path, "w", **profile) as out,
    ):
        for row, column in grid.blocks:
            values, valid = reader.read(grid.block_bounds(row, column), BLOCK)
            if not valid.any():
                continue  # no pixel: the tile is not stored
            mask = np.broadcast_to(~valid, values.shape)
            rgb = rescale_image(np.ma.MaskedArray(values, mask=mask.copy()), in_range=stretch)
            rgb = np.asarray(rgb.filled(0), dtype=np.uint8)
            if rgb.shape[0] == 1:
                rgb = np.repeat(rgb, 3, axis=0)
            alpha = np.where(valid, 255, 0).astype(np.uint8)[None]
            window = Window(column * BLOCK, row * BLOCK, BLOCK, BLOCK)
            out.write(np.concatenate([rgb, alpha]), window=window)
            stored += 1
    return replace(layer, stored=stored)


def write_review_file(
    frame: gpd.GeoDataFrame, out: str | Path, layers: list[ImageryLayer]
) -> ReviewExport:
    """Write a review GeoPackage whole or not at all: the queue's rows (`review_queue`, styled
    by status), then each imagery table around them."""
    tiles = frame.geometry.bounds.to_numpy(dtype=np.float64)
    written: list[ImageryLayer] = []

    def add_imagery(path: str) -> None:
        written.extend(write_imagery_layer(path, layer, tiles) for layer in layers)

    write_styled_gpkg(
        frame, out, "review_queue", qml.review_qml(), "review status", then=add_imagery
    )
    return ReviewExport(Path(out), len(frame), tuple(written))
