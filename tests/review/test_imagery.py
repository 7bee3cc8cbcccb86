"""`review export --imagery`: the review GeoPackage carries, per period, the registered imagery
best matching it around each queued tile, true colour as the registry stretches it; the rest of
the file is what it is without it, and a period no imagery shows writes nothing."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
from geopandas.testing import assert_geodataframe_equal
from rasterio.warp import transform as warp_points
from shapely.geometry import box

from asm_db.ingest.sample import ORIGIN_LAT, ORIGIN_LON, TILE
from asm_db.review.imagery import BLOCK, MARGIN_TILES

from rasters import write_4326, write_utm

# The sample's 24 x 24 tiles; the imagery covers them at 0.0002 degrees (50 pixels a tile).
REGION = (ORIGIN_LON, ORIGIN_LAT, ORIGIN_LON + 24 * TILE, ORIGIN_LAT + 24 * TILE)
RES = 0.0002
# A map queue of hotspots alone (the sample's are all near labels: no distance asked), N more.
# Run 1's map of its own feature set is map 1, of 2019 (the promoted map is map 2, of 2024).
HOTSPOTS = ("--run", "1", "--uncertain", "0", "--per-stratum", "0", "--min-label-distance", "0")
HOTSPOTS += ("--hotspots",)


def _ok(done):
    assert done.code == 0, done.stderr
    return done


@pytest.fixture
def two_periods(cli):
    """`asmdb` on a clone of the session's `two_periods_template`: run 1 trained on 2019
    (map 1), applied to 2024 (map 2)."""
    return cli


@pytest.fixture(scope="module")
def imagery_files(tmp_path_factory) -> dict[str, list[Path]]:
    """Rasters of the sample's region, by the name they are registered under: 2019 as two 4326
    files (west and east halves) with bands named red, green, blue; 2024 as one UTM file with
    unnamed bands; and a coarse one, registered for 2018-2020 (a wider match of 2019)."""
    folder = tmp_path_factory.mktemp("imagery")
    w, s, e, n = REGION
    middle = w + 12 * TILE
    files = {
        "y2019": [
            write_4326(folder / "west.tif", bounds=(w, s, middle, n), res=RES),
            write_4326(folder / "east.tif", bounds=(middle, s, e, n), res=RES),
        ],
        "y2024": [write_utm(folder / "later.tif", bounds=REGION, res=22.0)],
        "wide": [write_4326(folder / "wide.tif", bounds=REGION, res=0.001)],
    }
    for path in files["y2019"]:
        with rasterio.open(path, "r+") as dst:
            dst.descriptions = ("red", "green", "blue")
    return files


@pytest.fixture
def registered(two_periods, imagery_files):
    """The imagery files registered for their periods."""
    for name, period in (
        ("y2019", "2019-01-01/2019-12-31"),
        ("y2024", "2024-01-01/2024-12-31"),
        ("wide", "2018-01-01/2020-12-31"),
    ):
        files = map(str, imagery_files[name])
        _ok(two_periods("imagery", "add", name, *files, "--period", period))
    return imagery_files


def _stretch(cli, name: str, bands: tuple[str, ...]) -> list[tuple[float, float]]:
    """The registry's stretch of the bands shown as red, green and blue, in that order."""
    recorded = json.loads(_ok(cli("imagery", "show", name, "--json")).stdout)["stretch"]
    return [tuple(recorded[b]) for b in bands]


def _source_values(files: list[Path], x: float, y: float) -> np.ndarray:
    """The stored numbers of the last file holding (x, y) (lon, lat) at its pixel there."""
    found = None
    for path in files:
        with rasterio.open(path) as src:
            (sx,), (sy,) = warp_points("EPSG:4326", src.crs, [x], [y])
            row, col = src.index(sx, sy)
            if 0 <= row < src.height and 0 <= col < src.width:
                found = src.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0]
    assert found is not None
    return found.astype(np.float64)


def _stretched(values: np.ndarray, stretch: list[tuple[float, float]]) -> list[int]:
    """The 0-255 value of each band: linear from the stretch's low to its high, clipped."""
    return [
        int(np.floor((np.clip(v, lo, hi) - lo) / (hi - lo) * 255))
        for v, (lo, hi) in zip(values, stretch, strict=True)
    ]


def _raster_tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'tiles' ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def _tile_rows(path: Path, table: str) -> set[tuple[int, int]]:
    with sqlite3.connect(path) as db:
        return set(db.execute(f'SELECT tile_row, tile_column FROM "{table}"').fetchall())


def _check_layer(path, table, queued, files, stretch):
    """The raster table's pixels at each queued tile's centre equal the stretched source; it
    stores exactly the GeoPackage tiles meeting a queued tile's window."""
    with rasterio.open(f"GPKG:{path}:{table}") as raster:
        assert (raster.count, raster.crs.to_epsg()) == (4, 4326)
        for tile in queued.geometry:
            row, col = raster.index(tile.centroid.x, tile.centroid.y)
            x, y = raster.xy(row, col)  # the pixel's centre, where the source is sampled
            pixel = raster.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0]
            assert pixel[3] == 255
            assert list(pixel[:3]) == _stretched(_source_values(files, x, y), stretch)
        step = BLOCK * raster.res[0]
        west, north = raster.transform.c, raster.transform.f
        windows = [
            box(*tile.buffer(MARGIN_TILES * TILE, join_style="mitre").bounds)
            for tile in queued.geometry
        ]
        expected = {
            (r, c)
            for r in range(raster.height // BLOCK)
            for c in range(raster.width // BLOCK)
            if any(
                box(
                    west + c * step, north - (r + 1) * step, west + (c + 1) * step, north - r * step
                )
                .intersection(w)
                .area
                > 0
                for w in windows
            )
        }
    stored = _tile_rows(path, table)
    assert stored == expected
    return stored


def test_a_map_review_file_carries_its_periods_imagery_around_the_queued_tiles(
    cli, registered, tmp_path
):
    _ok(cli("review", "queue", *HOTSPOTS, "2"))
    plain, out = tmp_path / "plain.gpkg", tmp_path / "review.gpkg"
    _ok(cli("review", "export", str(plain), "--run", "1"))
    done = _ok(cli("review", "export", str(out), "--run", "1", "--imagery"))
    lines = done.stdout.splitlines()
    assert lines[0] == f"{out}: 2 tiles to review"
    assert lines[1].startswith(
        "imagery: 'y2019' (2019-01-01/2019-12-31) for map 1's period 2019-01-01/2019-12-31 "
        "(best match of 2; also: wide); red, green, blue as RGB; covers 2 of 2 tiles;"
    )
    # The vector layers are those the export writes without imagery (the queue, its style).
    layers = [list(r) for r in pyogrio.list_layers(out)]
    assert layers == [list(r) for r in pyogrio.list_layers(plain)]
    assert ["review_queue", "Polygon"] in layers
    queued = gpd.read_file(out, layer="review_queue")
    assert_geodataframe_equal(queued, gpd.read_file(plain, layer="review_queue"))
    assert (_raster_tables(out), _raster_tables(plain)) == (["imagery"], [])
    stretch = _stretch(cli, "y2019", ("red", "green", "blue"))
    stored = _check_layer(out, "imagery", queued, registered["y2019"], stretch)
    # Two tiles store at most 2 x 2 GeoPackage tiles each, of the region's 5 x 5.
    assert 2 <= len(stored) <= 8
    assert lines[1].endswith(f"; {len(stored)} image tiles")


@pytest.mark.slow
def test_a_change_review_file_carries_both_periods_imagery(cli, registered, tmp_path):
    _ok(cli("change", "--from", "1", "--to", "2"))
    _ok(cli("review", "queue", "--change", "1", "--sample-size", "8", "--min-per-stratum", "2"))
    out = tmp_path / "change.gpkg"
    done = _ok(cli("review", "export", str(out), "--change", "1", "--imagery"))
    lines = done.stdout.splitlines()
    assert lines[1].startswith(
        "imagery_from: 'y2019' (2019-01-01/2019-12-31) for map 1's period "
        "2019-01-01/2019-12-31 (from) (best match of 2; also: wide); red, green, blue as RGB"
    )
    assert lines[2].startswith(
        "imagery_to: 'y2024' (2024-01-01/2024-12-31) for map 2's period "
        "2024-01-01/2024-12-31 (to) (best match); b1, b2, b3 as RGB"
    )
    assert _raster_tables(out) == ["imagery_from", "imagery_to"]
    queued = gpd.read_file(out, layer="review_queue")
    assert len(queued) == 8 and "answer_from" in queued.columns
    for table, name, bands in (
        ("imagery_from", "y2019", ("red", "green", "blue")),
        ("imagery_to", "y2024", ("b1", "b2", "b3")),
    ):
        _check_layer(out, table, queued, registered[name], _stretch(cli, name, bands))
    # The file comes back as the export without imagery does: its raster tables are no layer.
    assert "0 reviews changed" in _ok(cli("review", "import", str(out))).stdout


def test_a_named_imagery_replaces_the_best_match(cli, registered, tmp_path):
    _ok(cli("review", "queue", *HOTSPOTS, "1"))
    out = tmp_path / "named.gpkg"
    done = _ok(cli("review", "export", str(out), "--run", "1", "--imagery-name", "wide"))
    assert "imagery: 'wide' (2018-01-01/2020-12-31) for map 1's period" in done.stdout
    assert "(named)" in done.stdout
    with rasterio.open(f"GPKG:{out}:imagery") as raster:
        assert raster.res == pytest.approx((0.001, 0.001))


def _nothing_written(folder: Path, before: set[Path]) -> None:
    assert set(folder.iterdir()) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--imagery-name", "nowhere"),
            "error: no imagery named 'nowhere' (see `asmdb imagery list`)",
        ),
        (
            ("--imagery-name", "y2019", "--imagery-name", "y2024"),
            "error: --imagery-name given 2 time(s): this file shows 1 period(s); give it once",
        ),
    ],
)
def test_a_wrong_imagery_name_is_one_line_and_writes_nothing(
    cli, two_periods, tmp_path, args, message
):
    _ok(cli("review", "queue", *HOTSPOTS, "1"))
    folder = tmp_path / "out"
    folder.mkdir()
    done = cli("review", "export", str(folder / "review.gpkg"), "--run", "1", *args)
    assert done.code != 0 and done.stderr.strip() == message
    _nothing_written(folder, set())


def test_no_imagery_for_the_period_is_one_line_and_leaves_the_old_file(cli, two_periods, tmp_path):
    _ok(cli("review", "queue", *HOTSPOTS, "1"))
    # Imagery of another period, and imagery of the period elsewhere, do not count.
    _ok(
        cli(
            "imagery", "add", "old", str(write_4326(tmp_path / "old.tif", bounds=REGION, res=0.001)),
            "--period", "2015-01-01/2015-12-31",
        )
    )  # fmt: skip
    far = (10.0, 10.0, 10.1, 10.1)
    _ok(
        cli(
            "imagery", "add", "far", str(write_4326(tmp_path / "far.tif", bounds=far, res=0.001)),
            "--period", "2019-01-01/2019-12-31",
        )
    )  # fmt: skip
    out = tmp_path / "review.gpkg"
    out.write_bytes(b"the last export")
    before = set(tmp_path.iterdir())
    done = cli("review", "export", str(out), "--run", "1", "--imagery")
    assert done.code != 0
    assert done.stderr.strip() == (
        "error: no registered imagery for map 1's period 2019-01-01/2019-12-31 (far match it "
        "but cover none of the queued tiles): `asmdb imagery add NAME FILE --period START/END` "
        "registers some, or export without --imagery"
    )
    assert out.read_bytes() == b"the last export"
    _nothing_written(tmp_path, before)


def test_a_scatter_of_tiles_far_apart_stores_only_the_imagery_around_them(tmp_path):
    from asm_db.imagery.registry import ImageryRecord
    from asm_db.publish.files import write_styled_gpkg
    from asm_db.review.imagery import TABLES, ImageryLayer, write_imagery_layer

    # Two queued tiles 12 degrees apart, each with imagery of its own; a hostile name.
    near = (-11.10, 8.50, -11.09, 8.51)
    far = (0.90, 20.50, 0.91, 20.51)
    files = [
        write_4326(tmp_path / "near.tif", bounds=(-11.14, 8.46, -11.05, 8.55), res=RES),
        write_4326(tmp_path / "far.tif", bounds=(0.86, 20.46, 0.95, 20.55), res=RES),
    ]
    name = "x'); DROP TABLE review_queue; --"
    record = ImageryRecord(
        name, None, None, (-11.14, 8.46, 0.95, 20.55), ["b1", "b2", "b3"], list(map(str, files)),
        [1.0] * 3, [0.0] * 3, stretch={"b1": [0, 5000], "b2": [0, 5000], "b3": [0, 5000]},
    )  # fmt: skip
    layer = ImageryLayer("map", TABLES["map"], 1, None, record, (), 2, 2, ("b1", "b2", "b3"))
    tiles = np.array([near, far])
    out = tmp_path / "scatter.gpkg"
    frame = gpd.GeoDataFrame({"review_id": [1, 2]}, geometry=[box(*near), box(*far)], crs=4326)

    written = []
    then = lambda path: written.append(write_imagery_layer(path, layer, tiles))  # noqa: E731
    write_styled_gpkg(frame, out, "review_queue", "<qgis/>", "style", then=then)
    with rasterio.open(f"GPKG:{out}:imagery") as raster:
        columns, rows = raster.width // BLOCK, raster.height // BLOCK
    assert columns * rows > 2000  # the extent: 12 x 12 degrees of 0.0002-degree pixels
    stored = _tile_rows(out, "imagery")
    assert len(stored) == written[0].stored <= 2 * 4  # the stored: 2 x 2 tiles around each
    assert out.stat().st_size < 2_000_000
    with sqlite3.connect(out) as db:
        identifier = db.execute(
            "SELECT identifier FROM gpkg_contents WHERE table_name = 'imagery'"
        ).fetchone()[0]
    assert identifier == name
    assert pyogrio.read_dataframe(out, layer="review_queue")["review_id"].tolist() == [1, 2]


@pytest.mark.qgis
@pytest.mark.slow
def test_qgis_opens_both_periods_imagery_of_a_change_review_file(cli, registered, tmp_path):
    from qgis_run import run_qgis

    _ok(cli("change", "--from", "1", "--to", "2"))
    _ok(cli("review", "queue", "--change", "1", "--sample-size", "4", "--min-per-stratum", "1"))
    out = tmp_path / "change.gpkg"
    _ok(cli("review", "export", str(out), "--change", "1", "--imagery"))
    centres = [
        [t.centroid.x, t.centroid.y] for t in gpd.read_file(out, layer="review_queue").geometry
    ]
    tables = ("imagery_from", "imagery_to")
    seen = run_qgis(
        {
            "layers": [
                {"name": "review_queue", "uri": f"{out}|layername=review_queue", "provider": "ogr"}
            ],
            "rasters": [{"name": t, "uri": f"GPKG:{out}:{t}", "points": centres} for t in tables],
            "render": str(tmp_path / "review.png"),
        },
        tmp_path,
    )
    assert seen["layers"][0]["valid"] and seen["layers"][0]["feature_count"] == 4
    for table, raster in zip(tables, seen["rasters"], strict=True):
        assert raster["valid"], seen["messages"]
        assert (raster["bands"], raster["crs"], raster["renderer"]) == (
            4,
            "EPSG:4326",
            "multibandcolor",
        )
        with rasterio.open(f"GPKG:{out}:{table}") as src:
            expected = [
                {str(b + 1): float(v) for b, v in enumerate(next(src.sample([tuple(c)])))}
                for c in centres
            ]
        assert raster["values"] == expected
    assert seen["render"]["colours"] > 20  # imagery drawn, not an empty map


def test_imagery_whose_file_is_gone_is_one_line_and_writes_nothing(cli, two_periods, tmp_path):
    _ok(cli("review", "queue", *HOTSPOTS, "1"))
    moved = write_4326(tmp_path / "moved.tif", bounds=REGION, res=0.001)
    _ok(cli("imagery", "add", "moved", str(moved), "--period", "2019-01-01/2019-12-31"))
    moved.unlink()
    before = set(tmp_path.iterdir())
    done = cli("review", "export", str(tmp_path / "review.gpkg"), "--run", "1", "--imagery")
    assert done.code != 0
    assert done.stderr.strip() == f"error: {moved}: does not exist"
    _nothing_written(tmp_path, before)


def _chosen_by_export(cli, out: Path) -> str:
    """The imagery `review export --imagery` writes for run 1's map (its summary line's name)."""
    done = _ok(cli("review", "export", str(out), "--run", "1", "--imagery"))
    return done.stdout.splitlines()[1].split("'")[1]


@pytest.mark.slow  # starts a web server
def test_the_web_page_and_the_export_choose_the_same_imagery(cli, db_url, two_periods, tmp_path):
    """`/api/imagery?period=&bbox=` (what the page draws) and `review export --imagery` rank by
    one rule: a year's imagery beats one of three years holding it (the page once took the
    wider, earlier one), and of two imagery of the same period the one covering the tile wins
    (by name the other would)."""
    import httpx
    import psycopg

    from conftest import drop_roles
    from web_server import as_role, serve

    _ok(cli("review", "queue", *HOTSPOTS, "1"))
    admin = db_url.replace("+psycopg", "")
    with psycopg.connect(admin) as pg:
        tile = pg.execute(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM asmdb.review_queue WHERE run_id = 1"
        ).fetchall()
    assert len(tile) == 1
    w, s, e, n = tile[0]
    period = "2019-01-01/2019-12-31"  # map 1's
    cases = [
        # (name, period, bounds) registered; the expected choice
        ([("a-span", "2018-01-01/2020-12-31", REGION), ("b-year", period, REGION)], "b-year"),
        ([("a-part", period, (REGION[0], REGION[1], (w + e) / 2, REGION[3])),
          ("b-whole", period, REGION)], "b-whole"),
    ]  # fmt: skip
    reader = f"rev_img_{uuid.uuid4().hex[:6]}"
    _ok(cli("roles", "create", "--name", reader))
    try:
        with serve(as_role(db_url, reader), "--public") as server:
            for k, (imagery, expected) in enumerate(cases):
                for name, dates, bounds in imagery:
                    path = write_4326(tmp_path / f"{name}.tif", bounds=bounds, res=0.001)
                    _ok(cli("imagery", "add", name, str(path), "--period", dates))
                r = httpx.get(
                    f"{server.url}/api/imagery",
                    params={"period": period, "bbox": f"{w},{s},{e},{n}"},
                    timeout=60,
                )
                assert r.status_code == 200, r.text
                ranked = [x["name"] for x in r.json()["imagery"]]
                assert ranked[0] == expected and len(ranked) == 2, ranked
                assert _chosen_by_export(cli, tmp_path / f"case{k}.gpkg") == expected
                for name, _, _ in imagery:
                    _ok(cli("imagery", "delete", name, "--yes"))
    finally:
        with psycopg.connect(admin, autocommit=True) as pg:
            pg.execute(f'DROP OWNED BY "{reader}", "{reader}_public"')
        drop_roles([reader, f"{reader}_public"])
