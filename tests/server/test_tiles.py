"""`asmdb serve`'s vector tiles: the tiles a tile covers, the overview's blocks at low zooms, and
the tile cache following a promotion. On the session's `site`."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import pytest

from conftest import run_asmdb
from web_server import client, site_connection

pytestmark = [
    pytest.mark.slow,  # starts the web server on a trained database
    pytest.mark.xdist_group("site"),  # one worker builds the session's site
]


@pytest.fixture
def pg(site):
    """The site's own database, not a throwaway clone."""
    with site_connection(site) as conn:
        yield conn


TMS = morecantile.tms.get("WebMercatorQuad")


def test_a_vector_tile_holds_the_tiles_it_covers(site, pg):
    c = client(site)
    lon, lat = pg.execute(
        "SELECT lon, lat FROM asmdb.tiles ORDER BY tile_id OFFSET 300 LIMIT 1"
    ).fetchone()
    tile = TMS.tile(lon, lat, 12)
    west, south, east, north = TMS.bounds(tile)
    expected = {
        tile_id: probability
        for tile_id, probability in pg.execute(
            "SELECT tile_id, probability FROM asmdb.latest_predictions "
            "WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            (west, south, east, north),
        )
    }
    r = c.get(
        f"/collections/asmdb.latest_predictions/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.mapbox-vector-tile")
    decoded = mapbox_vector_tile.decode(r.content)
    features = decoded["default"]["features"]
    got = {f["properties"]["tile_id"]: f["properties"]["probability"] for f in features}
    # The tile's clip buffer can add neighbours just outside; every tile inside is there.
    assert set(expected) <= set(got)
    assert {t: got[t] for t in expected} == pytest.approx(expected)
    assert all(f["geometry"]["type"] == "Polygon" for f in features)


def test_a_low_zoom_tile_of_the_overview_holds_its_blocks_as_the_page_asks(site, pg):
    """At zoom 6 the page asks `asmdb.latest_overviews` for one block size: the tile holds
    those blocks, with the highest probability of their tiles, and nothing else."""
    from asm_db.maps.overviews import level_for_zoom

    c = client(site)
    config = c.get("/api/config").json()
    assert config["full_resolution_zoom"] == 11
    levels = {lv["cells"]: (lv["minzoom"], lv["maxzoom"]) for lv in config["overviews"]}
    level = level_for_zoom(6)
    assert levels[level.cells][0] <= 6 < levels[level.cells][1]
    lon, lat = pg.execute("SELECT lon, lat FROM asmdb.tiles ORDER BY tile_id LIMIT 1").fetchone()
    tile = TMS.tile(lon, lat, 6)
    west, south, east, north = TMS.bounds(tile)
    expected = {
        overview_id: (tiles, probability)
        for overview_id, tiles, probability in pg.execute(
            "SELECT o.overview_id, o.tiles, max(p.probability) FROM asmdb.latest_overviews AS o "
            "JOIN asmdb.latest_predictions AS p ON ST_Within(ST_Centroid(p.geom), o.geom) "
            "WHERE o.cells = %s AND ST_Intersects(o.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) "
            "GROUP BY o.overview_id, o.tiles HAVING count(*) = o.tiles",
            (level.cells, west, south, east, north),
        )
    }
    assert expected
    r = c.get(
        f"/collections/asmdb.latest_overviews/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}",
        params={
            "properties": "overview_id,cells,tiles,probability,probability_mean",
            "filter": f"cells={level.cells}",
        },
    )
    assert r.status_code == 200, r.text
    features = mapbox_vector_tile.decode(r.content)["default"]["features"]
    assert {f["properties"]["cells"] for f in features} == {level.cells}
    got = {f["properties"]["overview_id"]: f["properties"] for f in features}
    # The tile's clip buffer can add blocks just outside; every block inside is there.
    assert set(expected) <= set(got)
    for overview_id, (tiles, probability) in expected.items():
        assert got[overview_id]["tiles"] == tiles
        assert got[overview_id]["probability"] == pytest.approx(probability, rel=1e-6)
    # Far fewer features than the map's own tiles in the same tile.
    tiles = pg.execute("SELECT count(*) FROM asmdb.latest_predictions").fetchone()[0]
    assert len(features) * level.cells**2 >= tiles > len(features)


def test_map_tiles_are_kept_and_follow_a_promotion(site, pg):
    """A map layer's tile is made once and kept; when another map is promoted the server
    forgets its tiles (it looks every 2 s) and draws the new map. Last in the module: it
    promotes a map."""
    import time

    c = client(site)
    lon, lat = pg.execute("SELECT lon, lat FROM asmdb.tiles ORDER BY tile_id LIMIT 1").fetchone()
    tile = TMS.tile(lon, lat, 6)
    path = f"/collections/asmdb.latest_overviews/tiles/WebMercatorQuad/6/{tile.x}/{tile.y}"
    params = {"properties": "overview_id,map_id,cells", "filter": "cells=32"}

    def maps_in_tile() -> set[int]:
        r = c.get(path, params=params)
        assert r.status_code == 200, r.text
        features = mapbox_vector_tile.decode(r.content)["default"]["features"]
        return {f["properties"]["map_id"] for f in features}

    shown = pg.execute("SELECT asmdb.promoted_map()").fetchone()[0]
    assert maps_in_tile() == {shown}
    before = c.get("/healthz").json()["tile_cache"]
    assert maps_in_tile() == {shown}
    after = c.get("/healthz").json()["tile_cache"]
    assert after["hits"] == before["hits"] + 1 and after["tiles"] >= 1

    feature_set = pg.execute(
        "SELECT fs.name FROM asmdb.maps JOIN asmdb.feature_sets AS fs USING (feature_set_id) "
        "WHERE map_id = %s",
        (shown,),
    ).fetchone()[0]
    done = run_asmdb(site["url"], "predict", "--run", "1", "--feature-set", feature_set)
    assert done.code == 0, done.stderr
    new = pg.execute("SELECT asmdb.promoted_map()").fetchone()[0]
    assert new != shown
    deadline = time.monotonic() + 20
    while maps_in_tile() != {new}:
        assert time.monotonic() < deadline, "the old map's tile is still served"
        time.sleep(0.5)
