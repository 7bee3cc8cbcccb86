"""Monitoring: one model applied to two periods, one promoted map per period, and the change
map between them (classes, counts and areas on the ellipsoid, zones, export)."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from conftest import snapshot

P2019 = "2019-01-01/2019-12-31"
P2024 = "2024-01-01/2024-12-31"


@pytest.fixture
def two_periods(cli):
    """The sample's two periods as dated feature sets; run 1 trained on 2019 (map 1), applied to
    2024 (map 2): the test's database is a clone of the session's `two_periods_template`."""
    return cli


def _probabilities(pg, map_id):
    return dict(
        pg.execute(
            "SELECT tile_id, probability FROM asmdb.predictions WHERE map_id = %s", (map_id,)
        ).fetchall()
    )


def _expected_class(p_from, p_to, t, d):
    if p_from is None or p_to is None:
        return "no_data"
    if p_from < t <= p_to and p_to - p_from >= d:
        return "new"
    if p_to < t <= p_from and p_from - p_to >= d:
        return "gone"
    return "persistent" if p_from >= t else "absent"


def _ellipsoid_km2(pg, tile_ids):
    """Each tile's area on WGS 84 by GeographicLib (pyproj), not by PostGIS."""
    geod = Geod(ellps="WGS84")
    rows = pg.execute(
        "SELECT tile_id, ST_AsBinary(geom) FROM asmdb.tiles WHERE tile_id = ANY(%s)",
        (list(tile_ids),),
    ).fetchall()
    return {t: abs(geod.geometry_area_perimeter(shapely.from_wkb(g))[0]) / 1e6 for t, g in rows}


@pytest.mark.slow
def test_each_period_keeps_its_promoted_map_and_the_newest_is_latest(two_periods, pg):
    cli = two_periods
    listed = {m["map_id"]: m for m in json.loads(cli("maps", "list", "--json").stdout)}
    assert {k: (m["period_start"], m["period_end"], m["promoted"]) for k, m in listed.items()} == {
        1: ("2019-01-01", "2019-12-31", True),
        2: ("2024-01-01", "2024-12-31", True),
    }
    assert (listed[1]["shown"], listed[2]["shown"]) == (False, True)
    # latest_predictions: the newest period's map, even though 2019's was promoted after it.
    assert cli("maps", "promote", "1").code == 0
    assert pg.execute("SELECT DISTINCT map_id FROM asmdb.latest_predictions").fetchall() == [(2,)]
    rows = pg.execute(
        "SELECT map_id, period_start::text, count(*), count(DISTINCT map_tile_id) "
        "FROM asmdb.maps_by_period GROUP BY 1, 2 ORDER BY 1"
    ).fetchall()
    n = len(_probabilities(pg, 1))
    assert rows == [(1, "2019-01-01", n, n), (2, "2024-01-01", n, n)]
    columns = [
        r[0]
        for r in pg.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'asmdb.maps_by_period'::regclass "
            "AND attnum > 0 ORDER BY attnum"
        )
    ]
    assert columns[:7] == [
        "map_tile_id", "tile_id", "map_id", "period_start", "period_end", "probability", "geom"
    ]  # fmt: skip
    assert pg.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'asmdb.maps_by_period'::regclass AND attname = 'map_tile_id'"
    ).fetchone() == ("bigint",)
    # Fetched by its key (QGIS, tipg), a feature is found through an index.
    key = pg.execute("SELECT max(map_tile_id) FROM asmdb.maps_by_period").fetchone()[0]
    pg.execute("SET enable_seqscan = off")
    plan = " ".join(
        r[0]
        for r in pg.execute(
            "EXPLAIN SELECT * FROM asmdb.maps_by_period WHERE map_tile_id = %s", (key,)
        )
    )
    pg.execute("RESET enable_seqscan")
    assert "map_tile_id_idx" in plan, plan

    # A second 2024 map replaces the first in its period only.
    again = cli("predict", "--run", "1", "--feature-set", "y2024", "--json")
    assert json.loads(again.stdout)["map_id"] == 3
    shown = pg.execute("SELECT DISTINCT map_id FROM asmdb.maps_by_period ORDER BY 1").fetchall()
    assert shown == [(1,), (3,)]
    promoted = cli("maps", "promote", "2")
    assert "asmdb.latest_predictions shows its" in promoted.stdout
    shown = pg.execute("SELECT DISTINCT map_id FROM asmdb.maps_by_period ORDER BY 1").fetchall()
    assert shown == [(1,), (2,)]
    promoted = cli("maps", "promote", "1")
    assert "latest_predictions shows the map of a newer period" in promoted.stdout


@pytest.mark.slow
@pytest.mark.parametrize("threshold, min_delta", [(0.5, 0.0), (0.3, 0.15)])
def test_change_classes_counts_and_areas_match_a_direct_computation(
    two_periods, pg, threshold, min_delta
):
    done = two_periods(
        "change", "--from", "1", "--to", "2",
        "--threshold", str(threshold), "--min-delta", str(min_delta), "--json",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"change_id", "from_map", "to_map", "threshold", "classes"}
    assert (result["from_map"], result["to_map"], result["threshold"]) == (1, 2, threshold)
    assert list(result["classes"]) == ["new", "gone", "persistent", "absent", "no_data"]

    a, b = _probabilities(pg, 1), _probabilities(pg, 2)
    expected = {t: _expected_class(a.get(t), b.get(t), threshold, min_delta) for t in a | b}
    areas = _ellipsoid_km2(pg, expected)
    for name, totals in result["classes"].items():
        tiles = [t for t, c in expected.items() if c == name]
        assert totals["tiles"] == len(tiles), name
        assert totals["km2"] == pytest.approx(sum(areas[t] for t in tiles), rel=1e-9, abs=1e-9)
    assert result["classes"]["new"]["tiles"] > 0 and result["classes"]["gone"]["tiles"] > 0

    stored = dict(
        pg.execute(
            "SELECT tile_id, class FROM asmdb.latest_change WHERE change_id = %s",
            (result["change_id"],),
        ).fetchall()
    )
    assert stored == expected
    # A 0.01-degree tile at 8.4 degrees north is about 1.22 km2 on the ellipsoid.
    assert pg.execute("SELECT min(area_km2), max(area_km2) FROM asmdb.latest_change").fetchone()[
        0
    ] == pytest.approx(1.2175, abs=0.002)
    row = pg.execute(
        "SELECT p_from, p_to, delta FROM asmdb.latest_change ORDER BY tile_id LIMIT 1"
    ).fetchone()
    assert row[2] == row[1] - row[0]


def _change(cli, *args) -> dict:
    done = cli("change", "--from", "1", "--to", "2", *args, "--json")
    assert done.code == 0, done.stderr
    return json.loads(done.stdout)


def test_min_delta_0_counts_every_crossing_and_says_so(two_periods, pg):
    result = _change(two_periods, "--min-delta", "0")
    assert (result["min_delta"], result["held_back"]) == (0.0, 0)
    assert result["min_delta_rule"] == "given: --min-delta 0"
    a, b = _probabilities(pg, 1), _probabilities(pg, 2)
    stored = dict(
        pg.execute(
            "SELECT tile_id, class FROM asmdb.change_tiles WHERE change_id = %s",
            (result["change_id"],),
        ).fetchall()
    )
    assert stored == {t: _expected_class(a.get(t), b.get(t), 0.5, 0.0) for t in a | b}


def test_auto_min_delta_holds_back_the_crossings_within_the_noise(two_periods, pg):
    """The default, `--min-delta auto`: 1.96 robust standard deviations of p_to - p_from over
    the tiles whose p_from lies within 0.25 of the threshold; a tile crossing by less keeps its
    earlier class."""
    result = _change(two_periods)
    a, b = _probabilities(pg, 1), _probabilities(pg, 2)
    near = np.array([b[t] - a[t] for t in a if abs(a[t] - 0.5) < 0.25])
    spread = 1.4826 * np.median(np.abs(near - np.median(near)))
    assert result["min_delta"] == pytest.approx(round(1.96 * spread, 3))
    assert result["min_delta"] > 0.1
    assert result["min_delta_rule"].startswith("auto: 1.96 x the robust standard deviation")
    assert f"over the {len(near)} tiles" in result["min_delta_rule"]
    d = result["min_delta"]
    held = [t for t in a if (a[t] < 0.5) != (b[t] < 0.5) and abs(b[t] - a[t]) < d]
    assert result["held_back"] == len(held) > 0
    stored = dict(
        pg.execute(
            "SELECT tile_id, class FROM asmdb.change_tiles WHERE change_id = %s",
            (result["change_id"],),
        ).fetchall()
    )
    assert stored == {t: _expected_class(a[t], b[t], 0.5, d) for t in a}
    assert {stored[t] for t in held} <= {"persistent", "absent"}
    for t in held:
        assert stored[t] == ("persistent" if a[t] >= 0.5 else "absent")
    # Stored with the change: `change show`-style reads give the same.
    assert pg.execute(
        "SELECT min_delta, min_delta_rule, held_back FROM asmdb.changes WHERE change_id = %s",
        (result["change_id"],),
    ).fetchone() == (d, result["min_delta_rule"], result["held_back"])
    bad = two_periods("change", "--from", "1", "--to", "2", "--min-delta", "often")
    assert bad.code == 1 and "--min-delta often" in bad.stderr


def test_auto_min_delta_cuts_the_spurious_new_and_gone_tiles_of_the_sample(two_periods, pg, sample):
    """On the sample's two periods, whose truth is known, the tiles mapped new or gone that
    did not change so are fewer with the default than with --min-delta 0."""
    first = dict(pd.read_csv(sample.truth).itertuples(index=False, name=None))
    later = dict(pd.read_csv(sample.later_truth).itertuples(index=False, name=None))
    truth = {(0, 1): "new", (1, 0): "gone", (1, 1): "persistent", (0, 0): "absent"}

    def spurious(change_id):
        rows = pg.execute(
            "SELECT t.image_id, c.class FROM asmdb.change_tiles AS c JOIN asmdb.tiles AS t "
            "USING (tile_id) WHERE c.change_id = %s AND c.class IN ('new', 'gone')",
            (change_id,),
        ).fetchall()
        return sum(1 for i, k in rows if truth[(first[i], later[i])] != k)

    every = spurious(_change(two_periods, "--min-delta", "0")["change_id"])
    auto = spurious(_change(two_periods)["change_id"])
    assert every > 0 and auto < 0.6 * every, (every, auto)


def test_a_tile_missing_from_one_map_is_no_data(two_periods, pg):
    gone_tile = pg.execute(
        "SELECT max(tile_id) FROM asmdb.predictions WHERE map_id = 2"
    ).fetchone()[0]
    pg.execute("DELETE FROM asmdb.predictions WHERE map_id = 2 AND tile_id = %s", (gone_tile,))
    result = json.loads(two_periods("change", "--from", "1", "--to", "2", "--json").stdout)
    assert result["classes"]["no_data"]["tiles"] == 1
    assert pg.execute(
        "SELECT class, p_from IS NOT NULL, p_to IS NULL, delta IS NULL FROM asmdb.latest_change "
        "WHERE tile_id = %s",
        (gone_tile,),
    ).fetchone() == ("no_data", True, True, True)


def test_bad_change_requests_are_one_line_and_change_nothing(two_periods, pg, tmp_path):
    before = snapshot(pg)
    for args, message in [
        (("--from", "1", "--to", "1"), "both map 1"),
        (("--from", "1", "--to", "9"), "no map 9"),
        (("--from", "1", "--to", "2", "--threshold", "0"), "--threshold 0.0: must be above 0"),
        (("--from", "1", "--to", "2", "--threshold", "nan"), "--threshold nan"),
        (("--from", "1", "--to", "2", "--min-delta", "-0.1"), "--min-delta -0.1"),
        (("--from", "1", "--to", "2", "--zones", str(tmp_path / "none.gpkg")), "go together"),
        (
            ("--from", "1", "--to", "2", "--zones", str(tmp_path / "none.gpkg"),
             "--zone-field", "name"),
            "none.gpkg: no such file",
        ),
    ]:  # fmt: skip
        done = two_periods("change", *args)
        assert done.code != 0, args
        assert message in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert snapshot(pg) == before


@pytest.mark.slow
def test_a_zones_file_that_is_not_polygons_is_one_line_and_changes_nothing(
    two_periods, pg, tmp_path
):
    """A CSV (no geometry), points, a zone without a name, coordinates that are not finite:
    one line naming the file (and row, and column), exit 1, nothing stored; `review estimate
    --zones` reads zones the same way."""
    zone = shapely.box(-13.5, 7.5, -12, 9)
    table = tmp_path / "zones.csv"
    table.write_text("name,population\nWest,120000\n")
    points = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(
        {"name": ["West", "East"]}, geometry=[zone, shapely.Point(-12, 8)], crs=4326
    ).to_file(points)
    unnamed = tmp_path / "unnamed.gpkg"
    gpd.GeoDataFrame({"name": ["West", None]}, geometry=[zone, zone], crs=4326).to_file(unnamed)
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame(
        {"name": ["Far"]}, geometry=[shapely.box(0, 0, 1e30, 1e30)], crs=32629
    ).to_file(far)
    before = snapshot(pg)
    for path, where, message in [
        (table, "", "has no geometry: zones are polygons in a vector file"),
        (points, " (row 2)", "zones must be polygons, found Point"),
        (unnamed, " (row 2, column 'name')", "the zone has no name"),
        (far, " (row 1)", "coordinates that are not finite numbers"),
    ]:
        zones = ("--zones", str(path), "--zone-field", "name")
        for args in (
            ("change", "--from", "1", "--to", "2"),
            ("review", "estimate", "--change", "1"),
        ):
            done = two_periods(*args, *zones)
            assert done.code == 1 and "Traceback" not in done.stderr, (path, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"error: {path}{where}: {message}"), (
                lines
            )
        assert snapshot(pg) == before


def test_zones_get_exact_mapped_areas_per_class(two_periods, pg, tmp_path):
    """Two zones splitting the area down a meridian through tile centres: each tile on the line
    counts half its area on each side, and its count on the side holding its centre."""
    west, south, east, north = pg.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM asmdb.tiles) AS x"
    ).fetchone()
    cut = round((west + east) / 2, 3) + 0.001  # east of a centre line, inside a tile column
    zones = gpd.GeoDataFrame(
        {"district": ["West", "East"]},
        geometry=[
            shapely.box(west - 1, south - 1, cut, north + 1),
            shapely.box(cut, south - 1, east + 1, north + 1),
        ],
        crs=4326,
    ).to_crs(32629)  # any CRS: reprojected to the tiles'
    path = tmp_path / "districts.gpkg"
    zones.to_file(path)
    done = two_periods(
        "change", "--from", "1", "--to", "2", "--zones", str(path), "--zone-field", "district",
        "--json",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    by_zone = {z["zone"]: z["classes"] for z in result["zones"]}
    assert set(by_zone) == {"East", "West"}
    for name, totals in result["classes"].items():
        assert by_zone["East"][name]["tiles"] + by_zone["West"][name]["tiles"] == totals["tiles"]
        # Reprojection bends the cut slightly: the sum of both sides is the whole, to 0.1%.
        both = by_zone["East"][name]["km2"] + by_zone["West"][name]["km2"]
        assert both == pytest.approx(totals["km2"], rel=1e-3, abs=1e-6)
    text = two_periods(
        "change", "--from", "1", "--to", "2", "--zones", str(path), "--zone-field", "district"
    )
    assert "East" in text.stdout and "West" in text.stdout
    missing = two_periods(
        "change", "--from", "1", "--to", "2", "--zones", str(path), "--zone-field", "name"
    )
    assert missing.code == 1 and "columns: district" in missing.stderr


def test_export_change_writes_one_styled_polygon_per_tile(two_periods, pg, tmp_path):
    made = json.loads(two_periods("change", "--from", "1", "--to", "2", "--json").stdout)
    out = tmp_path / "change.gpkg"
    done = two_periods("export", "change", str(out))
    assert done.code == 0, done.stderr
    frame = gpd.read_file(out, layer="change")
    assert list(frame.columns[:5]) == ["tile_id", "p_from", "p_to", "delta", "class"]
    stored = dict(pg.execute("SELECT tile_id, class FROM asmdb.latest_change").fetchall())
    assert dict(zip(frame["tile_id"], frame["class"], strict=True)) == stored
    assert np.all(frame.geometry.geom_type == "Polygon")
    import sqlite3

    with sqlite3.connect(out) as db:
        style = db.execute("SELECT styleQML FROM layer_styles").fetchone()[0]
    assert "new" in style and "gone" in style
    by_id = two_periods("export", "change", "--change", str(made["change_id"]), str(out))
    assert by_id.code == 0, by_id.stderr


@pytest.mark.qgis
def test_qgis_steps_through_the_periods_and_shows_the_change_styled(
    two_periods, pg, db_url, tmp_path, sample
):
    from qgis_run import run_qgis

    assert two_periods("change", "--from", "1", "--to", "2").code == 0
    # A map of unknown period, promoted in its own (undated) period: not in any frame.
    assert (
        two_periods("ingest", "features", str(sample.features), "--feature-set", "undated").code
        == 0
    )
    assert two_periods("predict", "--run", "1", "--feature-set", "undated").code == 0
    assert two_periods("qgis", "install").code == 0
    dbname = db_url.rsplit("/", 1)[1]
    seen = run_qgis(
        {
            "project": f"postgresql://postgres@127.0.0.1:5432?dbname={dbname}&schema=asmdb"
            "&project=asmdb",
            "temporal_frames": [
                ["2019-06-01", "2019-06-30"],
                ["2024-12-31", "2024-12-31"],
                ["2021-01-01", "2021-12-31"],
            ],
        },
        tmp_path,
    )
    project = seen["project"]
    assert project["read"], seen["messages"]
    layers = {layer["name"]: layer for layer in project["layers"]}
    by_period = layers["ASM probability by period (Temporal Controller)"]
    assert by_period["valid"] and by_period["temporal"], seen["messages"]
    n = len(_probabilities(pg, 1))
    frames = project["temporal_frames"]["ASM probability by period (Temporal Controller)"]
    assert [(f["count"], f["periods"]) for f in frames] == [
        (n, ["2019-01-01"]),
        (n, ["2024-01-01"]),  # the period's last day is in it
        (0, []),
    ], frames
    change = layers["Change in mapped ASM (newest change)"]
    assert change["valid"] and change["feature_count"] == n
    assert change["renderer"] == "categorizedSymbol" and change["class_attribute"] == "class"
    assert change["categories"] == ["new", "gone", "persistent", "absent", "no_data"]


def test_periods_revision_down_and_up_keeps_every_map_with_data_in_place(two_periods, engine, pg):
    from asm_db.db.engine import downgrade, head_revision, upgrade

    assert two_periods("change", "--from", "1", "--to", "2").code == 0
    rows = "SELECT map_id, tile_id, score, probability, ST_AsBinary(geom) FROM asmdb.predictions ORDER BY 1, 2"
    before = pg.execute(rows).fetchall()
    assert two_periods("maps", "promote", "1").code == 0  # promoted last: 2019's map

    assert downgrade(engine, "0013") == "0013"
    assert pg.execute("SELECT to_regclass('asmdb.changes'), to_regclass('asmdb.change_tiles'), "
                      "to_regclass('asmdb.maps_by_period')").fetchone() == (None, None, None)  # fmt: skip
    assert pg.execute(rows).fetchall() == before
    # Before periods, the map promoted last is the one shown.
    assert pg.execute("SELECT DISTINCT map_id FROM asmdb.latest_predictions").fetchall() == [(1,)]

    assert upgrade(engine) == head_revision()
    assert pg.execute(rows).fetchall() == before
    keys = pg.execute(
        "SELECT count(*), count(DISTINCT map_tile_id), min(map_tile_id) > 0 FROM asmdb.predictions"
    ).fetchone()
    assert keys == (len(before), len(before), True)
    # With periods, the newest period's promoted map is shown.
    assert pg.execute("SELECT DISTINCT map_id FROM asmdb.latest_predictions").fetchall() == [(2,)]
    result = json.loads(two_periods("change", "--from", "1", "--to", "2", "--json").stdout)
    assert result["change_id"] == 1


@pytest.mark.slow
def test_report_shows_each_period_the_change_and_its_areas(two_periods, tmp_path):
    single = tmp_path / "single.html"
    assert two_periods("report", "1", str(single)).code == 0
    assert "Maps by period" in single.read_text() and "No change map" in single.read_text()
    result = json.loads(two_periods("change", "--from", "1", "--to", "2", "--json").stdout)
    out = tmp_path / "report.html"
    done = two_periods("report", "1", str(out))
    assert done.code == 0, done.stderr
    text = out.read_text()
    assert "alt='map-1'" in text and "alt='map-2'" in text and "alt='change-1'" in text
    assert "2019-01-01/2019-12-31" in text and "2024-01-01/2024-12-31" in text
    new = result["classes"]["new"]
    assert (
        f'<td>new</td><td class="n">{new["tiles"]}</td><td class="n">{round(new["km2"], 2)}</td>'
        in text
    )


@pytest.mark.slow  # featurizes two scenes
def test_from_imagery_of_two_periods_to_a_change_map(cli, pg, sample):
    """The whole monitoring path on imagery: featurize one period, train, featurize the later
    scene with the same featurizer (--like), predict, change; mining opened where the truth
    says it did."""
    import pandas as pd

    assert cli("ingest", "labels", str(sample.labels)).code == 0
    first = cli(
        "featurize", str(sample.imagery), "--feature-set", "s2-2019", "--features", "64",
        "--period", P2019, "--workers", "0",
    )  # fmt: skip
    assert first.code == 0, first.stderr
    later = cli(
        "featurize", str(sample.later_imagery), "--feature-set", "s2-2024", "--like", "s2-2019",
        "--period", P2024, "--workers", "0",
    )  # fmt: skip
    assert later.code == 0, later.stderr
    trained = cli("train", "--feature-set", "s2-2019", "--cv", "seed", "--bootstrap", "0", "--json")
    assert trained.code == 0, trained.stderr
    predicted = cli("predict", "--run", "1", "--feature-set", "s2-2024", "--json")
    assert predicted.code == 0, predicted.stderr
    to_map = json.loads(predicted.stdout)["map_id"]
    done = cli("change", "--from", "1", "--to", str(to_map), "--json")
    assert done.code == 0, done.stderr
    classes = json.loads(done.stdout)["classes"]
    assert classes["new"]["tiles"] > 0 and classes["gone"]["tiles"] > 0

    first_truth = dict(pd.read_csv(sample.truth).itertuples(index=False, name=None))
    later_truth = dict(pd.read_csv(sample.later_truth).itertuples(index=False, name=None))
    from asm_db.ingest.sample import image_id

    mapped = {
        image_id(lat, lon): c
        for lat, lon, c in pg.execute(
            "SELECT t.lat, t.lon, c.class FROM asmdb.latest_change AS c JOIN asmdb.tiles AS t "
            "USING (tile_id)"
        ).fetchall()
    }
    opened = {i for i in mapped if later_truth[i] and not first_truth[i]}
    closed = {i for i in mapped if first_truth[i] and not later_truth[i]}
    new = {i for i, c in mapped.items() if c == "new"}
    gone = {i for i, c in mapped.items() if c == "gone"}
    # New mining is mapped where mining truly opened far more often than by chance (at least
    # five times the share of such tiles), and gone mining where it closed.
    assert len(new & opened) / len(new) > 5 * len(opened) / len(mapped), (new & opened, opened)
    assert len(gone & closed) / len(gone) > 5 * len(closed) / len(mapped), (gone & closed, closed)


def test_change_warns_when_one_map_has_no_mining_and_the_other_much(two_periods, pg):
    """A later map with no tile at or above the threshold (every probability 0, as a period
    featurized on another scale gives) against one with many: one warning line on stderr."""
    cli = two_periods
    usual = cli("change", "--from", "1", "--to", "2")
    assert usual.code == 0 and "warning" not in usual.stderr, usual.stderr
    mining = pg.execute(
        "SELECT count(*) FROM asmdb.predictions WHERE map_id = 1 AND probability >= 0.5"
    ).fetchone()[0]
    assert mining >= 10
    pg.execute("UPDATE asmdb.predictions SET probability = 0 WHERE map_id = 2")
    warned = cli("change", "--from", "1", "--to", "2")
    assert warned.code == 0, warned.stderr
    assert [line for line in warned.stderr.splitlines() if "warning" in line] == [
        f"warning: map 2 has no tile at or above 0.5, map 1 has {mining:,} "
        f"({mining / 576:.0%} of its tiles): check that both periods were featurized alike "
        "(`asmdb featurize --like`, --scale, --offset) before trusting the change"
    ]
    backwards = cli("change", "--from", "2", "--to", "1")
    assert "warning: map 2 has no tile at or above 0.5" in backwards.stderr


def test_zones_may_overlap_repeat_a_name_or_carry_heights(two_periods, pg, tmp_path):
    west, south, east, north = pg.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM asmdb.tiles) AS x"
    ).fetchone()
    mid = (west + east) / 2
    everything = shapely.box(west - 1, south - 1, east + 1, north + 1)
    zones = gpd.GeoDataFrame(
        {"name": ["All", "All", "Half"]},
        geometry=[
            # One zone given as two overlapping features: counted once.
            shapely.box(west - 1, south - 1, mid + 0.05, north + 1),
            shapely.box(mid - 0.05, south - 1, east + 1, north + 1),
            # With heights (a 3D polygon), inside "All".
            shapely.force_3d(shapely.box(west - 1, south - 1, mid, north + 1), 100.0),
        ],
        crs=4326,
    )
    assert shapely.equals(shapely.union_all(zones.geometry[:2]), everything)
    path = tmp_path / "zones.gpkg"
    zones.to_file(path)
    done = two_periods(
        "change", "--from", "1", "--to", "2", "--zones", str(path), "--zone-field", "name", "--json"
    )
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    by_zone = {z["zone"]: z["classes"] for z in result["zones"]}
    for name, totals in result["classes"].items():
        assert by_zone["All"][name]["tiles"] == totals["tiles"]
        assert by_zone["All"][name]["km2"] == pytest.approx(totals["km2"], rel=1e-9, abs=1e-9)
        assert 0 <= by_zone["Half"][name]["km2"] <= totals["km2"]
    assert (
        0
        < sum(c["tiles"] for c in by_zone["Half"].values())
        < sum(c["tiles"] for c in result["classes"].values())
    )


def test_a_change_backwards_in_time_says_so(two_periods):
    done = two_periods("change", "--from", "2", "--to", "1")
    assert done.code == 0, done.stderr
    assert "map 2 (2024-01-01) is of a later period than map 1" in done.stderr


def test_the_qgis_style_the_plots_and_the_page_draw_the_one_set_of_change_classes():
    import xml.etree.ElementTree as ET

    from asm_db import layers
    from asm_db.change.classes import CHANGE_CLASSES, CLASSES, SAMPLED_CLASSES
    from asm_db.db.sqlfiles import load_sql
    from asm_db.publish import plots, qml

    assert CLASSES == ("new", "gone", "persistent", "absent", "no_data")
    style = ET.fromstring(qml.change_qml().split("\n", 1)[1])
    categories = style.findall(".//categories/category")
    assert [(c.get("value"), c.get("label")) for c in categories] == [
        (c.name, c.description) for c in CHANGE_CLASSES
    ]
    colors = [s.find(".//Option[@name='color']").get("value") for s in style.iter("symbol")]
    assert colors[: len(CHANGE_CLASSES)] == [",".join(map(str, c.rgba)) for c in CHANGE_CLASSES]
    assert set(plots.CHANGE_CODES) == set(CLASSES)
    assert plots.CHANGE_COLORS[plots.CHANGE_CODES["new"]] == tuple(
        v / 255 for v in CHANGE_CLASSES[0].rgba[:3]
    )
    paint = layers.BY_COLLECTION["asmdb.latest_change"].web.paint["fill-color"]
    drawn = dict(zip(paint[2:-1:2], paint[3:-1:2], strict=True))
    assert drawn == {c.name: c.color for c in CHANGE_CLASSES if c.opacity > 0}
    assert "absent" not in drawn and paint[-1] == "rgba(0,0,0,0)"
    assert SAMPLED_CLASSES == CLASSES[:4]
    assert "'persistent'" not in load_sql("review/change_strata")
