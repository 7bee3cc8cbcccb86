"""Web map tiles of registered imagery: 256 x 256 true-colour PNGs in WebMercatorQuad.

A tile is read with rio-tiler from the imagery's files (a mosaic when there are several: a
later file's valid pixels win, as in `featurize`), from the overview nearest the tile's
resolution, warped straight onto the tile's pixels, in the bands named red, green and blue (else
the first three; one band is grey), each stretched over the registry's display range, which is
recorded in values (stored * scale + offset) and turned back into stored numbers here. Where a
band has no data the tile is transparent. Remote files are read through GDAL's /vsicurl/ with the
settings `asmdb imagery` uses, and only from the hosts allowed, if a list is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from asm_db.errors import InputError
from asm_db.imagery.hosts import check_location

TILE_SIZE = 256
TRUE_COLOUR = ("red", "green", "blue")
MAX_ZOOM = 24  # WebMercatorQuad's deepest tile matrix


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


def display_bands(bands: tuple[str, ...]) -> list[int]:
    """The 1-based bands drawn as red, green and blue: those named so (any case), else the first
    three; one band is drawn as grey (the same band three times)."""
    lower = [b.lower() for b in bands]
    if all(name in lower for name in TRUE_COLOUR):
        return [lower.index(name) + 1 for name in TRUE_COLOUR]
    if len(bands) >= 3:
        return [1, 2, 3]
    return [1, 1, 1]


def stored_range(source: TileSource, band: int, dtype) -> tuple[float, float]:
    """The stretch of a 1-based band in the files' stored numbers (value = stored * scale +
    offset); without a recorded stretch, the stored type's range (0 to 1 for floats)."""
    recorded = (source.stretch or {}).get(source.bands[band - 1])
    scale, offset = source.scale[band - 1], source.offset[band - 1]
    if recorded is None or scale == 0 or not all(math.isfinite(v) for v in recorded):
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            return float(info.min), float(info.max)
        return 0.0, 1.0
    low, high = sorted(((recorded[0] - offset) / scale, (recorded[1] - offset) / scale))
    if high <= low:  # one value everywhere: mid-grey
        low, high = low - 0.5, high + 0.5
    return low, high


def tile_overlaps(source: TileSource, z: int, x: int, y: int) -> bool:
    """Whether the tile meets the imagery's footprint."""
    from morecantile import Tile

    w, s, e, n = web_mercator().bounds(Tile(x, y, z))
    west, south, east, north = source.bounds
    return w < east and e > west and s < north and n > south


def gdal_href(path: str) -> str:
    """A file of the registry as GDAL opens it: http(s) URLs through /vsicurl/."""
    if path.startswith(("http://", "https://")):
        return "/vsicurl/" + path
    return path


@cache
def web_mercator():
    """WebMercatorQuad (morecantile gives a deep copy each time it is asked: kept once)."""
    from morecantile import tms as tile_matrix_sets

    return tile_matrix_sets.get("WebMercatorQuad")


def overview_level(src, z: int) -> int | None:
    """The coarsest overview of an open raster that is still finer than a tile of zoom `z` (as
    GDAL's `-ovr AUTO` picks it), or None for its full resolution."""
    from rasterio.warp import calculate_default_transform

    factors = src.overviews(1)
    if not factors:
        return None
    native, _, _ = calculate_default_transform(
        src.crs, "EPSG:3857", src.width, src.height, *src.bounds
    )
    tile = web_mercator().matrix(z).cellSize
    finer = [i for i, f in enumerate(factors) if abs(native.a) * f <= tile]
    return finer[-1] if finer else None


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
    return render(blank, np.zeros((TILE_SIZE, TILE_SIZE), dtype=np.uint8), img_format="PNG")


def render_tile(
    source: TileSource, z: int, x: int, y: int, allowed_hosts: frozenset[str] | None = None
) -> bytes:
    """The PNG of one tile (transparent outside the imagery); InputError, naming the file, when a
    file cannot be read or its host is not allowed."""
    import rasterio
    from rasterio.errors import RasterioError
    from rio_tiler.errors import EmptyMosaicError, RioTilerError, TileOutsideBounds
    from rio_tiler.io import Reader
    from rio_tiler.mosaic import mosaic_reader

    from asm_db.imagery.composite import GDAL_REMOTE

    if not tile_overlaps(source, z, x, y):
        return empty_tile()
    hrefs = [gdal_href(f) for f in reversed(source.files)]  # the first valid pixel wins
    for href in hrefs:
        check_location(href, href, allowed_hosts)
    indexes = display_bands(source.bands)

    def tile_of(dataset, href: str, x: int, y: int, z: int):
        with Reader(href, dataset=dataset) as src:
            return src.tile(
                x, y, z, tilesize=TILE_SIZE, indexes=indexes, vrt_options=tile_grid(x, y, z)
            )

    def read(href: str, x: int, y: int, z: int) -> object:
        try:
            with rasterio.open(href) as full:
                level = overview_level(full, z)
                if level is None:
                    image = tile_of(full, href, x, y, z)
                else:
                    with rasterio.open(href, overview_level=level) as overview:
                        image = tile_of(overview, href, x, y, z)
        except (TileOutsideBounds, EmptyMosaicError):
            raise
        except (RasterioError, RioTilerError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(href, f"cannot be read as a raster: {first}") from None
        data = image.array
        if np.issubdtype(data.dtype, np.floating):  # NaN or inf stored without a nodata value
            data.mask = np.ma.getmaskarray(data) | ~np.isfinite(data.data)
        return image

    with rasterio.Env(**GDAL_REMOTE):
        try:
            image, _ = mosaic_reader(hrefs, read, x, y, z, threads=1)
        except EmptyMosaicError:
            return empty_tile()
    dtype = image.array.dtype
    image.rescale(in_range=[stored_range(source, band, dtype) for band in indexes])
    return image.render(img_format="PNG")
