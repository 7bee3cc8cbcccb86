"""The web map in a real browser: Debian's Chromium, headless, WebGL through SwiftShader,
driven by Playwright, against `asmdb serve` (the installed command) on a trained database."""

from __future__ import annotations

import io
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from browser import (
    BACKGROUND,
    class_rgb,
    close,
    expected_rgb,
    open_map,
    pixel,
    screen_position,
    set_input,
    settle,
    shown_colour,
    wait_for,
)
from PIL import Image

from conftest import drop_roles, run_asmdb, throwaway_db
from rasters import write_true_colour
from web_server import as_role, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("web_browser"),  # the module's server and browser, on one worker
]
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def site(password_cluster, sample):
    """A trained sample database with a review queue and a reviewer, in a cluster that checks
    passwords (the role goes with it)."""
    reviewer = (f"web_rev_{uuid.uuid4().hex[:6]}", "review-pw-9")
    reader = (f"web_reader_{uuid.uuid4().hex[:6]}", "reader-pw-8")
    url = password_cluster.create_database()
    for args in (
        ("db", "upgrade"),
        ("ingest", "labels", str(sample.labels)),
        ("ingest", "features", str(sample.features)),
        ("train", "--cv", "seed", "--bootstrap", "0"),
        ("review", "queue", "--min-label-distance", "0"),
        ("roles", "create", "--reviewer", "--name", reviewer[0], "--password", reviewer[1]),
        ("roles", "create", "--name", reader[0], "--password", reader[1]),
    ):
        done = run_asmdb(url, *args)
        assert done.code == 0, done.stderr
    # The server runs as the reader role, with its password.
    with serve(as_role(url, *reader), "--public") as server:
        yield {"url": url, "server": server, "reviewer": reviewer}


@pytest.fixture
def pg(site):
    with psycopg.connect(site["url"].replace("+psycopg", ""), autocommit=True) as conn:
        yield conn


def test_the_map_shows_the_probability_classes_and_the_popup(browser, site, pg):
    page = open_map(browser, site)
    assert page.errors == []
    # One tile of each probability class: its centre has its class colour on the canvas.
    tiles = pg.execute(
        "SELECT DISTINCT ON (width_bucket(probability, 0, 1.0000001, 5)) tile_id, probability, "
        "ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM asmdb.latest_predictions "
        "ORDER BY width_bucket(probability, 0, 1.0000001, 5), tile_id"
    ).fetchall()
    assert len(tiles) >= 3
    settle(page)  # every tile of the view drawn
    for tile_id, probability, lon, lat in tiles:
        x, y = screen_position(page, lon, lat)
        assert close(pixel(page, x, y), expected_rgb(probability)), (tile_id, probability)
    # Outside the tiles (the canvas' left edge, west of every tile): the plain background.
    west = pg.execute("SELECT ST_XMin(ST_Extent(geom)) FROM asmdb.tiles").fetchone()[0]
    assert page.evaluate("window.asmdbMap.unproject([4, 400]).lng") < west
    assert close(pixel(page, 4, 400), BACKGROUND, 3)
    # No imagery registered: the page says so and draws none.
    assert "No imagery registered" in page.locator("#imagery-message").inner_text()
    assert page.evaluate("window.asmdbMap.getLayer('imagery') === undefined")
    # A click on a tile shows its probability.
    tile_id, probability, lon, lat = tiles[-1]
    x, y = screen_position(page, lon, lat)
    page.mouse.click(x, y)
    popup = page.locator(".maplibregl-popup .popup")
    popup.wait_for(timeout=30_000)
    wait_for(page, "document.querySelector('.maplibregl-popup table') !== null")
    text = popup.inner_text()
    assert f"{probability:.3f}" in text and str(tile_id) in text
    assert "Log in to see the nearest labels" in text  # anonymous: no site locations
    assert "No imagery registered" in popup.inner_text()  # and no image of the tile
    # "More like this" draws the similar tiles.
    page.locator("#more-like-this").click()
    wait_for(
        page, "document.getElementById('similar-message').textContent.includes('similar tiles')"
    )
    # The GeoJSON is parsed in a worker: its features appear shortly after.
    wait_for(page, "window.asmdbMap.querySourceFeatures('similar').length > 0")
    assert page.errors == []
    page.close()


def test_anonymous_visitor_cannot_write(browser, site, pg):
    before = pg.execute(
        "SELECT md5(string_agg(q::text, '|' ORDER BY review_id)) FROM asmdb.review_queue q"
    ).fetchone()
    page = open_map(browser, site)
    assert page.locator("#review").is_hidden()
    status = page.evaluate(
        "fetch('/api/review/1', {method: 'POST', headers: {'Content-Type': 'application/json'}, "
        "body: JSON.stringify({status: 'confirmed'})}).then(r => r.status)"
    )
    assert status in (401, 403)
    after = pg.execute(
        "SELECT md5(string_agg(q::text, '|' ORDER BY review_id)) FROM asmdb.review_queue q"
    ).fetchone()
    assert before == after
    page.close()


def test_a_reviewer_confirms_in_the_browser(browser, site, pg):
    page = open_map(browser, site)
    name, password = site["reviewer"]
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#login button[type=submit]")
    page.wait_for_load_state("load")
    wait_for(page, "window.asmdbReady === true && !document.getElementById('review').hidden")
    assert name in page.locator("#user").inner_text()
    shown = page.locator("#review-item").inner_text()
    review_id = int(shown.split("review")[1].split()[0])
    wait_for(page, "document.getElementById('review-image').textContent !== ''")
    assert "No imagery registered" in page.locator("#review-image").inner_text()
    page.click("#review-zoom")
    page.fill("#review-notes", "fresh pit, seen on the image")
    page.click("#review-answers button[data-status=confirmed]")
    wait_for(page, "document.getElementById('review-message').textContent.startsWith('saved')")
    status, reviewer, reviewed_at, notes = pg.execute(
        "SELECT status, reviewer, reviewed_at, notes FROM asmdb.review_queue WHERE review_id = %s",
        (review_id,),
    ).fetchone()
    assert (status, reviewer, notes) == ("confirmed", name, "fresh pit, seen on the image")
    assert reviewed_at is not None
    # Next item, then back: the saved answer is shown.
    page.click("#review-next")
    page.click("#review-prev")
    assert "confirmed" in page.locator("#review-item").inner_text()
    assert page.errors == []
    # The screenshot in the README: the whole map, labels and the review queue on it.
    page.reload()
    wait_for(page, "window.asmdbReady === true && !document.getElementById('review').hidden")
    settle(page)
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "web-map.png"))
    page.close()


def test_country_zooms_draw_the_overview_blocks_not_every_tile(browser, site, pg):
    """Below zoom 11 the page asks for `asmdb.latest_overviews` with one block size per zoom,
    never for the full-resolution tiles, and each block has the class colour of its tiles' mean
    probability."""
    from asm_db.maps.overviews import level_for_zoom

    page = open_map(browser, site)
    requested = []
    page.on("request", lambda r: requested.append(r.url) if "/tiles/" in r.url else None)
    zoom = 8
    cells = level_for_zoom(zoom).cells
    lon, lat = pg.execute(
        "SELECT ST_X(ST_Centroid(ST_Extent(geom))), ST_Y(ST_Centroid(ST_Extent(geom))) "
        "FROM asmdb.latest_predictions"
    ).fetchone()
    page.evaluate(f"window.asmdbMap.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
    settle(page)
    overview = [u for u in requested if "asmdb.latest_overviews" in u]
    assert overview and all(f"cells%3D{cells}" in u for u in overview), overview
    assert not [u for u in requested if "asmdb.latest_predictions" in u]
    blocks = pg.execute(
        "SELECT probability_mean, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
        "FROM asmdb.latest_overviews WHERE cells = %s",
        (cells,),
    ).fetchall()
    assert blocks
    for probability, x, y in blocks:
        px, py = screen_position(page, x, y)
        assert close(pixel(page, px, py), expected_rgb(probability)), (probability, x, y)
    assert page.errors == []
    page.close()


def test_a_block_with_one_hot_tile_among_cold_ones_is_not_drawn_in_the_top_class(browser, site, pg):
    """A block holding a tile of 0.8 or more among colder ones is drawn in the class of its
    mean probability, not in the top class, and outlined in the top class's colour; the legend
    says how blocks are drawn, and a click on the block tells its highest probability."""
    from asm_db.maps.overviews import LEVELS
    from asm_db.probability_classes import CLASSES

    hot = CLASSES[-1]
    # The block with the fewest hot tiles (then the fewest mapped, then the coldest mean).
    found = pg.execute(
        "SELECT o.cells, o.probability, o.probability_mean, ST_XMin(o.geom), "
        "ST_X(ST_Centroid(o.geom)), ST_Y(ST_Centroid(o.geom)), t.hot, o.tiles "
        "FROM asmdb.latest_overviews AS o CROSS JOIN LATERAL ("
        "  SELECT count(*) FILTER (WHERE p.probability >= %(hot)s) AS hot "
        "  FROM asmdb.latest_predictions AS p WHERE ST_Within(ST_Centroid(p.geom), o.geom)) AS t "
        "WHERE o.probability >= %(hot)s AND o.probability_mean < %(hot)s "
        "ORDER BY t.hot, o.tiles_at_least_half, o.probability_mean LIMIT 1",
        {"hot": hot.lower},
    ).fetchone()
    assert found, "the sample map has no block with a hot tile among colder ones"
    cells, highest, mean, west, lon, lat, hot_tiles, tiles = found
    assert hot_tiles < tiles and expected_rgb(mean) != expected_rgb(highest)
    zoom = next(lv.maxzoom - 1 for lv in LEVELS if lv.cells == cells)
    page = open_map(browser, site)
    legend = page.locator("#legend-blocks").inner_text()
    assert "blocks of tiles in the class of their mean probability" in legend
    assert "outlined: a block holding a tile of 0.8 or more" in legend
    page.evaluate(f"window.asmdbMap.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
    settle(page)
    x, y = screen_position(page, lon, lat)
    shown = pixel(page, x, y)
    assert close(shown, expected_rgb(mean)), (found, shown)
    assert not close(shown, expected_rgb(highest)), (found, shown)
    # The outline, just inside the block's west edge, in the top class's colour.
    edge, _ = screen_position(page, west, lat)
    inside = [pixel(page, edge + dx, y) for dx in (0.5, 1, 1.5, 2)]
    assert any(close(c, hot.rgb, 40) for c in inside), (found, inside)
    page.mouse.click(x, y)
    wait_for(page, "document.querySelector('.maplibregl-popup table') !== null")
    popup = page.locator(".maplibregl-popup .popup").inner_text()
    assert f"{highest:.3f}" in popup and f"{mean:.3f}" in popup, popup
    assert page.errors == []
    page.close()


P2019 = "2019-01-01/2019-12-31"
P2024 = "2024-01-01/2024-12-31"


@pytest.fixture(scope="module")
def periods_site(template_db, sample):
    """A database with two periods (a model trained on 2019 and applied to 2024: one
    promoted map each), served to the public (the server as a reader role)."""
    reader = f"web_periods_{uuid.uuid4().hex[:6]}"
    try:
        with throwaway_db(template_db) as url:
            yield from _periods_site(url, sample, reader)
    finally:
        drop_roles([reader, f"{reader}_public"])


def _periods_site(url, sample, reader):
    """Two periods, a change between them and a reader; the server as that reader."""
    for args in (
        ("ingest", "labels", str(sample.labels)),
        (
            "ingest",
            "features",
            str(sample.features),
            "--feature-set",
            "y2019",
            "--period",
            P2019,
        ),
        (
            "ingest",
            "features",
            str(sample.later_features),
            "--feature-set",
            "y2024",
            "--period",
            P2024,
        ),
        ("train", "--feature-set", "y2019", "--cv", "seed", "--bootstrap", "0"),
        ("predict", "--run", "1", "--feature-set", "y2024"),
        ("change", "--from", "1", "--to", "2"),
        ("roles", "create", "--name", reader),
    ):
        done = run_asmdb(url, *args)
        assert done.code == 0, done.stderr
    with serve(as_role(url, reader), "--public") as server:
        yield {"url": url, "server": server}


def test_the_period_slider_shows_each_periods_map(browser, periods_site, site):
    """Two periods: the page offers a slider (from the server's list of periods); each position
    draws that period's map. One period (the other site): no slider."""
    with psycopg.connect(periods_site["url"].replace("+psycopg", ""), autocommit=True) as pg:
        periods = pg.execute(
            "SELECT DISTINCT map_id, period_start::text FROM asmdb.maps_by_period ORDER BY 2"
        ).fetchall()
        assert [p[1] for p in periods] == ["2019-01-01", "2024-01-01"]
        # A tile whose class differs between the two periods.
        tile = pg.execute(
            "SELECT a.tile_id, a.probability, b.probability, ST_X(ST_Centroid(a.geom)), "
            "ST_Y(ST_Centroid(a.geom)) FROM asmdb.maps_by_period AS a "
            "JOIN asmdb.maps_by_period AS b USING (tile_id) "
            "WHERE a.map_id = %s AND b.map_id = %s "
            "ORDER BY abs(a.probability - b.probability) DESC LIMIT 1",
            (periods[0][0], periods[1][0]),
        ).fetchone()
    tile_id, p2019, p2024, lon, lat = tile
    assert expected_rgb(p2019) != expected_rgb(p2024)

    page = open_map(browser, periods_site["server"])
    requested = []
    page.on("request", lambda r: requested.append(r.url) if "by_period" in r.url else None)
    assert page.locator("#period-box").is_visible()
    assert page.evaluate("document.getElementById('period').max") == "1"
    assert "2024-01-01" in page.locator("#period-label").inner_text()
    set_input(page, "#imagery", "none", "change")  # the colours below are over the background
    # Only the period layer, at the tile, at full resolution.
    page.evaluate(
        "document.querySelector('input[data-layer=predictions]').click();"
        f"window.asmdbMap.jumpTo({{center: [{lon}, {lat}], zoom: 12}})"
    )
    for index, probability, start in ((0, p2019, "2019-01-01"), (1, p2024, "2024-01-01")):
        page.evaluate(
            f"(() => {{ const s = document.getElementById('period'); s.value = '{index}';"
            " s.dispatchEvent(new Event('input')); })()"
        )
        assert start in page.locator("#period-label").inner_text()
        assert page.evaluate("document.querySelector('input[data-layer=periods]').checked")
        wait_for(
            page,
            "window.asmdbMap.getLayoutProperty('periods', 'visibility') === 'visible' && "
            f"window.asmdbMap.getSource('periods').tiles[0].includes('map_id%3D{periods[index][0]}')",
        )
        # The period's tiles replace the other period's when they arrive: wait for them (the
        # tile's place on screen read each time, in case the view moved).
        deadline = time.monotonic() + 60
        while True:
            settle(page)
            x, y = screen_position(page, lon, lat)
            shown = pixel(page, x, y)
            if close(shown, expected_rgb(probability)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        drawn = page.evaluate(
            f"window.asmdbMap.queryRenderedFeatures([{x} - window.asmdbMap.getCanvas()"
            ".getBoundingClientRect().left, "
            f"{y} - window.asmdbMap.getCanvas().getBoundingClientRect().top])"
            ".map(f => [f.layer.id, f.properties.map_id, f.properties.probability])"
        )
        view = page.evaluate("[window.asmdbMap.getCenter().toArray(), window.asmdbMap.getZoom()]")
        if not close(shown, expected_rgb(probability)):
            pytest.fail(f"{tile_id} {index} {probability} {shown} {drawn} {view} {requested[-8:]}")
        # The popup tells that period's probability and the period itself.
        page.evaluate("document.querySelectorAll('.maplibregl-popup').forEach(p => p.remove())")
        page.mouse.click(x, y)
        wait_for(page, "document.querySelector('.maplibregl-popup table') !== null")
        shown = page.locator(".maplibregl-popup .popup").inner_text()
        assert f"{probability:.3f}" in shown and start in shown, (index, shown)
    # The change layer: new mining in the QGIS style's colour, a click tells the class.
    with psycopg.connect(periods_site["url"].replace("+psycopg", ""), autocommit=True) as pg:
        new_lon, new_lat = pg.execute(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM asmdb.latest_change "
            "WHERE class = 'new' ORDER BY delta DESC LIMIT 1"
        ).fetchone()
    page.evaluate(
        "document.querySelectorAll('.maplibregl-popup').forEach(p => p.remove());"
        "document.querySelector('input[data-layer=periods]').click();"
        "document.querySelector('input[data-layer=change]').click();"
        f"window.asmdbMap.jumpTo({{center: [{new_lon}, {new_lat}], zoom: 12}})"
    )
    settle(page)
    x, y = screen_position(page, new_lon, new_lat)
    magenta = tuple(
        round(0.8 * c + 0.2 * b) for c, b in zip((230, 0, 126), BACKGROUND, strict=True)
    )
    assert close(pixel(page, x, y), magenta), pixel(page, x, y)
    page.mouse.click(x, y)
    wait_for(page, "document.querySelector('.maplibregl-popup table') !== null")
    assert "new" in page.locator(".maplibregl-popup .popup").inner_text()
    assert page.errors == []
    page.close()

    single = open_map(browser, site)
    assert single.locator("#period-box").is_hidden()
    single.close()


# Imagery: a colour per period over the sample's tiles and 0.1 degree around (the sample's tiles
# span -11.20..-10.96, 8.40..8.64), drawn as colour x 255 (tests/rasters.py).
IMAGERY_BOUNDS = (-11.30, 8.30, -10.86, 8.74)
GREEN = (0, 0.5, 0)
ORANGE = (1, 0.5, 0)
OUTLINE = (255, 255, 0)
DARK = (0x1F, 0x21, 0x24)


def rgb(colour) -> tuple[int, int, int]:
    return tuple(round(255 * c) for c in colour)


@contextmanager
def registered_imagery(url, folder: Path, *imagery):
    """`asmdb imagery add` each (name, colour, period) as a GeoTIFF in `folder`; deleted after."""
    try:
        for name, colour, period in imagery:
            path = write_true_colour(folder / f"{name}.tif", IMAGERY_BOUNDS, colour)
            done = run_asmdb(url, "imagery", "add", name, str(path), "--period", period)
            assert done.code == 0, done.stderr
        yield [name for name, _, _ in imagery]
    finally:
        for name, _, _ in imagery:
            run_asmdb(url, "imagery", "delete", name, "--yes")


@pytest.fixture
def period_imagery(periods_site, tmp_path):
    """One imagery per period of `periods_site`, registered for one test."""
    with registered_imagery(
        periods_site["url"], tmp_path, ("s2-2019", GREEN, P2019), ("s2-2024", ORANGE, P2024)
    ) as names:
        yield names


def imagery_responses(page) -> list:
    return [r for r in page.responses if "/imagery/" in r.url]


def watch_responses(page) -> None:
    page.responses = []
    page.on("response", lambda r: page.responses.append(r))


def test_the_periods_imagery_is_drawn_under_the_map(browser, periods_site, period_imagery):
    """The imagery of the period shown is a raster layer under every vector layer, its tiles
    PNGs from this server; where only imagery is drawn the canvas has its colour. The period
    slider changes it, "None" and a dark base map leave the plain background, and the opacity
    slider fades the map layers over it."""
    page = open_map(browser, periods_site["server"], watch=watch_responses)
    set_input(
        page, "#imagery", "auto", "change"
    )  # the period's imagery (if the page opened without)
    wait_for(page, "window.asmdbMap.getContainer().dataset.imagery === 's2-2024'")
    layers = page.evaluate("window.asmdbMap.getStyle().layers.map(l => [l.id, l.type])")
    assert layers[0] == ["background", "background"] and layers[1] == ["imagery", "raster"]
    assert all(kind != "raster" for _, kind in layers[2:]) and len(layers) > 3
    assert page.evaluate("window.asmdbMap.getContainer().dataset.imagery") == "s2-2024"
    assert "s2-2024" in page.locator("#imagery-message").inner_text()
    # The imagery's own lowest zoom from the list: MapLibre asks for no tile below it.
    listed = page.evaluate("state.imagery.find((i) => i.name === 's2-2024').minzoom")
    assert page.evaluate("window.asmdbMap.getSource('imagery').minzoom") == listed == 0
    deep = page.evaluate(
        "rasterSource({name: 'x', tiles: '/imagery/x/tiles/WebMercatorQuad/{z}/{x}/{y}.png', "
        "bounds: [0, 0, 1, 1], minzoom: 10}).minzoom"
    )
    assert deep == 10
    settle(page)
    with psycopg.connect(periods_site["url"].replace("+psycopg", ""), autocommit=True) as pg:
        west = pg.execute("SELECT ST_XMin(ST_Extent(geom)) FROM asmdb.tiles").fetchone()[0]
        tile_lon, tile_lat, probability = pg.execute(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), probability "
            "FROM asmdb.latest_predictions ORDER BY tile_id LIMIT 1"
        ).fetchone()
    # Left of every tile, inside the imagery: its colour, not the background.
    assert IMAGERY_BOUNDS[0] < page.evaluate("window.asmdbMap.unproject([4, 400]).lng") < west
    shown = shown_colour(page, lambda: (4, 400), rgb(ORANGE))
    assert close(shown, rgb(ORANGE)), shown
    responses = imagery_responses(page)
    assert responses and all("/imagery/s2-2024/tiles/WebMercatorQuad/" in r.url for r in responses)
    assert all(r.status == 200 for r in responses), [(r.url, r.status) for r in responses]
    assert all(r.header_value("content-type") == "image/png" for r in responses)
    assert Image.open(io.BytesIO(responses[0].body())).size == (256, 256)
    # The map layers' opacity: at 0 the tile shows the imagery alone; at 50% its own halved.
    set_input(page, "#layer-opacity", "0")
    assert page.evaluate("window.asmdbMap.getPaintProperty('predictions', 'fill-opacity')") == 0
    settle(page)
    x, y = screen_position(page, tile_lon, tile_lat)
    shown = shown_colour(page, lambda: (x, y), rgb(ORANGE))
    assert close(shown, rgb(ORANGE)), shown
    set_input(page, "#layer-opacity", "50")
    assert page.evaluate(
        "window.asmdbMap.getPaintProperty('predictions', 'fill-opacity')"
    ) == pytest.approx(0.425)
    assert page.evaluate(
        "window.asmdbMap.getPaintProperty('change', 'fill-opacity')"
    ) == pytest.approx(0.4)
    assert page.evaluate("window.asmdbMap.getPaintProperty('similar', 'line-opacity')") == 0.5
    settle(page)
    # Half the layer's own 0.85 over the imagery.
    colour = class_rgb(probability)
    mixed = tuple(round(0.425 * c + 0.575 * i) for c, i in zip(colour, rgb(ORANGE), strict=True))
    shown = shown_colour(page, lambda: (x, y), mixed)
    assert close(shown, mixed), (shown, mixed)
    # The older period: its own imagery.
    set_input(page, "#period", "0")
    wait_for(page, "window.asmdbMap.getContainer().dataset.imagery === 's2-2019'")
    settle(page)
    shown = shown_colour(page, lambda: (4, 400), rgb(GREEN))
    assert close(shown, rgb(GREEN)), shown
    assert any("/imagery/s2-2019/" in r.url for r in imagery_responses(page))
    # None: the plain background; the dark base map instead of the light one.
    set_input(page, "#imagery", "none", "change")
    assert page.evaluate("window.asmdbMap.getLayer('imagery') === undefined")
    settle(page)
    assert close(shown_colour(page, lambda: (4, 400), BACKGROUND, 3), BACKGROUND, 3)
    set_input(page, "#basemap", "dark", "change")
    settle(page)
    assert close(shown_colour(page, lambda: (4, 400), DARK, 3), DARK, 3)
    # A chosen imagery whatever the period.
    set_input(page, "#imagery", "name:s2-2024", "change")
    wait_for(page, "window.asmdbMap.getContainer().dataset.imagery === 's2-2024'")
    settle(page)
    shown = shown_colour(page, lambda: (4, 400), rgb(ORANGE))
    assert close(shown, rgb(ORANGE)), shown
    assert page.errors == []
    page.close()


def image_map_position(page, group: str, index: int, lon: float, lat: float):
    """The screen position of (lon, lat) on the index-th small map of a group."""
    return page.evaluate(
        f"(() => {{ const m = window.asmdbImageMaps[{group!r}][{index}];"
        f" const p = m.project([{lon}, {lat}]); const r = m.getCanvas().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; })()"
    )


def image_map_colour(page, group: str, index: int, lon: float, lat: float, colour):
    """The colour at (lon, lat) of a small map, once it is `colour` (or the last seen)."""
    return shown_colour(page, lambda: image_map_position(page, group, index, lon, lat), colour)


def outlined(page, group: str, index: int, lon: float, lat: float) -> bool:
    """Whether the tile outline's colour is drawn at (lon, lat) of a small map, within a pixel."""
    x, y = image_map_position(page, group, index, lon, lat)
    return any(close(pixel(page, x + dx, y), OUTLINE, 60) for dx in (-1, 0, 1))


def test_the_change_review_shows_both_periods_imagery(browser, periods_site, period_imagery):
    """A click on a tile of new mining: before and after, side by side, each period's imagery
    under the tile's outline, named by period and imagery."""
    with psycopg.connect(periods_site["url"].replace("+psycopg", ""), autocommit=True) as pg:
        tile_id, lon, lat, west = pg.execute(
            "SELECT tile_id, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), ST_XMin(geom) "
            "FROM asmdb.latest_change WHERE class = 'new' ORDER BY delta DESC LIMIT 1"
        ).fetchone()
    page = open_map(browser, periods_site["server"])
    page.evaluate(
        "document.querySelector('input[data-layer=change]').click();"
        f"window.asmdbMap.jumpTo({{center: [{lon}, {lat}], zoom: 12}})"
    )
    settle(page)
    x, y = screen_position(page, lon, lat)
    page.mouse.click(x, y)
    figures = page.locator(".change-popup .change-images figure")
    wait_for(
        page,
        "document.querySelectorAll('.change-popup figure[data-ready=true]').length === 2",
    )
    # One popup: the change layer's, the top-most layer under the click.
    assert page.locator(".maplibregl-popup").count() == 1
    assert page.locator(".change-popup").get_attribute("data-tile-id") == str(tile_id)
    before, after = figures.nth(0), figures.nth(1)
    assert before.get_attribute("data-imagery") == "s2-2019"
    assert after.get_attribute("data-imagery") == "s2-2024"
    assert before.inner_text() == "before: s2-2019 (2019-01-01 to 2019-12-31)"
    assert after.inner_text() == "after: s2-2024 (2024-01-01 to 2024-12-31)"
    assert page.locator(".change-popup .same-imagery").count() == 0
    # Inside the tile: each period's imagery; on its west edge, the outline.
    assert close(image_map_colour(page, "change", 0, lon, lat, rgb(GREEN)), rgb(GREEN))
    assert close(image_map_colour(page, "change", 1, lon, lat, rgb(ORANGE)), rgb(ORANGE))
    for index in (0, 1):
        assert outlined(page, "change", index, west, lat)
    assert page.errors == []
    folder = os.environ.get("ASMDB_SCREENSHOT_DIR")
    if folder:  # the picture in docs/web.md (docs/img/change-review.png)
        box = page.locator(".maplibregl-popup").bounding_box()
        clip = {
            "x": max(0, box["x"] - 30),
            "y": max(0, box["y"] - 30),
            "width": box["width"] + 60,
            "height": box["height"] + 60,
        }
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / "change-review.png"), clip=clip)
    # Closed, its small maps go.
    page.evaluate("document.querySelector('.maplibregl-popup-close-button').click()")
    assert page.evaluate("window.asmdbImageMaps.change.length") == 0
    page.close()


@pytest.fixture
def spanning_imagery(periods_site, tmp_path):
    """One imagery of 2019 to 2024 on `periods_site`: the best, and only, for both periods."""
    with registered_imagery(
        periods_site["url"], tmp_path, ("s2-2019-2024", GREEN, "2019-01-01/2024-12-31")
    ) as names:
        yield names


def test_the_change_review_says_when_both_periods_show_the_same_imagery(
    browser, periods_site, spanning_imagery
):
    """Before and after resolved to one imagery: said next to the images (no change can show)."""
    with psycopg.connect(periods_site["url"].replace("+psycopg", ""), autocommit=True) as pg:
        lon, lat = pg.execute(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
            "FROM asmdb.latest_change WHERE class = 'new' ORDER BY delta DESC LIMIT 1"
        ).fetchone()
    page = open_map(browser, periods_site["server"])
    page.evaluate(
        "document.querySelector('input[data-layer=change]').click();"
        f"window.asmdbMap.jumpTo({{center: [{lon}, {lat}], zoom: 12}})"
    )
    settle(page)
    page.mouse.click(*screen_position(page, lon, lat))
    wait_for(
        page,
        "document.querySelectorAll('.change-popup figure[data-ready=true]').length === 2",
    )
    figures = page.locator(".change-popup .change-images figure")
    caption = "s2-2019-2024 (2019-01-01 to 2024-12-31)"
    assert figures.nth(0).inner_text() == f"before: {caption}"
    assert figures.nth(1).inner_text() == f"after: {caption}"
    notice = page.locator(".change-popup .same-imagery")
    assert notice.inner_text() == (
        "Before and after are the same imagery (s2-2019-2024): it cannot show a change "
        "between the two periods."
    )
    assert page.errors == []
    page.close()


# A name that is markup, with a space, a quote and a question mark: shown as text, asked for encoded.
NEWER = 'newer <img src=x onerror="window.pwned=1"> é?'


@pytest.fixture
def site_imagery(site, tmp_path):
    """Two imagery on `site`, whose map is given the period 2024 meanwhile (it has none): the
    2024 imagery is drawn."""
    start, end = P2024.split("/")
    with psycopg.connect(site["url"].replace("+psycopg", ""), autocommit=True) as pg:
        pg.execute("UPDATE asmdb.feature_sets SET period_start = %s, period_end = %s", (start, end))
        try:
            with registered_imagery(
                site["url"], tmp_path, ("older", GREEN, P2019), (NEWER, ORANGE, P2024)
            ) as names:
                yield names
        finally:
            pg.execute("UPDATE asmdb.feature_sets SET period_start = NULL, period_end = NULL")


def test_the_tile_review_shows_the_tiles_image(browser, site, site_imagery):
    """The review panel shows the tile under review in the imagery of its map's period, outlined
    and captioned with the imagery's name and dates; so does a tile's popup."""
    page = open_map(browser, site)
    name, password = site["reviewer"]
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#login button[type=submit]")
    page.wait_for_load_state("load")
    wait_for(page, "window.asmdbReady === true && !document.getElementById('review').hidden")
    wait_for(page, "document.querySelector('#review-image figure[data-ready=true]') !== null")
    shown = page.locator("#review-item").inner_text()
    tile_id = int(shown.split("tile")[1].split()[0])
    assert page.locator("#review-image").get_attribute("data-tile-id") == str(tile_id)
    figure = page.locator("#review-image figure")
    figure.scroll_into_view_if_needed()
    assert figure.get_attribute("data-imagery") == NEWER
    assert figure.inner_text() == f"{NEWER} (2024-01-01 to 2024-12-31)"
    assert page.locator("#review-image img").count() == 0
    with psycopg.connect(site["url"].replace("+psycopg", ""), autocommit=True) as pg:
        lon, lat, west = pg.execute(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), ST_XMin(geom) "
            "FROM asmdb.tiles WHERE tile_id = %s",
            (tile_id,),
        ).fetchone()
    assert close(image_map_colour(page, "review", 0, lon, lat, rgb(ORANGE)), rgb(ORANGE))
    assert outlined(page, "review", 0, west, lat)
    # The next item: its own tile.
    page.click("#review-next")
    wait_for(
        page,
        f"document.getElementById('review-image').dataset.tileId !== '{tile_id}' && "
        "document.querySelector('#review-image figure[data-ready=true]') !== null",
    )
    assert page.evaluate("window.asmdbImageMaps.review.length") == 1
    # A tile's popup on the map: its image too.
    page.click("#review-prev")
    page.click("#review-zoom")
    settle(page)
    x, y = screen_position(page, lon, lat)
    page.mouse.click(x, y)
    wait_for(page, "document.querySelector('.popup-image figure[data-ready=true]') !== null")
    assert page.locator(".popup-image figure").get_attribute("data-imagery") == NEWER
    assert page.evaluate("window.pwned === undefined")
    assert page.errors == []
    page.close()
