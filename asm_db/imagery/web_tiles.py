"""Web map tiles of registered imagery: 256 x 256 true-colour PNGs in WebMercatorQuad.

A tile is read with rio-tiler from the imagery's files (a mosaic when there are several: a
later file's valid pixels win, as in `featurize`), from the overview nearest the tile's
resolution, warped straight onto the tile's pixels, in the bands and over the ranges
`asm_db.imagery.display` gives the QGIS project and the review export too (the ranges in
stored numbers: `stored_range`). A pixel
is drawn only where every band drawn has data (in a mosaic, from one file): elsewhere the tile
is transparent. Remote files are read through GDAL's /vsicurl/ with the
settings `asmdb imagery` uses, and only from the hosts allowed, if a list is given.

What stays the same between tiles is kept: the rasters open (`OPEN_RASTERS`, so GDAL keeps the
blocks it decoded) and each file's overviews, resolution and footprint (`file_facts`), both by
the file's state (`file_state`), so a local file written again is opened and read again.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from asm_db.errors import InputError
from asm_db.imagery.display import display_bands, stored_range
from asm_db.imagery.hosts import check_location
from asm_db.imagery.read import gdal_href

TILE_SIZE = 256
MAX_ZOOM = 24  # WebMercatorQuad's deepest tile matrix
# The most source pixels one tile may read from a file (at the overview level it reads): a tile
# that would need more (a country zoom of a large file without overviews) is not drawn, so that
# no tile costs more than about this many pixels' time and memory, whatever the file.
MAX_SOURCE_PIXELS = 4096 * 4096
# zlib level 1: a tile is written in under half the time of the default level (6), for 10-15%
# more bytes (bench/imagery_tiles.py); the pixels are the same.
PNG_OPTIONS = {"ZLEVEL": 1}


@dataclass(frozen=True)
class TileSource:
    """What the tiles of one registered imagery are drawn from (its row of `asmdb.imagery`)."""

    name: str
    bounds: tuple[float, float, float, float]  # west, south, east, north (EPSG:4326)
    bands: tuple[str, ...]
    files: tuple[str, ...]  # in mosaic order: a later file's pixels win
    scale: tuple[float, ...]
    offset: tuple[float, ...]
    stretch: dict | None  # {band name: [low, high]} of the values


def tile_overlaps(source: TileSource, z: int, x: int, y: int) -> bool:
    """Whether the tile meets the imagery's footprint."""
    return _meets(source.bounds, z, x, y)


def _meets(bounds: tuple[float, ...], z: int, x: int, y: int) -> bool:
    w, s, e, n = lnglat_bounds(z, x, y)
    west, south, east, north = bounds
    return w < east and e > west and s < north and n > south


@lru_cache(maxsize=4096)
def lnglat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's west, south, east, north in degrees (asked for each file of each tile)."""
    from morecantile import Tile

    return tuple(web_mercator().bounds(Tile(x, y, z)))


@cache
def web_mercator():
    """WebMercatorQuad (morecantile gives a deep copy each time it is asked: kept once)."""
    from morecantile import tms as tile_matrix_sets

    return tile_matrix_sets.get("WebMercatorQuad")


def tile_grid(x: int, y: int, z: int) -> dict:
    """rio-tiler's warp options that warp straight onto the tile's 256 x 256 pixels.

    By default rio-tiler warps at the file's own resolution over the whole tile and then
    decimates: at a zoom far below that resolution (a country zoom over 10 m imagery) that is
    millions of pixels for a tile of 65,536, most of them outside the imagery."""
    from morecantile import Tile
    from rasterio.transform import from_bounds

    bounds = web_mercator().xy_bounds(Tile(x, y, z))
    return {
        "transform": from_bounds(*bounds, TILE_SIZE, TILE_SIZE),
        "width": TILE_SIZE,
        "height": TILE_SIZE,
    }


@cache
def empty_tile() -> bytes:
    """A fully transparent tile (what a tile outside the imagery shows)."""
    from rio_tiler.utils import render

    blank = np.zeros((3, TILE_SIZE, TILE_SIZE), dtype=np.uint8)
    mask = np.zeros((TILE_SIZE, TILE_SIZE), dtype=np.uint8)
    return render(blank, mask, img_format="PNG", **PNG_OPTIONS)


def file_state(href: str) -> tuple[int, int, int] | None:
    """What tells that a local file changed (modification time, size and inode: a file written
    again or replaced is another state); None for a remote file, which is taken to stay the same
    while it is registered. OSError when a local file is gone."""
    if href.startswith("/vsi"):
        return None
    stat = os.stat(href)
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class TooCoarse(Exception):
    """A tile would read more than MAX_SOURCE_PIXELS of a file: it is not drawn."""

    def __init__(self, href: str, z: int, min_zoom: int) -> None:
        super().__init__(f"zoom {z} would read too much of {href}; its tiles start at {min_zoom}")
        self.min_zoom = min_zoom


@dataclass(frozen=True)
class FileFacts:
    """What tiles need of one state of a file, read from it once."""

    factors: tuple[int, ...]  # its overviews' decimation factors, finest first
    resolution: float  # its full-resolution pixel in EPSG:3857 metres
    bounds: tuple[float, float, float, float]  # west, south, east, north (EPSG:4326)
    size: tuple[int, int] = (0, 0)  # its full-resolution width and height in pixels

    def level(self, z: int) -> int | None:
        """The coarsest overview that is still finer than a tile of zoom `z` (as GDAL's `-ovr
        AUTO` picks it), or None for the full resolution."""
        tile = web_mercator().matrix(z).cellSize
        finer = [i for i, f in enumerate(self.factors) if self.resolution * f <= tile]
        return finer[-1] if finer else None

    def source_pixels(self, z: int) -> float:
        """The most pixels a tile of zoom `z` reads from this file: the tile's width and height
        in pixels of the level it reads (`level`), each at most the file's at that level."""
        level = self.level(z)
        factor = 1 if level is None else self.factors[level]
        across = TILE_SIZE * web_mercator().matrix(z).cellSize / (self.resolution * factor)
        width, height = (math.ceil(n / factor) for n in self.size)
        return min(across, width) * min(across, height)

    def min_zoom(self) -> int:
        """The lowest zoom from which no tile reads more than MAX_SOURCE_PIXELS of this file
        (0 when none does)."""
        for z in range(MAX_ZOOM, -1, -1):
            if self.source_pixels(z) > MAX_SOURCE_PIXELS:
                return z + 1
        return 0


@lru_cache(maxsize=256)
def file_facts(href: str, state: tuple[int, int, int] | None) -> FileFacts:
    """The facts of a file in a state (`file_state`), read once a state."""
    from rasterio.warp import calculate_default_transform, transform_bounds

    with OPEN_RASTERS.lend(href, state, None) as src:
        native, _, _ = calculate_default_transform(
            src.crs, "EPSG:3857", src.width, src.height, *src.bounds
        )
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
        factors = tuple(src.overviews(1))
        return FileFacts(factors, abs(native.a), tuple(bounds), (src.width, src.height))


def facts_of(href: str) -> FileFacts:
    """`file_facts` of a file as it is now; InputError, naming it, when it cannot be read."""
    from rasterio.errors import RasterioError

    try:
        return file_facts(href, file_state(href))
    except (RasterioError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(href, f"cannot be read as a raster: {first}") from None


def min_zoom(files: tuple[str, ...], allowed_hosts: frozenset[str] | None = None) -> int:
    """The lowest zoom at which an imagery's tiles are drawn: the highest of its files'
    (`FileFacts.min_zoom`). InputError when a file cannot be read or its host is not allowed."""
    import rasterio

    from asm_db.imagery.composite import GDAL_REMOTE

    zooms = [0]
    with rasterio.Env(**GDAL_REMOTE):
        for file in files:
            href = gdal_href(file)
            check_location(href, href, allowed_hosts)
            zooms.append(facts_of(href).min_zoom())
    return max(zooms)


def check_tile(
    source: TileSource, z: int, x: int, y: int, allowed_hosts: frozenset[str] | None = None
) -> bool:
    """Whether a tile has anything to read (it meets a file); TooCoarse, before anything is
    read, when it would read more than MAX_SOURCE_PIXELS of a file; InputError when a file
    cannot be read or its host is not allowed."""
    import rasterio

    from asm_db.imagery.composite import GDAL_REMOTE

    if not tile_overlaps(source, z, x, y):
        return False
    meets = False
    with rasterio.Env(**GDAL_REMOTE):
        for file in source.files:
            href = gdal_href(file)
            check_location(href, href, allowed_hosts)
            facts = facts_of(href)
            if not _meets(facts.bounds, z, x, y):
                continue
            meets = True
            if facts.source_pixels(z) > MAX_SOURCE_PIXELS:
                raise TooCoarse(href, z, facts.min_zoom())
    return meets


class Kept:
    """An open raster (None until opened) and the lock of the thread using it."""

    def __init__(self) -> None:
        self.dataset = None
        self.lock = threading.Lock()


class OpenRasters:
    """Rasters kept open between tiles by file, file state and overview level, at most `keep` of
    them (one in use is never closed): opening a raster costs more than reading a tile of it, and
    GDAL keeps the blocks it decoded while the raster stays open. A raster is used by one thread
    at a time (GDAL's are not thread-safe): a local file has one raster a level, which threads
    take in turn (its blocks are decoded once), a remote file one for each thread reading it (a
    read waits on the network). A raster whose reading failed is closed."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.kept: OrderedDict[tuple, list[Kept]] = OrderedDict()
        self.lock = threading.Lock()

    @property
    def count(self) -> int:
        return sum(len(rasters) for rasters in self.kept.values())

    @contextmanager
    def lend(self, href: str, state: tuple | None, level: int | None):
        import rasterio

        key = (href, state, level)
        raster = self._take(key, shared=state is not None)
        try:
            if raster.dataset is None:
                options = {} if level is None else {"overview_level": level}
                raster.dataset = rasterio.open(href, **options)
            yield raster.dataset
        except BaseException:
            self._drop(key, raster)
            raise
        finally:
            raster.lock.release()
        self._trim()

    def _take(self, key: tuple, shared: bool) -> Kept:
        """A raster of `key` locked for this thread: a free one, else (shared) the one in use
        once it is given back, else a new one."""
        while True:
            with self.lock:
                rasters = self.kept.setdefault(key, [])
                self.kept.move_to_end(key)
                for raster in rasters:
                    if raster.lock.acquire(blocking=False):
                        return raster
                if not (shared and rasters):
                    raster = Kept()
                    raster.lock.acquire()
                    rasters.append(raster)
                    return raster
                busy = rasters[0]
            with busy.lock:  # wait for it, then look again (it may have been dropped)
                pass

    def _drop(self, key: tuple, raster: Kept) -> None:
        with self.lock:
            rasters = self.kept.get(key, [])
            if raster in rasters:
                rasters.remove(raster)
            if not rasters:
                self.kept.pop(key, None)
        if raster.dataset is not None:
            raster.dataset.close()
            raster.dataset = None

    def _trim(self) -> None:
        """Close the least recently used rasters not in use beyond `keep`."""
        closing = []
        with self.lock:
            excess = self.count - self.keep
            for key in list(self.kept):
                rasters = self.kept[key]
                for raster in list(rasters):
                    if excess <= 0 or not raster.lock.acquire(blocking=False):
                        continue
                    rasters.remove(raster)
                    raster.lock.release()
                    closing.append(raster)
                    excess -= 1
                if not rasters:
                    del self.kept[key]
        for raster in closing:
            if raster.dataset is not None:
                raster.dataset.close()
                raster.dataset = None

    def close(self) -> None:
        """Close every raster not in use."""
        keep, self.keep = self.keep, 0
        try:
            self._trim()
        finally:
            self.keep = keep


OPEN_RASTERS = OpenRasters(keep=16)


def render_tile(
    source: TileSource, z: int, x: int, y: int, allowed_hosts: frozenset[str] | None = None
) -> bytes:
    """The PNG of one tile (transparent outside the imagery); InputError, naming the file, when a
    file cannot be read or its host is not allowed; TooCoarse, before reading, when the tile
    would read more than MAX_SOURCE_PIXELS of a file (`check_tile`)."""
    import rasterio
    from rio_tiler.errors import EmptyMosaicError, TileOutsideBounds
    from rio_tiler.mosaic import mosaic_reader

    from asm_db.imagery.composite import GDAL_REMOTE

    if not check_tile(source, z, x, y, allowed_hosts):
        return empty_tile()
    hrefs = [gdal_href(f) for f in reversed(source.files)]  # the first valid pixel wins
    shown = display_bands(source.bands)
    indexes = [band + 1 for band in shown]

    def read(href: str, x: int, y: int, z: int) -> object:
        return read_tile(href, indexes, z, x, y)

    with rasterio.Env(**GDAL_REMOTE):
        try:
            if len(hrefs) == 1:
                image = read(hrefs[0], x, y, z)
            else:
                image, _ = mosaic_reader(hrefs, read, x, y, z, threads=1)
        except (TileOutsideBounds, EmptyMosaicError):
            return empty_tile()
    whole_pixels(image)
    dtype = image.array.dtype
    image.rescale(in_range=[stored_range(source, band, dtype) for band in shown])
    # A tile with every pixel drawn needs no alpha: RGB is a quarter less to encode and send.
    opaque = not np.ma.getmaskarray(image.array).any()
    return image.render(img_format="PNG", add_mask=not opaque, **PNG_OPTIONS)


def read_tile(href: str, indexes: list[int], z: int, x: int, y: int):
    """One file's pixels of a tile (rio-tiler's ImageData, before the stretch), from the overview
    nearest the tile's resolution; TileOutsideBounds when the file does not meet the tile,
    InputError when it cannot be read. What `Reader.tile` draws with `tile_grid`'s warp options,
    without working out again for each tile what stays the same (the file's resolution in
    EPSG:3857, its footprint, its overviews) and without opening the file again."""
    from rasterio.errors import RasterioError
    from rio_tiler.errors import RioTilerError, TileOutsideBounds
    from rio_tiler.reader import read

    try:
        state = file_state(href)
        facts = file_facts(href, state)
        if not _meets(facts.bounds, z, x, y):
            raise TileOutsideBounds(f"tile {z}/{x}/{y} is outside {href}")
        with OPEN_RASTERS.lend(href, state, facts.level(z)) as dataset:
            grid = {"crs": web_mercator().rasterio_crs, "dtype": dataset.dtypes[0]}
            image = read(
                dataset,
                dst_crs=grid["crs"],
                height=TILE_SIZE,
                width=TILE_SIZE,
                indexes=indexes,
                vrt_options={**grid, **tile_grid(x, y, z)},
            )
    except TileOutsideBounds:
        raise
    except (RasterioError, RioTilerError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(href, f"cannot be read as a raster: {first}") from None
    data = image.array
    if np.issubdtype(data.dtype, np.floating):  # NaN or inf stored without a nodata value
        data.mask = np.ma.getmaskarray(data) | ~np.isfinite(data.data)
    return whole_pixels(image)


def whole_pixels(image):
    """`image` (rio-tiler's ImageData) with every band masked where any band is: a pixel is drawn
    only where every band drawn has data (rio-tiler's alpha is clear only where all bands are
    masked, and a mosaic fills band by band, which would mix two files' bands in one pixel)."""
    data = image.array
    invalid = np.ma.getmaskarray(data).any(axis=0)
    data.mask = np.broadcast_to(invalid, data.shape).copy()
    return image
