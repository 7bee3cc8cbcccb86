"""Registered imagery on the web map: `/api/imagery` lists it and `/imagery/{name}/tiles/...`
draws it as true-colour PNGs, for registered names only, with the map layers' access rule, as the
visitor's role, and with cache headers that never show a deleted registration's pictures.

One database of the session's password cluster (logins need one), two servers on it as the
reader: one `--public`, one not."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import morecantile
import numpy as np
import psycopg
import pytest
import rasterio
from PIL import Image
from psycopg import sql
from rasterio.transform import from_origin

from asm_db import layers
from asm_db.db.engine import create_engine
from asm_db.imagery.registry import add_imagery, delete_imagery, get_imagery
from asm_db.imagery.web_tiles import MAX_SOURCE_PIXELS, file_facts, file_state
from asm_db.server.imagery import (
    EMPTY_HEADER,
    NO_STORE,
    REVALIDATE,
    Busy,
    ClientGone,
    Drawings,
    FailureLog,
    Renders,
)

from conftest import run_asmdb
from rasters import EAST, NORTH, SOUTH, WEST, write_blocks
from web_server import as_role, serve

pytestmark = [
    pytest.mark.slow,  # starts two web servers
    pytest.mark.xdist_group("server_imagery"),  # the module's servers, on one worker
]

TMS = morecantile.tms.get("WebMercatorQuad")
PERIOD = "2024-01-01/2024-12-31"
# Quadrants of "quads", stored numbers per band in the files' order (blue, green, red): the
# south-east quadrant is nodata (0). Scale and offset make values of 0.0 to 0.2.
QUADS = np.array(
    [
        [[1000, 3000], [2000, 0]],  # blue
        [[2000, 1000], [3000, 0]],  # green
        [[3000, 2000], [1000, 0]],  # red
    ]
)
SCALE, OFFSET = 0.0001, -0.1
MID_LON, MID_LAT = (WEST + EAST) / 2, (SOUTH + NORTH) / 2
Z = 16  # a tile of 0.0055 degrees: well inside a quadrant of 0.02


def _tile_at(lon: float, lat: float, z: int = Z) -> str:
    t = TMS.tile(lon, lat, z)
    return f"{t.z}/{t.x}/{t.y}"


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    # RGBA where a pixel has no data; RGB (every pixel drawn) otherwise.
    assert image.size == (256, 256) and image.mode in ("RGBA", "RGB")
    return np.asarray(image.convert("RGBA"))


def _pixel(lon: float, lat: float, z: int, x: int, y: int) -> tuple[int, int]:
    """The (row, column) of a point in a 256-pixel tile."""
    w, s, e, n = TMS.xy_bounds(morecantile.Tile(x, y, z))
    px, py = TMS.xy(lon, lat)
    return int((n - py) / (n - s) * 256), int((px - w) / (e - w) * 256)


def _expected(record, stored: list[int]) -> list[int]:
    """The colour (red, green, blue) the recorded stretch gives stored numbers (band order): the
    bands named so, else the first three."""
    out = []
    for i, name in enumerate(("red", "green", "blue")):
        b = record.bands.index(name) if name in record.bands else i
        low, high = record.stretch[record.bands[b]]
        value = stored[b] * record.scale[b] + record.offset[b]
        out.append(int(np.clip((value - low) / (high - low), 0, 1) * 255))
    return out


@pytest.fixture(scope="module")
def imagery_site(password_cluster, tmp_path_factory):
    """A migrated database with three imagery registered (quads, pair, doomed), its reader with
    a password, and `asmdb serve` as the reader: `--public` and not."""
    folder = tmp_path_factory.mktemp("imagery_site")
    url = password_cluster.create_database()
    done = run_asmdb(url, "db", "upgrade")
    assert done.code == 0, done.stderr
    engine = create_engine(url)
    quads = write_blocks(
        folder / "quads.tif",
        QUADS,
        nodata=0,
        descriptions=("blue", "green", "red"),
        scales=(SCALE,) * 3,
        offsets=(OFFSET,) * 3,
    )
    add_imagery(engine, "quads", [str(quads)], period=PERIOD)
    # Two files overlapping in the middle: the later one's pixels win there.
    left = write_blocks(
        folder / "left.tif", np.full((3, 1, 1), 1000), bounds=(WEST, SOUTH, MID_LON + 0.005, NORTH)
    )
    right = write_blocks(
        folder / "right.tif", np.full((3, 1, 1), 3000), bounds=(MID_LON - 0.005, SOUTH, EAST, NORTH)
    )
    add_imagery(engine, "pair", [str(left), str(right)], period="2023-01-01/2023-12-31")
    doomed = shutil.copy(quads, folder / "doomed.tif")
    add_imagery(engine, "doomed", [str(doomed)], period=PERIOD)
    reader, password = f"img_reader_{uuid.uuid4().hex[:6]}", "reader-pw-9"
    done = run_asmdb(url, "roles", "create", "--name", reader, "--password", password)
    assert done.code == 0, done.stderr
    server_url = as_role(url, reader, password)
    with serve(server_url, "--public") as public, serve(server_url) as private:
        yield {
            "url": url,
            "engine": engine,
            "folder": folder,
            "reader": (reader, password),
            "public": public,
            "private": private,
        }
    engine.dispose()


def _client(site, which: str = "public") -> httpx.Client:
    return httpx.Client(base_url=site[which].url, timeout=60)


def _login(site, which: str = "public") -> httpx.Client:
    c = _client(site, which)
    name, password = site["reader"]
    r = c.post("/api/login", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return c


def _admin(site) -> psycopg.Connection:
    return psycopg.connect(site["url"].replace("+psycopg", ""), autocommit=True)


def _tile_url(name: str, tile: str) -> str:
    return layers.IMAGERY.tiles_of(name).replace("{z}/{x}/{y}", tile)


def test_the_list_has_each_imagery_by_period_as_the_cli_lists_it(imagery_site):
    r = _client(imagery_site).get("/api/imagery")
    assert r.status_code == 200, r.text
    listed = r.json()["imagery"]
    assert [x["name"] for x in listed] == ["pair", "doomed", "quads"]  # by period, then name
    quads = listed[2]
    assert quads["period_start"] == "2024-01-01" and quads["period_end"] == "2024-12-31"
    assert quads["bands"] == ["blue", "green", "red"]
    assert quads["bounds"] == pytest.approx([WEST, SOUTH, EAST, NORTH])
    assert quads["tiles"] == "/imagery/quads/tiles/WebMercatorQuad/{z}/{x}/{y}.png"
    done = run_asmdb(imagery_site["url"], "imagery", "list", "--json")
    assert done.code == 0, done.stderr
    cli = {x["name"]: x for x in json.loads(done.stdout)}
    keys = ("name", "period_start", "period_end", "bounds", "bands")
    for item in listed:
        assert {k: item[k] for k in keys} == {k: cli[item["name"]][k] for k in keys}


def test_the_list_for_a_period_and_bbox_is_ranked_by_the_exports_rule(imagery_site):
    """With a period (and a bbox): only the imagery meeting them, best first, as listed whole."""
    c = _client(imagery_site)
    whole = {x["name"]: x for x in c.get("/api/imagery").json()["imagery"]}

    def ranked(**params) -> list[str]:
        r = c.get("/api/imagery", params=params)
        assert r.status_code == 200, r.text
        items = r.json()["imagery"]
        assert all(x == whole[x["name"]] for x in items)  # the same objects as the full list
        return [x["name"] for x in items]

    assert ranked(period=PERIOD) == ["doomed", "quads"]  # the same share: by name
    # More of its days in common than the other's share of the union: "pair" (2023) first.
    assert ranked(period="2023-06-01/2024-06-30") == ["pair", "doomed", "quads"]
    assert ranked(period="2020-01-01/2020-12-31") == []
    inside = f"{WEST + 0.001},{SOUTH + 0.001},{MID_LON},{MID_LAT}"
    assert ranked(period="2023-06-01/2024-06-30", bbox=inside) == ["pair", "doomed", "quads"]
    assert ranked(period=PERIOD, bbox="30,10,30.1,10.1") == []  # none meets it
    assert ranked(period="2024-06-01/2024-06-01", bbox=f"{WEST},{SOUTH},{EAST},{NORTH}") == [
        "doomed",
        "quads",
    ]


@pytest.mark.parametrize(
    "query",
    [
        "period=2024-12-31/2024-01-01",  # reversed
        "period=2024-01-01",
        "period=2024-01-01/2024-12-31/2025-01-01",
        "period=2024-02-30/2024-12-31",
        "period=24-01-01/2024-12-31",
        "period=%D9%A2%D9%A0%D9%A2%D9%A4-01-01/2024-12-31",  # Arabic-Indic digits
        "period=2024-01-01'%20OR%20'1'='1/2024-12-31",
        "period=2024-01-01/2024-12-31%00",
        "period=" + "2024-01-01/" * 30,
        "period=2024-01-01/2024-12-31&bbox=NaN,8,-10,9",
        "period=2024-01-01/2024-12-31&bbox=-11,8,inf,9",
        "period=2024-01-01/2024-12-31&bbox=-11,8,-10",
        "period=2024-01-01/2024-12-31&bbox=-11,8,-10,9,1,2",
        "period=2024-01-01/2024-12-31&bbox=-10,8,-11,9",  # west east of east
        "period=2024-01-01/2024-12-31&bbox=-11,8,-11,9",  # no width
        "period=2024-01-01/2024-12-31&bbox=-200,8,-10,9",
        "period=2024-01-01/2024-12-31&bbox=-11,-95,-10,9",
        "period=2024-01-01/2024-12-31&bbox=-11,8,-10,9);DROP%20TABLE%20asmdb.imagery;--",
        "period=2024-01-01/2024-12-31&bbox=" + "1," * 200 + "1",
        "bbox=-11,8,-10,9",  # no period
    ],
)
def test_a_bad_period_or_bbox_is_refused_with_one_line(imagery_site, query):
    r = _client(imagery_site).get(httpx.URL(imagery_site["public"].url + "/api/imagery?" + query))
    assert 400 <= r.status_code < 500, (query, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.text
    assert "Traceback" not in body and "SELECT" not in body and "psycopg" not in body
    if r.status_code == 400:
        assert "\n" not in r.json()["detail"]
    with _admin(imagery_site) as pg:
        assert pg.execute("SELECT count(*) FROM asmdb.imagery").fetchone()[0] == 3


def test_a_tile_is_true_colour_from_the_named_bands_stretched_and_clear_where_empty(imagery_site):
    record = get_imagery(imagery_site["engine"], "quads")
    c = _client(imagery_site)
    quarter = 0.01
    for (lon, lat), stored in (
        ((WEST + quarter, NORTH - quarter), QUADS[:, 0, 0]),
        ((EAST - quarter, NORTH - quarter), QUADS[:, 0, 1]),
        ((WEST + quarter, SOUTH + quarter), QUADS[:, 1, 0]),
    ):
        pixels = _png(c.get(_tile_url("quads", _tile_at(lon, lat))))
        assert (pixels[..., 3] == 255).all()
        colour = _expected(record, list(stored))
        assert np.abs(pixels[..., :3].astype(int) - colour).max() <= 1, (stored, colour)
    # The north-west quadrant: red band 3000 (the top of its stretch), blue 1000 (the bottom).
    assert _expected(record, list(QUADS[:, 0, 0]))[0] == 255
    empty = _png(c.get(_tile_url("quads", _tile_at(EAST - quarter, SOUTH + quarter))))
    assert (empty[..., 3] == 0).all()


def test_a_tile_over_the_edge_is_clear_outside_and_a_tile_far_away_is_all_clear(imagery_site):
    c = _client(imagery_site)
    z = 13
    t = TMS.tile(WEST, NORTH - 0.01, z)
    pixels = _png(c.get(_tile_url("quads", f"{z}/{t.x}/{t.y}")))
    inside = _pixel(WEST + 0.002, NORTH - 0.01, z, t.x, t.y)
    outside = _pixel(WEST - 0.002, NORTH - 0.01, z, t.x, t.y)
    assert pixels[inside][3] == 255 and pixels[outside][3] == 0
    far = _png(c.get(_tile_url("quads", _tile_at(30.0, 10.0))))
    assert (far[..., 3] == 0).all()


def test_two_files_are_one_mosaic_where_the_later_file_wins(imagery_site):
    record = get_imagery(imagery_site["engine"], "pair")
    black, white = _expected(record, [1000] * 3), _expected(record, [3000] * 3)
    assert black != white
    z = 13
    t = TMS.tile(MID_LON, MID_LAT, z)
    pixels = _png(_client(imagery_site).get(_tile_url("pair", f"{z}/{t.x}/{t.y}")))
    for lon, colour in ((WEST + 0.003, black), (MID_LON, white), (EAST - 0.003, white)):
        r, col = _pixel(lon, MID_LAT, z, t.x, t.y)
        assert pixels[r, col, 3] == 255
        assert list(pixels[r, col, :3]) == pytest.approx(colour, abs=1), lon


def test_an_unknown_or_hostile_name_is_refused_and_shows_nothing(imagery_site):
    c = _client(imagery_site)
    tile = _tile_at(MID_LON, MID_LAT)
    unknown = c.get(_tile_url("nothing-here", tile))
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no imagery named 'nothing-here'"
    hostile = [
        f"/imagery/..%2F..%2Fetc%2Fpasswd/tiles/WebMercatorQuad/{tile}.png",
        f"/imagery/..%2Fquads/tiles/WebMercatorQuad/{tile}.png",
        f"/imagery/%00/tiles/WebMercatorQuad/{tile}.png",
        f"/imagery/quads%00/tiles/WebMercatorQuad/{tile}.png",
        f"/imagery/{'a' * 300}/tiles/WebMercatorQuad/{tile}.png",
        f"/imagery/quads%5C..%5C/tiles/WebMercatorQuad/{tile}.png",
        _tile_url("quads' OR '1'='1", tile),
        _tile_url("quads'; DROP TABLE asmdb.imagery; --", tile),
        f"/imagery/%2Ftmp%2Fquads.tif/tiles/WebMercatorQuad/{tile}.png",
    ]
    for path in hostile:
        r = c.get(httpx.URL(imagery_site["public"].url + path))
        assert 400 <= r.status_code < 500, (path, r.status_code)
        assert r.headers["content-type"].startswith("application/json"), path
        body = r.text
        assert str(imagery_site["folder"]) not in body and "Traceback" not in body, path
        assert "SELECT" not in body and "psycopg" not in body, path
    with _admin(imagery_site) as pg:
        assert pg.execute("SELECT count(*) FROM asmdb.imagery").fetchone()[0] == 3


@pytest.mark.parametrize(
    ("tile", "status"),
    [("25/0/0", 422), ("-1/0/0", 422), ("3/8/0", 404), ("3/0/8", 404), ("3/-1/0", 422),
     ("3/0/x", 422), ("0/99999999999999999999/0", 404)],
)  # fmt: skip
def test_a_tile_outside_the_tile_matrix_is_refused(imagery_site, tile, status):
    r = _client(imagery_site).get(f"/imagery/quads/tiles/WebMercatorQuad/{tile}.png")
    assert r.status_code == status, r.text


def test_imagery_needs_a_login_unless_the_server_is_public(imagery_site):
    tile = _tile_url("quads", _tile_at(WEST + 0.01, NORTH - 0.01))
    anonymous = _client(imagery_site, "private")
    for path in ("/api/imagery", tile):
        r = anonymous.get(path)
        assert r.status_code == 401, r.text
        assert r.headers["cache-control"] == NO_STORE
    assert anonymous.get("/api/config").json()["imagery"] is None
    logged_in = _login(imagery_site, "private")
    assert [x["name"] for x in logged_in.get("/api/imagery").json()["imagery"]][0] == "pair"
    r = logged_in.get(tile)
    _png(r)
    assert r.headers["cache-control"] == NO_STORE and "etag" not in r.headers
    public = _client(imagery_site)
    assert public.get("/api/config").json()["imagery"] == layers.imagery_config()
    assert public.get("/api/imagery").status_code == 200


def test_anonymous_visitors_read_imagery_as_the_public_role(imagery_site):
    """Without its grant the public role may not read the registry: the server is refused;
    `asmdb roles create` again gives it back."""
    reader = imagery_site["reader"][0]
    tile = _tile_url("quads", _tile_at(WEST + 0.01, NORTH - 0.01))
    c = _client(imagery_site)
    with _admin(imagery_site) as pg:
        # What it is drawn from the server reads as the reader: the public role may not.
        for column in ("files", "scale", "offset", "stretch"):
            assert not pg.execute(
                "SELECT has_column_privilege(%s, 'asmdb.imagery', %s, 'SELECT')",
                (f"{reader}_public", column),
            ).fetchone()[0]
        _png(c.get(tile))
        pg.execute(
            sql.SQL("REVOKE ALL ON asmdb.imagery FROM {}").format(
                sql.Identifier(f"{reader}_public")
            )
        )
    try:
        for path in ("/api/imagery", tile):
            r = c.get(path)
            assert r.status_code == 403, r.text
            assert r.json() == {"detail": "permission denied"}
        # A logged-in visitor reads as the reader itself.
        assert _login(imagery_site).get(tile).status_code == 200
    finally:
        done = run_asmdb(imagery_site["url"], "roles", "create", "--name", reader)
        assert done.code == 0, done.stderr
    assert c.get("/api/imagery").status_code == 200
    _png(c.get(tile))


def test_a_public_tile_is_revalidated_and_changes_with_its_registration(imagery_site, tmp_path):
    c = _client(imagery_site)
    tile = _tile_url("quads", _tile_at(WEST + 0.01, NORTH - 0.01))
    first = c.get(tile)
    _png(first)
    assert first.headers["cache-control"] == REVALIDATE
    etag = first.headers["etag"]
    again = c.get(tile, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert _login(imagery_site).get(tile).headers["cache-control"] == NO_STORE
    # Deleted and registered again under the same name, from other pixels: another ETag.
    engine = imagery_site["engine"]
    old = get_imagery(engine, "quads")
    delete_imagery(engine, "quads")
    other = write_blocks(
        tmp_path / "other.tif", np.full((3, 2, 2), 2000) + np.arange(3)[:, None, None]
    )
    try:
        add_imagery(engine, "quads", [str(other)], period=PERIOD)
        renewed = c.get(tile, headers={"If-None-Match": etag})
        assert renewed.status_code == 200 and renewed.headers["etag"] != etag
        assert renewed.content != first.content
    finally:
        delete_imagery(engine, "quads")
        add_imagery(engine, "quads", old.files, period=PERIOD)


def test_a_file_gone_is_a_one_line_error_without_its_path(imagery_site):
    path = get_imagery(imagery_site["engine"], "doomed").files[0]
    tile = _tile_url("doomed", _tile_at(WEST + 0.01, NORTH - 0.01))
    c = _client(imagery_site)
    _png(c.get(tile))
    with open(path, "rb") as f:
        kept = f.read()
    os.unlink(path)

    def lines() -> list[str]:
        return [x for x in imagery_site["public"].log().splitlines() if "doomed.tif" in x]

    logged = len(lines())
    try:
        # A visitor asking again and again: one line in the log a minute, not one a tile.
        for k in range(6):
            r = c.get(_tile_url("doomed", _tile_at(WEST + 0.011 + 0.001 * k, NORTH - 0.011, 17)))
            assert r.status_code == 500
            assert r.json() == {"detail": "imagery 'doomed' cannot be read on this server"}
            assert r.headers["cache-control"] == NO_STORE
        assert len(lines()) == logged + 1
    finally:
        with open(path, "wb") as f:
            f.write(kept)


def _kept(client: httpx.Client) -> dict:
    return client.get("/healthz").json()["imagery_cache"]


def test_a_kept_tile_is_served_only_to_who_may_read_the_imagery(imagery_site):
    """The server keeps the tiles it drew, but looks for one only after the access check and the
    lookup as the visitor: an anonymous visitor of a server that is not public still gets a 401,
    and a visitor whose role may not read the registry a 403."""
    tile = _tile_url("quads", _tile_at(WEST + 0.012, NORTH - 0.012))
    logged_in = _login(imagery_site, "private")
    first = logged_in.get(tile)
    _png(first)
    before = _kept(logged_in)
    again = logged_in.get(tile)
    assert again.content == first.content and again.headers["cache-control"] == NO_STORE
    assert _kept(logged_in)["hits"] == before["hits"] + 1
    anonymous = _client(imagery_site, "private")
    r = anonymous.get(tile)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/json")
    assert _kept(logged_in)["hits"] == before["hits"] + 1
    # On the public server: kept for a logged-in visitor, refused to an anonymous one whose role
    # lost its grant.
    public_tile = _login(imagery_site).get(tile)
    _png(public_tile)
    reader = imagery_site["reader"][0]
    with _admin(imagery_site) as pg:
        pg.execute(
            sql.SQL("REVOKE ALL ON asmdb.imagery FROM {}").format(
                sql.Identifier(f"{reader}_public")
            )
        )
    try:
        r = _client(imagery_site).get(tile)
        assert r.status_code == 403 and r.json() == {"detail": "permission denied"}
    finally:
        done = run_asmdb(imagery_site["url"], "roles", "create", "--name", reader)
        assert done.code == 0, done.stderr


def test_a_kept_tile_is_drawn_again_when_its_file_changes(imagery_site, tmp_path):
    engine = imagery_site["engine"]
    path = write_blocks(tmp_path / "changing.tif", np.full((3, 2, 2), 1000))
    add_imagery(engine, "changing", [str(path)], period=PERIOD)
    try:
        tile = _tile_url("changing", _tile_at(MID_LON, MID_LAT))
        c = _client(imagery_site)
        answer = c.get(tile)
        first, etag = _png(answer), answer.headers["etag"]
        before = _kept(c)["hits"]
        assert (_png(c.get(tile)) == first).all() and _kept(c)["hits"] == before + 1
        assert c.get(tile, headers={"If-None-Match": etag}).status_code == 304
        write_blocks(path, np.full((3, 2, 2), 3000))  # written again in place, same size
        answer = c.get(tile, headers={"If-None-Match": etag})
        second = _png(answer)
        assert answer.headers["etag"] != etag
        assert (second[..., 3] == 255).all()
        assert (second[..., :3].astype(int) > first[..., :3].astype(int)).all()
    finally:
        delete_imagery(engine, "changing")


BIG = 8192  # pixels a side of a file without overviews: its country zooms would read it whole


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> str:
    """One band of 8192 x 8192 pixels of 0.0001 degrees (about 11 m), no overviews."""
    path = tmp_path_factory.mktemp("big") / "big.tif"
    ramp = (np.add.outer(np.arange(BIG), np.arange(BIG)) // 64 % 200 + 20).astype(np.uint8)
    profile = dict(
        driver="GTiff", width=BIG, height=BIG, count=1, dtype="uint8", crs="EPSG:4326",
        transform=from_origin(WEST, NORTH, 0.0001, 0.0001), tiled=True, blockxsize=512,
        blockysize=512, compress="DEFLATE",
    )  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(ramp[None])
    return str(path)


@pytest.fixture
def big(imagery_site, big_file):
    """The large file registered as imagery 'big' for one test."""
    add_imagery(imagery_site["engine"], "big", [big_file], period="2010-01-01/2010-12-31")
    try:
        yield big_file
    finally:
        delete_imagery(imagery_site["engine"], "big")


def _renders(client: httpx.Client) -> dict:
    return client.get("/healthz").json()["imagery_renders"]


def test_no_tile_reads_more_than_the_cap_and_the_list_says_where_tiles_start(imagery_site, big):
    """Below an imagery's lowest zoom (where a tile would read more than MAX_SOURCE_PIXELS of a
    file), a tile is transparent and says why, and nothing is read; the list gives that zoom."""
    facts = file_facts(big, file_state(big))
    lowest = facts.min_zoom()
    assert lowest > 0
    assert facts.source_pixels(lowest - 1) > MAX_SOURCE_PIXELS >= facts.source_pixels(lowest)
    c = _client(imagery_site)
    listed = {x["name"]: x for x in c.get("/api/imagery").json()["imagery"]}
    assert listed["big"]["minzoom"] == lowest
    assert {listed[n]["minzoom"] for n in ("quads", "pair", "doomed")} == {0}  # small files
    ranked = c.get("/api/imagery", params={"period": "2010-01-01/2010-12-31"}).json()["imagery"]
    assert [(x["name"], x["minzoom"]) for x in ranked] == [("big", lowest)]
    before = _renders(c)
    for z in (0, 3, lowest - 1):
        r = c.get(_tile_url("big", _tile_at(WEST + 0.1, NORTH - 0.1, z)))
        assert (_png(r)[..., 3] == 0).all()
        assert r.headers[EMPTY_HEADER] == f"too-coarse; minzoom={lowest}"
    assert _renders(c)["started"] == before["started"]  # nothing was read
    r = c.get(_tile_url("big", _tile_at(WEST + 0.1, NORTH - 0.1, lowest)))
    assert (_png(r)[..., 3] == 255).any() and EMPTY_HEADER not in r.headers
    assert _renders(c)["started"] == before["started"] + 1


def test_tiles_past_the_waiting_limit_are_refused_at_once(imagery_site, big):
    """One tile drawn at a time and none waiting: the others asked meanwhile are a 503 with
    Retry-After, answered without waiting."""
    env = {
        "ASMDB_IMAGERY_RENDERS": "1",
        "ASMDB_IMAGERY_WAITING": "0",
        "ASMDB_IMAGERY_CACHE_MB": "0",
    }
    lowest = file_facts(big, file_state(big)).min_zoom()
    tiles = {_tile_at(WEST + 0.05 * k, NORTH - 0.05 * k, lowest) for k in range(1, 12)}
    url = as_role(imagery_site["url"], *imagery_site["reader"])
    with serve(url, "--public", env=env) as server:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            c.get("/api/imagery")  # the files' facts, read once

            def ask(tile: str) -> httpx.Response:
                return c.get(_tile_url("big", tile))

            with ThreadPoolExecutor(len(tiles)) as pool:
                answers = list(pool.map(ask, sorted(tiles)))
            counts = _renders(c)
    statuses = sorted(r.status_code for r in answers)
    assert 200 in statuses and 503 in statuses, statuses
    for r in answers:
        if r.status_code == 503:
            assert r.headers["retry-after"] == "1"
            assert r.json() == {
                "detail": "too many imagery tiles waiting to be drawn: ask again shortly"
            }
            assert r.headers["cache-control"] == NO_STORE
    assert counts["refused"] == statuses.count(503)
    assert counts["started"] == statuses.count(200)


def test_a_tile_waits_only_while_there_is_room_and_is_not_drawn_once_its_client_left():
    """`Renders`: one turn, one place to wait; a third tile is refused at once (Busy), and the
    waiting one, whose client leaves before its turn, is never drawn (ClientGone)."""
    ran: list[str] = []
    results: dict[str, object] = {}
    release = threading.Event()
    left = threading.Event()

    def slow() -> bytes:
        release.wait(10)
        ran.append("slow")
        return b"slow"

    def quick() -> bytes:
        ran.append("quick")
        return b"quick"

    async def main() -> Renders:
        renders = Renders(limit=1, waiting=1)

        async def ask(key: str, func, gone=lambda: False) -> None:
            try:
                results[key] = await renders.run(func, gone)
            except (Busy, ClientGone) as exc:
                results[key] = type(exc).__name__

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ask, "first", slow)
            await anyio.sleep(0.2)  # the first has the one turn
            tasks.start_soon(ask, "waiting", quick, left.is_set)
            await anyio.sleep(0.2)
            await ask("third", quick)
            left.set()
            release.set()
        return renders

    renders = anyio.run(main)
    assert results == {"first": b"slow", "waiting": "ClientGone", "third": "Busy"}
    assert ran == ["slow"]
    assert (renders.started, renders.refused, renders.abandoned) == (1, 1, 1)


def test_failed_tiles_are_logged_once_an_imagery_a_minute_with_how_many_were_not():
    now = [0.0]
    failures = FailureLog(every=60, clock=lambda: now[0])
    assert failures.failed(1) == 0  # logged
    assert [failures.failed(1) for _ in range(5)] == [None] * 5
    assert failures.failed(2) == 0  # another imagery has its own minute
    now[0] = 59.9
    assert failures.failed(1) is None
    now[0] = 60.0
    assert failures.failed(1) == 6  # logged, with the six not logged
    assert failures.failed(1) is None


def test_the_etag_is_opaque_and_if_none_match_is_read_as_a_list(imagery_site):
    c = _client(imagery_site)
    tile = _tile_url("quads", _tile_at(WEST + 0.01, NORTH - 0.01))
    etag = c.get(tile).headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag), etag
    with _admin(imagery_site) as pg:
        imagery_id, created = pg.execute(
            "SELECT imagery_id, extract(epoch FROM created_at) FROM asmdb.imagery "
            "WHERE name = 'quads'"
        ).fetchone()
    assert f"{created:.0f}" not in etag and f'"{imagery_id}-' not in etag
    inner = etag.strip('"')
    for header in (etag, f'"other", {etag}', f"W/{etag}", f'"a" ,W/{etag} , "b"', "*"):
        assert c.get(tile, headers={"If-None-Match": header}).status_code == 304, header
    for header in ('"other"', inner, f'"x{inner}"', f'"{inner}x"', f'x{etag}', f"{etag}x",
                   f'"a{etag}"', "W/", "", ",", "**"):  # fmt: skip
        r = c.get(tile, headers={"If-None-Match": header})
        assert r.status_code == 200 and r.headers["etag"] == etag, header


def test_what_a_registration_is_drawn_from_is_kept_by_registration_the_oldest_let_go():
    drawings = Drawings(keep=2)
    drawings.put((1, "t1"), ("a",))
    drawings.put((2, "t2"), ("b",))
    assert drawings.get((1, "t1")) == ("a",)  # used: now the newest
    drawings.put((3, "t3"), ("c",))
    assert drawings.get((2, "t2")) is None and drawings.get((1, "t1")) == ("a",)
    # The same id registered again (a name deleted and added) is another registration.
    assert drawings.get((1, "t9")) is None
