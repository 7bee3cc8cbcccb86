"""One colour rule for registered imagery: the web map's tile, the review GeoPackage and the
stored QGIS project show the same bands over the same ranges (`asm_db.imagery.display`)."""

from __future__ import annotations

import io

import geopandas as gpd
import morecantile
import numpy as np
import pytest
import rasterio
from PIL import Image
from shapely.geometry import box

from asm_db.imagery.display import display_bands, display_range, stored_range
from asm_db.imagery.registry import ImageryRecord, raster_stretch
from asm_db.imagery.web_tiles import TileSource, render_tile
from asm_db.publish.files import write_styled_gpkg
from asm_db.publish.project_imagery import imagery_layers
from asm_db.review.imagery import TABLES, ImageryLayer, write_imagery_layer

from rasters import EAST, NORTH, SOUTH, WEST, write_blocks

TMS = morecantile.tms.get("WebMercatorQuad")
Z = 15
# The centre of each quadrant of a file of 2 x 2 blocks over WEST..EAST, SOUTH..NORTH.
QUARTER_LON, QUARTER_LAT = (EAST - WEST) / 4, (NORTH - SOUTH) / 4
PLACES = [
    (WEST + QUARTER_LON, NORTH - QUARTER_LAT),
    (EAST - QUARTER_LON, NORTH - QUARTER_LAT),
    (WEST + QUARTER_LON, SOUTH + QUARTER_LAT),
    (EAST - QUARTER_LON, SOUTH + QUARTER_LAT),
]


def test_the_bands_shown():
    assert display_bands(["red", "green", "blue"]) == (0, 1, 2)
    assert display_bands(["Blue", "GREEN", "Red", "nir"]) == (2, 1, 0)
    assert display_bands(["B02", "B03", "B04", "B08"]) == (2, 1, 0)  # Sentinel-2's names
    assert display_bands(["red", "b02", "b03", "b04"]) == (3, 2, 1)  # not all of red, green, blue
    assert display_bands(["a", "b", "c", "d"]) == (0, 1, 2)
    assert display_bands(["nir", "swir"]) == (0, 0, 0)  # two bands: the first, as grey
    assert display_bands(["dem"]) == (0, 0, 0)


def _record(name, bands, files, scale, offset, stretch) -> ImageryRecord:
    return ImageryRecord(
        name, None, None, (WEST, SOUTH, EAST, NORTH), list(bands), [str(f) for f in files],
        list(scale), list(offset), stretch=stretch,
    )  # fmt: skip


def test_the_ranges_in_values_and_stored_numbers():
    record = _record(
        "r", ("red", "green", "blue"), ["x.tif"], [0.0001] * 3, [-0.1] * 3,
        {"red": [0.05, 0.15], "green": [0.1, 0.1], "blue": [0.2, 0.1]},
    )  # fmt: skip
    assert display_range(record, 0) == (0.05, 0.15)
    assert stored_range(record, 0) == pytest.approx((1500, 2500))
    # Flat: half a stored number each side; reversed: in order.
    assert stored_range(record, 1) == pytest.approx((1999.5, 2000.5))
    assert display_range(record, 2) == (0.1, 0.2)
    bare = _record("b", ("a",), ["x.tif"], [2.0], [10.0], None)
    assert display_range(bare, 0, "uint8") == (10.0, 520.0)  # the type's range, as values
    assert stored_range(bare, 0, "uint8") == (0.0, 255.0)
    assert display_range(bare, 0, "float32") == (0.0, 1.0)


def _imagery(tmp_path) -> list[ImageryRecord]:
    """Blue-first Sentinel-2 names with scale and offset; two bands, the first's range flat; no
    recorded range (bytes)."""
    s2 = write_blocks(
        tmp_path / "s2.tif",
        np.array([[[800, 1200], [1000, 1400]], [[1500, 1700], [1600, 1900]], [[2000, 2600], [2300, 3100]]]),
        descriptions=("B02", "B03", "B04"), scales=(0.0001,) * 3, offsets=(-0.1,) * 3,
    )  # fmt: skip
    computed, _ = raster_stretch([str(s2)], 3)
    s2_stretch = {name: list(computed[i]) for i, name in enumerate(("B02", "B03", "B04"))}
    pair = write_blocks(
        tmp_path / "pair.tif", np.array([[[3000, 3000], [3000, 3000]], [[10, 20], [30, 40]]]),
        descriptions=("nir", "swir"), scales=(0.0001,) * 2, offsets=(0.0,) * 2,
    )  # fmt: skip
    bare = write_blocks(
        tmp_path / "bare.tif",
        np.array([[[50, 90], [130, 170]], [[120, 140], [160, 180]], [[200, 10], [100, 250]]]),
        dtype="uint8", scales=(2.0,) * 3, offsets=(10.0,) * 3,
    )  # fmt: skip
    return [
        _record("s2", ("B02", "B03", "B04"), [s2], [0.0001] * 3, [-0.1] * 3, s2_stretch),
        _record("pair", ("nir", "swir"), [pair], [0.0001] * 2, [0.0] * 2,
                {"nir": [0.3, 0.3], "swir": [0.001, 0.004]}),
        _record("bare", ("a", "b", "c"), [bare], [2.0] * 3, [10.0] * 3, None),
    ]  # fmt: skip


def _web_pixel(record: ImageryRecord, lon: float, lat: float) -> np.ndarray:
    tile = TMS.tile(lon, lat, Z)
    source = TileSource(
        record.name, tuple(record.bounds), tuple(record.bands), tuple(record.files),
        tuple(record.scale), tuple(record.offset), record.stretch,
    )  # fmt: skip
    png = render_tile(source, tile.z, tile.x, tile.y)
    w, s, e, n = TMS.xy_bounds(tile)
    x, y = TMS.xy(lon, lat)
    row, col = int((n - y) / (n - s) * 256), int((x - w) / (e - w) * 256)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[row, col]


def _review_pixels(record: ImageryRecord, out, places) -> list[np.ndarray]:
    shown = display_bands(record.bands)
    names = tuple(record.bands[i] for i in dict.fromkeys(shown))
    layer = ImageryLayer("map", TABLES["map"], 1, None, record, (), 1, 1, names)
    queued = [box(lon - 0.004, lat - 0.004, lon + 0.004, lat + 0.004) for lon, lat in places]
    tiles = np.array([q.bounds for q in queued])
    frame = gpd.GeoDataFrame({"review_id": range(len(queued))}, geometry=queued, crs=4326)
    then = lambda path: write_imagery_layer(path, layer, tiles)  # noqa: E731
    write_styled_gpkg(frame, out, "review_queue", "<qgis/>", "style", then=then)
    pixels = []
    with rasterio.open(f"GPKG:{out}:imagery") as raster:
        for lon, lat in places:
            row, col = raster.index(lon, lat)
            pixels.append(raster.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0])
    return pixels


@pytest.mark.parametrize("which", ["s2", "pair", "bare"])
def test_the_web_tile_the_review_file_and_the_qgis_project_show_the_same(tmp_path, which):
    record = {r.name: r for r in _imagery(tmp_path)}[which]
    review = _review_pixels(record, tmp_path / f"{which}.gpkg", PLACES)
    for (lon, lat), exported in zip(PLACES, review, strict=True):
        web = _web_pixel(record, lon, lat)
        assert web[3] == exported[3] == 255
        assert np.abs(web[:3].astype(int) - exported[:3].astype(int)).max() <= 2, (web, exported)
    (layer,), left_out = imagery_layers([record])
    assert left_out == []
    shown = display_bands(record.bands)
    assert layer.rgb == tuple(b + 1 for b in shown)
    names = [record.bands[b - 1] for b in layer.rgb]
    expected = {"s2": ["B04", "B03", "B02"], "pair": ["nir"] * 3, "bare": ["a", "b", "c"]}
    assert names == expected[which]
    dtype = "uint8" if which == "bare" else "uint16"
    assert layer.ranges == tuple(display_range(record, b, dtype) for b in shown)
    if which == "pair":  # the flat range: mid-grey everywhere
        assert list(_web_pixel(record, *PLACES[0])[:3]) == [127] * 3
