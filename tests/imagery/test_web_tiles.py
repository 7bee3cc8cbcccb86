"""Imagery tiles drawn for the web map: the pixels read for a tile are rio-tiler's own, from the
overview nearest the tile's resolution, and a file written again is read again."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace

import morecantile
import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from rio_tiler.io import Reader

from asm_db.imagery.web_tiles import (
    MAX_SOURCE_PIXELS,
    OpenRasters,
    TileSource,
    TooCoarse,
    check_tile,
    file_facts,
    file_state,
    min_zoom,
    read_tile,
    render_tile,
    tile_grid,
)

TMS = morecantile.tms.get("WebMercatorQuad")
SIZE = 1024  # 10 m pixels: overviews of 2 and 4 (the COG driver stops at its block size)
UTM = "EPSG:32629"
ORIGIN = (300000.0, 1000000.0)  # about 11.2 W, 9.0 N
INDEXES = [1, 2, 3]


def _write_cog(path, data: np.ndarray) -> str:
    profile = dict(
        driver="COG",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype="uint16",
        crs=UTM,
        transform=from_origin(*ORIGIN, 10.0, 10.0),
        nodata=0,
        compress="DEFLATE",
        blocksize=256,
        overview_resampling="average",
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return str(path)


def _steps() -> np.ndarray:
    """Bands that change by one stored number every 64 pixels (across, down, diagonally), so a
    pixel taken one overview pixel off is at most 1 off; no data in the north-west corner."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    data = np.stack([1000 + cols // 64, 2000 + rows // 64, 3000 + (rows + cols) // 128])
    data[:, :128, :128] = 0
    return data.astype(np.uint16)


@pytest.fixture(scope="module")
def cog(tmp_path_factory):
    return _write_cog(tmp_path_factory.mktemp("web_tiles") / "steps.tif", _steps())


def _tiles(path: str, z: int) -> list[morecantile.Tile]:
    with rasterio.open(path) as src:
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    return list(TMS.tiles(*bounds, zooms=[z]))


def test_each_zoom_reads_the_coarsest_overview_finer_than_its_tiles(cog):
    facts = file_facts(cog, file_state(cog))
    assert facts.factors == (2, 4)
    assert facts.resolution == pytest.approx(10 / np.cos(np.radians(9.04)), rel=0.01)
    # Tiles of 76, 38, 19 and 9.6 m: overviews of 40 m, 20 m, then the full 10 m.
    assert [facts.level(z) for z in (11, 12, 13, 14)] == [1, 0, None, None]


@pytest.mark.parametrize("z", [11, 12, 13, 14])
def test_a_tile_has_the_pixels_rio_tiler_reads(cog, z):
    """The same pixels as rio-tiler's Reader.tile on the overview with the tile's warp (the way
    tiles were drawn before the rasters were kept open), and within 1 of a plain Reader.tile
    (which warps at the file's resolution) where both have data."""
    level = file_facts(cog, file_state(cog)).level(z)
    tiles = _tiles(cog, z)
    picked = [tiles[i] for i in sorted(set(np.linspace(0, len(tiles) - 1, 6).astype(int)))]
    with_data = 0
    for tile in picked:  # the first is the north-west corner's, with its empty block
        ours = read_tile(cog, INDEXES, tile.z, tile.x, tile.y).array
        options = {} if level is None else {"overview_level": level}
        with rasterio.open(cog, **options) as overview, Reader(cog, dataset=overview) as src:
            before = src.tile(
                tile.x, tile.y, tile.z, indexes=INDEXES, vrt_options=tile_grid(tile.x, tile.y, z)
            ).array
        assert np.array_equal(ours.data, before.data), tile
        assert np.array_equal(np.ma.getmaskarray(ours), np.ma.getmaskarray(before)), tile
        with Reader(cog) as src:
            plain = src.tile(tile.x, tile.y, tile.z, indexes=INDEXES).array
        ours_empty, plain_empty = np.ma.getmaskarray(ours), np.ma.getmaskarray(plain)
        assert (ours_empty != plain_empty).mean() < 0.01, tile
        both = ~ours_empty & ~plain_empty
        gap = np.abs(ours.data.astype(int) - plain.data.astype(int))[both]
        assert gap.max(initial=0) <= 1, tile
        with_data += both.sum() > 1000
    assert with_data >= min(3, len(picked))


def _source(path: str) -> TileSource:
    with rasterio.open(path) as src:
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    return TileSource(
        name="steps",
        bounds=tuple(bounds),
        bands=("red", "green", "blue"),
        files=(path,),
        scale=(1.0,) * 3,
        offset=(0.0,) * 3,
        stretch={"red": [0, 4000], "green": [0, 4000], "blue": [0, 4000]},
    )


def test_a_file_written_again_is_read_again(tmp_path):
    path = _write_cog(tmp_path / "scene.tif", np.full((3, SIZE, SIZE), 1000, dtype=np.uint16))
    tile = _tiles(path, 13)[4]

    def centre() -> list[int]:
        png = render_tile(_source(path), tile.z, tile.x, tile.y)
        return list(np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[128, 128])

    assert centre() == [63, 63, 63, 255]  # 1000 of 0 to 4000
    _write_cog(path, np.full((3, SIZE, SIZE), 3000, dtype=np.uint16))
    assert centre() == [191, 191, 191, 255]


def test_a_local_file_has_one_raster_a_level_that_threads_take_in_turn(cog):
    rasters = OpenRasters(keep=4)
    state = file_state(cog)
    taken, waited = threading.Event(), []

    def second() -> None:
        taken.wait()
        with rasters.lend(cog, state, None) as dataset:
            waited.append((dataset, first_done.is_set()))

    first_done = threading.Event()
    thread = threading.Thread(target=second)
    thread.start()
    with rasters.lend(cog, state, None) as first:
        taken.set()
        time.sleep(0.2)
        first_done.set()
    thread.join(10)
    assert waited == [(first, True)]  # the same raster, once the first thread gave it back
    assert rasters.count == 1 and not first.closed


def test_a_remote_file_has_a_raster_for_each_thread_and_the_oldest_are_closed(cog):
    rasters = OpenRasters(keep=2)
    with rasters.lend(cog, None, None) as one, rasters.lend(cog, None, None) as other:
        assert one is not other  # a raster in use is not lent again
    with rasters.lend(cog, None, None) as again:
        assert again in (one, other)
    with rasters.lend(cog, None, 0) as overview:
        assert overview.width == SIZE // 2
    assert rasters.count == 2 and sum(d.closed for d in (one, other)) == 1
    with pytest.raises(RuntimeError), rasters.lend(cog, None, 1) as failing:
        raise RuntimeError("a read failed")
    assert failing.closed and rasters.count == 2  # one that failed is not kept
    rasters.close()
    assert rasters.count == 0 and overview.closed


def test_files_are_opened_as_featurize_opens_them():
    """One rule for how a registered file or URL reaches GDAL (`asm_db.imagery.read`)."""
    from asm_db.imagery import read, web_tiles

    assert web_tiles.gdal_href is read.gdal_href


def _write_plain(path, size: int) -> str:
    """One uint16 band of `size` x `size` 10 m pixels in UTM, tiled and compressed, without
    overviews."""
    profile = dict(
        driver="GTiff", width=size, height=size, count=1, dtype="uint16", crs=UTM,
        transform=from_origin(*ORIGIN, 10.0, 10.0), tiled=True, blockxsize=512, blockysize=512,
        compress="DEFLATE",
    )  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((1, size, size), 1000, dtype=np.uint16))
    return str(path)


def test_a_tile_that_would_read_more_than_the_cap_is_refused_before_reading(tmp_path, cog):
    """A file without overviews: below its lowest zoom a tile would read more than
    MAX_SOURCE_PIXELS (TooCoarse, naming that zoom); from it on, at most that many. The same
    pixels with overviews, or a small file, are drawn at every zoom."""
    plain = _write_plain(tmp_path / "plain.tif", 6000)
    facts = file_facts(plain, file_state(plain))
    lowest = facts.min_zoom()
    assert lowest == 10  # 6000 pixels of 10 m: tiles of 153 m pixels read 3,900 across
    assert all(facts.source_pixels(z) <= MAX_SOURCE_PIXELS for z in range(lowest, 25))
    assert facts.source_pixels(lowest - 1) > MAX_SOURCE_PIXELS
    source = replace(_source(plain), bands=("grey",), scale=(1.0,), offset=(0.0,), stretch=None)
    assert min_zoom(source.files) == lowest
    for z in (0, 5, lowest - 1):
        tile = _tiles(plain, z)[0]
        with pytest.raises(TooCoarse) as refused:
            render_tile(source, tile.z, tile.x, tile.y)
        assert refused.value.min_zoom == lowest
    tile = _tiles(plain, lowest)[0]
    assert check_tile(source, tile.z, tile.x, tile.y)
    assert render_tile(source, tile.z, tile.x, tile.y).startswith(b"\x89PNG")
    assert file_facts(cog, file_state(cog)).min_zoom() == 0
    with rasterio.open(plain, "r+") as dst:
        dst.build_overviews([2, 4, 8])
    assert file_facts(plain, file_state(plain)).min_zoom() == 0  # the 750-pixel overview


def test_a_pixel_is_drawn_only_where_every_band_has_data_and_from_one_file(tmp_path):
    """The red band has no data (0) in the north-west quadrant, where green and blue have some:
    alone, the file is transparent there; over another file, that file's whole pixel shows (not
    its red beside the top file's green and blue)."""
    from rasters import EAST, NORTH, SOUTH, WEST, write_blocks

    holed = np.array([[[0, 3000], [3000, 3000]], [[2000] * 2] * 2, [[1000] * 2] * 2])
    top = write_blocks(tmp_path / "top.tif", holed, nodata=0, descriptions=("red", "green", "blue"))
    below = write_blocks(
        tmp_path / "below.tif", np.full((3, 1, 1), 4000), nodata=0,
        descriptions=("red", "green", "blue"),
    )  # fmt: skip
    stretch = {"red": [0, 4000], "green": [0, 4000], "blue": [0, 4000]}
    z = 14
    lon, lat = WEST + (EAST - WEST) / 4, NORTH - (NORTH - SOUTH) / 4  # the north-west quadrant
    tile = TMS.tile(lon, lat, z)
    w, s, e, n = TMS.xy_bounds(tile)
    px, py = TMS.xy(lon, lat)
    row, col = int((n - py) / (n - s) * 256), int((px - w) / (e - w) * 256)

    def pixel(files: tuple[str, ...]) -> list[int]:
        source = TileSource(
            "holed", (WEST, SOUTH, EAST, NORTH), ("red", "green", "blue"), files, (1.0,) * 3,
            (0.0,) * 3, stretch,
        )  # fmt: skip
        png = render_tile(source, tile.z, tile.x, tile.y)
        return list(np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[row, col])

    assert pixel((str(top),))[3] == 0
    assert pixel((str(below), str(top))) == [255, 255, 255, 255]  # below's own pixel, whole
