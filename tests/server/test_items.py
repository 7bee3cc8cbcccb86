"""`asmdb serve`'s OGC API items: the collections offered, the items in a box, and CQL2 filters
over HTTP (`tests/server/test_filters.py` checks the filter guard itself); a client's mistake is a
4xx. On the session's `site`: one trained sample database and one running server (the installed
command), in a cluster that checks passwords (see tests/conftest.py)."""

from __future__ import annotations

import json

import cql2
import pytest

from web_server import PRIVATE, PUBLIC, client, collection_ids, site_connection

pytestmark = [
    pytest.mark.slow,  # starts the web server on a trained database
    pytest.mark.xdist_group("site"),  # one worker builds the session's site
]


@pytest.fixture
def pg(site):
    """The site's own database, not a throwaway clone."""
    with site_connection(site) as conn:
        yield conn


def test_collections_are_the_user_facing_layers(site):
    anonymous = client(site)
    assert collection_ids(anonymous.get("/collections")) == PUBLIC
    ana = client(site, "ana")
    assert collection_ids(ana.get("/collections")) == sorted(PUBLIC + PRIVATE)
    # Never the per-run partitions nor the model table.
    for hidden in (
        "asmdb.predictions_run_1",
        "asmdb.predictions",
        "asmdb.model_runs",
        "asmdb.tiles",
    ):
        assert ana.get(f"/collections/{hidden}/items").status_code == 404
    landing = anonymous.get("/", headers={"Accept": "application/json"}).json()
    assert {link["rel"] for link in landing["links"]} >= {"data", "conformance"}
    assert anonymous.get("/conformance").status_code == 200


def test_items_in_a_bbox_are_the_tiles_there(site, pg):
    c = client(site)
    bbox = pg.execute(
        "SELECT ST_XMin(e) + 0.03, ST_YMin(e) + 0.03, ST_XMin(e) + 0.081, ST_YMin(e) + 0.062 "
        "FROM (SELECT ST_Extent(geom) e FROM asmdb.latest_predictions) x"
    ).fetchone()
    expected = {
        tile_id: probability
        for tile_id, probability in pg.execute(
            "SELECT tile_id, probability FROM asmdb.latest_predictions "
            "WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            bbox,
        )
    }
    assert len(expected) > 10
    r = c.get(
        "/collections/asmdb.latest_predictions/items",
        params={"bbox": ",".join(map(str, bbox)), "limit": 1000},
    )
    assert r.status_code == 200
    features = r.json()["features"]
    got = {f["properties"]["tile_id"]: f["properties"]["probability"] for f in features}
    assert got == pytest.approx(expected)
    assert {f["id"] for f in features} == set(expected)  # tile_id is the view's key


SQL_THROUGH_A_FILTER = [
    # A boolean oracle on a public layer that reads a private table.
    "array_to_string(xpath('//v/text()', query_to_xml('select count(*)>0 as v from "
    "asmdb.labels', false,false,'')),',') = 'true'",
    "pg_read_file('/etc/passwd') LIKE 'root:%'",
    "pg_sleep(0.05) IS NULL",
]


def test_a_filter_calls_no_sql_function(site):
    c = client(site)
    items = "/collections/asmdb.latest_predictions/items"
    tiles = "/collections/asmdb.latest_predictions/tiles/WebMercatorQuad/3/3/3"
    for text in SQL_THROUGH_A_FILTER:
        function = text.split("(")[0]
        as_json = json.dumps(cql2.Expr(text).to_json())
        for path, params in (
            (items, {"filter": text}),
            (items, {"filter": as_json, "filter-lang": "cql2-json"}),
            (tiles, {"filter": text}),
        ):
            r = c.get(path, params=params)
            assert r.status_code == 400, (path, params, r.status_code, r.text[:200])
            assert r.json()["detail"].startswith(f"filter: {function} is not a CQL2 function")
    r = c.get(items, params={"filter": "ACCENTI(probability) = 'x'"})
    assert r.status_code == 400 and "ACCENTI" in r.json()["detail"]


def test_the_standard_filters_still_answer(site, pg):
    c = client(site)
    items = "/collections/asmdb.latest_predictions/items"
    for text, where in (
        ("probability > 0.5", "probability > 0.5"),
        ("run_id = 1 AND probability >= 0.5", "run_id = 1 AND probability >= 0.5"),
        ("probability BETWEEN 0.2 AND 0.8", "probability BETWEEN 0.2 AND 0.8"),
        ("tile_id IN (1,2)", "tile_id IN (1, 2)"),
        (
            "S_INTERSECTS(geom, BBOX(-180, -90, 180, 90))",
            "ST_Intersects(geom, ST_MakeEnvelope(-180, -90, 180, 90, 4326))",
        ),
    ):
        expected = pg.execute(
            f"SELECT count(*) FROM asmdb.latest_predictions WHERE {where}"
        ).fetchone()[0]
        r = c.get(items, params={"filter": text, "limit": 1})
        assert r.status_code == 200, (text, r.text[:200])
        assert r.json()["numberMatched"] == expected, text
    overviews = c.get(
        "/collections/asmdb.overviews_by_period/items",
        params={"filter": "period_start > DATE('2020-01-01') OR period_start IS NULL"},
    )
    assert overviews.status_code == 200, overviews.text[:200]


def test_client_mistakes_are_a_4xx_with_one_line(site):
    c = client(site)
    layer = "/collections/asmdb.latest_predictions"
    items = f"{layer}/items"
    deep = "NOT " * 1500 + "probability > 0"
    for path, params, status in (
        (f"{layer}/tiles/WebMercatorQuad/99/0/0", {}, 404),
        (f"{layer}/tiles/WebMercatorQuad/-1/0/0", {}, 404),
        (f"{layer}/tiles/WebMercatorQuad/3/8/0", {}, 404),
        (f"{layer}/tiles/WebMercatorQuad/3/0/-1", {}, 404),
        (f"{layer}/tiles/WebMercatorQuad/99999999999999999999/0/0", {}, 404),
        (f"{items}/99999999999999999999999", {}, 404),
        (f"{items}/-99999999999999999999999", {}, 404),
        (items, {"ids": "1,99999999999999999999999"}, 404),
        (f"{layer}/tiles/WebMercatorQuad/3/3/3", {"ids": "99999999999999999999999"}, 404),
        (items, {"simplify": "-1"}, 400),
        (items, {"simplify": "nan"}, 400),
        (f"{layer}/tiles/WebMercatorQuad/3/3/3", {"simplify": "inf"}, 400),
        (items, {"offset": "99999999999999999999"}, 400),
        (items, {"limit": "-5"}, 400),
        (items, {"geom": "abc"}, 400),
        ("/collections/asmdb.maps_by_period/items", {"datetime": "2020-13-01"}, 400),
        ("/collections", {"datetime": ".."}, 400),
        (items, {"filter": "nosuch = 1"}, 400),
        (items, {"filter": "CASEI(probability) = 'x'"}, 400),
        (items, {"filter": "probability BETWEEN 0 AND 1e999"}, 400),
        (items, {"filter": "probability % 2 = 1"}, 400),
        (items, {"filter": "probability = 'x'"}, 400),
        (items, {"filter": "probability"}, 400),
        (items, {"filter": "S_INTERSECTS(probability, BBOX(0, 0, 1, 1))"}, 400),
        (items, {"filter": deep}, 400),
        (items, {"filter": "probability > 0 OR " * 450 + "TRUE"}, 400),
    ):
        r = c.get(path, params=params)
        assert r.status_code == status, (path, params, r.status_code, r.text[:200])
        detail = r.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail, (path, params, detail)
    assert c.get("/healthz").status_code == 200  # the deep filter left the server up
