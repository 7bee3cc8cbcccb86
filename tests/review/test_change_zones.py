"""Change by zone, end to end on the sample's two periods: a change, its sample answered from the
truth, `review estimate --zones` on a small district file. The zones are kept with the change,
served as the public OGC collection `asmdb.zone_estimates`, exported as CSV and drawn on the web
page as a choropleth whose popup gives the interval."""

from __future__ import annotations

import csv
import json
import uuid

import geopandas as gpd
import httpx
import psycopg
import pyogrio
import pytest
from change_data import true_change as _truth
from shapely.geometry import box

from asm_db.review.change_zones import MIN_ZONE_REVIEWS

from conftest import drop_roles, invoke_asmdb, run_asmdb, throwaway_db
from web_server import as_role, serve

pytestmark = pytest.mark.slow
ANSWER = {
    "new": ("rejected", "confirmed"),
    "gone": ("confirmed", "rejected"),
    "persistent": ("confirmed", "confirmed"),
    "absent": ("rejected", "rejected"),
}


def _pg(url):
    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True)


def _districts(url, path):
    """West and East, split down a tile edge, and Corner, a few tiles in the south-west (too
    few reviews for an interval)."""
    with _pg(url) as pg:
        west, south, east, north, size = pg.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "
            "(SELECT ST_XMax(geom) - ST_XMin(geom) FROM asmdb.tiles LIMIT 1) FROM "
            "(SELECT ST_Extent(geom) AS e FROM asmdb.tiles) AS x"
        ).fetchone()
    cut = round((west + east) / 2, 2)
    zones = gpd.GeoDataFrame(
        {"district": ["West", "East", "Corner"]},
        geometry=[
            box(west - 1, south - 1, cut, north + 1),
            box(cut, south - 1, east + 1, north + 1),
            box(west, south, west + 2 * size, south + 2 * size),
        ],
        crs=4326,
    )
    zones.to_file(path)
    return path


@pytest.fixture(scope="module")
def zoned(changed_template, sample, tmp_path_factory):
    """Change 1 with its sample of 200 answered from the truth and estimated per district;
    `asmdb serve --public` running on it as a reader role."""
    tmp = tmp_path_factory.mktemp("zones")
    reader = f"zone_reader_{uuid.uuid4().hex[:6]}"
    try:
        with throwaway_db(changed_template) as url:
            cli = lambda *args: invoke_asmdb(url, *args)  # noqa: E731
            assert cli("review", "queue", "--change", "1", "--sample-size", "200").code == 0
            exported = tmp / "change.gpkg"
            assert cli("review", "export", str(exported), "--change", "1").code == 0
            frame = pyogrio.read_dataframe(exported, layer="review_queue")
            truth = _truth(sample)
            with _pg(url) as pg:
                image = dict(pg.execute("SELECT tile_id, image_id FROM asmdb.tiles").fetchall())
            reference = [truth[image[t]] for t in frame["tile_id"]]
            frame["answer_from"] = [ANSWER[r][0] for r in reference]
            frame["answer_to"] = [ANSWER[r][1] for r in reference]
            answered = tmp / "answered.gpkg"
            pyogrio.write_dataframe(frame, answered, layer="review_queue", driver="GPKG")
            assert cli("review", "import", str(answered)).code == 0
            districts = _districts(url, tmp / "districts.gpkg")
            estimate = cli(
                "review", "estimate", "--change", "1", "--zones", str(districts),
                "--zone-field", "district", "--json",
            )  # fmt: skip
            assert estimate.code == 0, estimate.stderr
            done = run_asmdb(url, "roles", "create", "--name", reader)
            assert done.code == 0, done.stderr
            with serve(as_role(url, reader), "--public") as server:
                yield {
                    "url": url,
                    "server": server,
                    "estimate": json.loads(estimate.stdout),
                    "districts": districts,
                }
    finally:
        drop_roles([reader, f"{reader}_public"])


def test_review_estimate_with_zones_keeps_each_zone_and_its_estimates_with_the_change(zoned):
    by_zone = {z["zone"]: z for z in zoned["estimate"]["zones"]}
    with _pg(zoned["url"]) as pg:
        zones = {
            r[0]: r[1:]
            for r in pg.execute(
                "SELECT zone, change_id, reviewed, note, GeometryType(geom), ST_SRID(geom), "
                "ST_Area(geom) FROM asmdb.change_zones"
            )
        }
        estimates = {
            (r[0], r[1]): r[2:]
            for r in pg.execute(
                "SELECT z.zone, e.class, e.area_km2, e.low, e.high, e.mapped_km2, e.mapped_tiles "
                "FROM asmdb.change_zone_estimates AS e JOIN asmdb.change_zones AS z "
                "USING (zone_id)"
            )
        }
        indexed = pg.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'change_zones' "
            "AND indexdef LIKE '%%gist%%'"
        ).fetchall()
    assert set(zones) == {"West", "East", "Corner"} and indexed
    for name, (change_id, reviewed, note, kind, srid, area) in zones.items():
        assert (change_id, kind, srid) == (1, "MULTIPOLYGON", 4326) and area > 0
        assert reviewed == by_zone[name]["reviewed"]
        assert (note is None) == (by_zone[name]["estimated"] is not None)
    assert zones["Corner"][1] < MIN_ZONE_REVIEWS and "at least" in zones["Corner"][2]
    assert len(estimates) == 3 * 4
    for (name, k), (value, low, high, mapped_km2, mapped_tiles) in estimates.items():
        z = by_zone[name]
        assert (mapped_km2, mapped_tiles) == (
            pytest.approx(z["mapped"][k]["km2"]),
            z["mapped"][k]["tiles"],
        )
        if z["estimated"] is None:
            assert value is low is high is None
        else:
            got = z["estimated"][k]
            assert (value, low, high) == pytest.approx((got["value"], got["low"], got["high"]))
    # A second estimate replaces the change's zones, never adds to them.
    again = run_asmdb(
        zoned["url"], "review", "estimate", "--change", "1", "--zones", str(zoned["districts"]),
        "--zone-field", "district",
    )  # fmt: skip
    assert again.code == 0, again.stderr
    with _pg(zoned["url"]) as pg:
        assert pg.execute("SELECT count(*) FROM asmdb.change_zones").fetchone() == (3,)
        assert pg.execute("SELECT count(*) FROM asmdb.change_zone_estimates").fetchone() == (12,)


def test_export_zones_writes_one_row_per_zone_and_class(zoned, tmp_path):
    out = tmp_path / "zones.csv"
    done = run_asmdb(zoned["url"], "export", "zones", str(out))
    assert done.code == 0, done.stderr
    assert "change 1, 3 zones, 12 rows" in done.stdout
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["zone", "class", "area_km2", "low", "high", "mapped_km2", "reviewed"]
    by_zone = {z["zone"]: z for z in zoned["estimate"]["zones"]}
    assert sorted((r["zone"], r["class"]) for r in rows) == sorted(
        (z, k) for z in by_zone for k in ("new", "gone", "persistent", "absent")
    )
    for r in rows:
        z = by_zone[r["zone"]]
        assert float(r["mapped_km2"]) == pytest.approx(z["mapped"][r["class"]]["km2"])
        assert int(r["reviewed"]) == z["reviewed"]
        if z["estimated"] is None:
            assert r["area_km2"] == r["low"] == r["high"] == ""
        else:
            got = z["estimated"][r["class"]]
            assert float(r["area_km2"]) == pytest.approx(got["value"])
            assert float(r["low"]) <= float(r["area_km2"]) <= float(r["high"])
    # A change that does not exist: one line, and no file.
    missing = tmp_path / "none.csv"
    failed = run_asmdb(zoned["url"], "export", "zones", str(missing), "--change", "2")
    assert failed.code == 1 and "no change 2" in failed.stderr
    assert len(failed.stderr.splitlines()) == 1 and not missing.exists()


def test_an_anonymous_visitor_of_a_public_server_reads_the_zone_estimates(zoned):
    c = httpx.Client(base_url=zoned["server"].url, timeout=60)
    collections = c.get("/collections").json()["collections"]
    assert "asmdb.zone_estimates" in {x["id"] for x in collections}
    items = c.get("/collections/asmdb.zone_estimates/items", params={"limit": 10})
    assert items.status_code == 200, items.text
    features = {f["properties"]["zone"]: f for f in items.json()["features"]}
    assert set(features) == {"West", "East", "Corner"}
    by_zone = {z["zone"]: z for z in zoned["estimate"]["zones"]}
    for name, f in features.items():
        p, z = f["properties"], by_zone[name]
        assert f["geometry"]["type"] == "MultiPolygon"
        assert p["reviewed"] == z["reviewed"]
        assert p["new_mapped_km2"] == pytest.approx(z["mapped"]["new"]["km2"])
        assert str(p["period_from"]).startswith("2019") and str(p["period_to"]).startswith("2024")
        if z["estimated"] is None:
            assert p["estimated"] is False and p["new_km2"] is None and "at least" in p["note"]
        else:
            got = z["estimated"]["new"]
            assert p["estimated"] is True and p["note"] is None
            assert (p["new_km2"], p["new_low"], p["new_high"]) == pytest.approx(
                (got["value"], got["low"], got["high"])
            )
    config = c.get("/api/config").json()
    assert "asmdb.zone_estimates" in [x["collection"] for x in config["layers"]]


def _km2(v: float) -> str:
    """As the page writes an area: whole km2 from 10 up, one decimal below."""
    return str(round(v)) if v >= 10 else f"{v:.1f}"


@pytest.mark.browser
def test_the_page_draws_the_zones_as_a_choropleth_with_the_interval_in_the_popup(
    browser,
    zoned,
):
    from browser import close, open_map, pixel, screen_position, settle, wait_for

    from asm_db.change.classes import ZONE_BREAKS_KM2, ZONE_COLORS

    by_zone = {z["zone"]: z for z in zoned["estimate"]["zones"]}
    west = by_zone["West"]["estimated"]["new"]
    with _pg(zoned["url"]) as pg:
        (lon, lat), (corner_lon, corner_lat) = (
            pg.execute(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Intersection(geom, "
                "(SELECT ST_SetSRID(ST_Extent(geom), 4326) FROM asmdb.tiles))) AS p "
                "FROM asmdb.zone_estimates WHERE zone = %s) AS x",
                (name,),
            ).fetchone()
            for name in ("West", "Corner")
        )
    page = open_map(browser, zoned["server"])
    page.evaluate(
        "document.querySelector('input[data-layer=predictions]').click();"
        "document.querySelector('input[data-layer=zones]').click();"
    )
    settle(page)
    # West in its class's colour (70% over the background), away from Corner.
    color = ZONE_COLORS[0]
    for b, c in zip(ZONE_BREAKS_KM2, ZONE_COLORS, strict=True):
        if west["value"] >= b:
            color = c
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    x, y = screen_position(page, lon, lat)
    expected = tuple(round(0.7 * c + 0.3 * g) for c, g in zip(rgb, (0xF4, 0xF4, 0xF2), strict=True))
    assert close(pixel(page, x, y), expected), (pixel(page, x, y), expected)
    page.mouse.click(x, y)
    wait_for(page, "document.querySelector('.maplibregl-popup .zone-headline') !== null")
    text = page.locator(".maplibregl-popup .popup").inner_text()
    mapped = by_zone["West"]["mapped"]["new"]["km2"]
    assert (
        f"new mining 2019 -> 2024 in West: {_km2(west['value'])} km2, 95% "
        f"{_km2(west['low'])}-{_km2(west['high'])} km2; the map shows {_km2(mapped)}"
    ) in text, text
    # Corner has too few reviews: it says so, with no interval.
    page.evaluate("document.querySelectorAll('.maplibregl-popup').forEach(p => p.remove())")
    x, y = screen_position(page, corner_lon, corner_lat)
    page.mouse.click(x, y)
    wait_for(page, "document.querySelector('.maplibregl-popup .zone-headline') !== null")
    text = page.locator(".maplibregl-popup .popup").inner_text()
    corner = text[text.index("in Corner") :]
    assert "No interval" in corner and "at least 10" in corner
    assert "the map shows" in corner and "95%" not in corner.splitlines()[0]
    assert page.errors == []
    page.close()
