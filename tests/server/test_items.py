"""`asmdb serve` over HTTP: the OGC API (collections, items, vector tiles), who may read and
write, review answers and their conflicts, and injection attempts through every parameter.

One trained sample database and one running server (the installed command) per module."""

from __future__ import annotations

import io
import json
import uuid
import xml.etree.ElementTree as ET
import zipfile

import cql2
import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest

from asm_db import layers

from conftest import drop_roles, run_asmdb, throwaway_db
from web_server import as_role, serve

pytestmark = pytest.mark.slow  # starts the web server on a trained database

PUBLIC = sorted(x.collection_id for x in layers.public())
PRIVATE = sorted(x.collection_id for x in layers.served() if not x.public)
TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def site(password_cluster, sample):
    """A trained sample database with a review queue, two reviewers and a reader, in a cluster
    that checks passwords (the roles go with it)."""
    suffix = uuid.uuid4().hex[:6]
    roles = {
        "ana": (f"web_ana_{suffix}", "ana-pw-1"),
        "ben": (f"web_ben_{suffix}", "ben-pw-2"),
        "reader": (f"web_reader_{suffix}", "reader-pw-3"),
    }
    url = password_cluster.create_database()
    for args in (
        ("db", "upgrade"),
        ("ingest", "labels", str(sample.labels)),
        ("ingest", "features", str(sample.features)),
        ("train", "--cv", "seed", "--bootstrap", "0"),
        ("review", "queue", "--min-label-distance", "0"),
    ):
        done = run_asmdb(url, *args)
        assert done.code == 0, done.stderr
    for key, (name, password) in roles.items():
        extra = ("--reviewer",) if key != "reader" else ()
        done = run_asmdb(url, "roles", "create", "--name", name, "--password", password, *extra)
        assert done.code == 0, done.stderr
    # The server runs as the reader role, with its password.
    server_url = as_role(url, *roles["reader"])
    with serve(server_url, "--public") as server:
        yield {"url": url, "server_url": server_url, "server": server, "roles": roles}


@pytest.fixture
def pg(site):
    with psycopg.connect(site["url"].replace("+psycopg", ""), autocommit=True) as conn:
        yield conn


def client(site, who: str | None = None) -> httpx.Client:
    c = httpx.Client(base_url=site["server"].url, timeout=60)
    if who is not None:
        name, password = site["roles"][who]
        r = c.post("/api/login", json={"username": name, "password": password})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


def collection_ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(c["id"] for c in response.json()["collections"])


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


def test_every_declared_layer_is_served_styled_in_the_project_and_offered(site, pg):
    """Each layer `asm_db.layers` declares: in the catalog when served, with a default QGIS
    style, in the stored project in its order, and offered to the page by /api/config exactly
    when the visitor may read it; never a layer it does not declare."""
    done = run_asmdb(site["url"], "qgis", "install")
    assert done.code == 0, done.stderr
    served = sorted(x.collection_id for x in layers.served())
    public = sorted(x.collection_id for x in layers.public())
    anonymous, ana = client(site), client(site, "ana")
    assert collection_ids(anonymous.get("/collections")) == public
    assert collection_ids(ana.get("/collections")) == served
    styled = pg.execute(
        "SELECT f_table_name FROM public.layer_styles WHERE f_table_schema = 'asmdb' "
        "AND stylename = 'asmdb' AND useasdefault"
    ).fetchall()
    assert sorted(r[0] for r in styled) == sorted(x.table for x in layers.LAYERS)
    content = pg.execute("SELECT content FROM asmdb.qgis_projects WHERE name = 'asmdb'").fetchone()
    with zipfile.ZipFile(io.BytesIO(content[0])) as archive:
        document = ET.fromstring(archive.read("asmdb.qgs"))
    assert [node.get("name") for node in document.iter("layer-tree-layer")] == [
        x.project.title for x in layers.in_project()
    ]
    for visitor, readable in ((anonymous, public), (ana, served)):
        config = visitor.get("/api/config").json()
        assert sorted(config["collections"]) == readable
        assert [x["collection"] for x in config["layers"]] == [
            x.collection_id for x in layers.drawn() if x.collection_id in readable
        ]
        for offered in config["layers"]:
            layer = layers.BY_COLLECTION[offered["collection"]]
            assert offered == layers.web_config(layer)
            assert offered["kind"] in layers.WEB_KINDS


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


def test_anonymous_sees_map_layers_only(site):
    c = client(site)
    for collection in PRIVATE:
        assert c.get(f"/collections/{collection}/items").status_code == 401
        assert (
            c.get(f"/collections/{collection}/tiles/WebMercatorQuad/10/480/487").status_code == 401
        )
    assert c.get("/api/review").status_code == 401
    tile = c.get("/collections/asmdb.latest_predictions/items?limit=1").json()["features"][0]
    info = c.get(f"/api/tiles/{tile['id']}").json()
    assert info["probability"] == pytest.approx(tile["properties"]["probability"])
    assert info["labels"] is None  # site locations need a login
    assert (info["map_id"], info["period"]) == (pg_map(site), None)  # the sample has no period
    # A period's map by its id, but never a map that is not shown.
    assert c.get(f"/api/tiles/{tile['id']}", params={"map_id": pg_map(site)}).status_code == 200
    assert c.get(f"/api/tiles/{tile['id']}", params={"map_id": 999}).status_code == 404
    assert c.get(f"/api/tiles/{tile['id']}", params={"map_id": "1 OR 1=1"}).status_code == 422
    assert c.get("/api/similar", params={"confirmed": "true"}).status_code == 401


def pg_map(site) -> int:
    with psycopg.connect(site["url"].replace("+psycopg", "")) as conn:
        return conn.execute("SELECT asmdb.promoted_map()").fetchone()[0]


def test_private_server_needs_a_login_for_everything(site):
    with serve(site["server_url"]) as server:
        c = httpx.Client(base_url=server.url, timeout=60)
        assert c.get("/collections").status_code == 401
        assert c.get("/collections/asmdb.latest_predictions/items").status_code == 401
        assert c.get("/api/tiles/1").status_code == 401
        assert c.get("/api/periods").status_code == 401
        tile = "/collections/asmdb.latest_overviews/tiles/WebMercatorQuad/6/30/30"
        assert c.get(tile).status_code == 401
        assert c.get(tile).status_code == 401  # the tile cache answers no one without a login
        assert c.get("/").status_code == 200  # the page, with its login form
        name, password = site["roles"]["reader"]
        assert (
            c.post("/api/login", json={"username": name, "password": password}).status_code == 200
        )
        assert c.get("/collections/asmdb.labels/items?limit=1").status_code == 200
        periods = c.get("/api/periods").json()["periods"]
        shown = pg_map(site)
        assert [p["map_id"] for p in periods] == [shown]
        assert c.get(tile).status_code == 200


def _queue(pg, review_id):
    return pg.execute(
        "SELECT status, reviewer, reviewed_at, notes FROM asmdb.review_queue WHERE review_id = %s",
        (review_id,),
    ).fetchone()


def test_only_a_reviewer_with_a_token_can_write(site, pg):
    before = pg.execute(
        "SELECT md5(string_agg(q::text, '|' ORDER BY review_id)) FROM asmdb.review_queue q"
    ).fetchone()
    answer = {"status": "confirmed", "notes": "x"}
    assert client(site).post("/api/review/3", json=answer).status_code == 401
    ana = client(site, "ana")
    no_token = httpx.Client(base_url=site["server"].url, cookies=ana.cookies, timeout=60)
    assert no_token.post("/api/review/3", json=answer).status_code == 403
    forged = ana.post("/api/review/3", json=answer, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    cross_site = ana.post("/api/review/3", json=answer, headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    # A reader is refused by PostgreSQL's grants, not by the page.
    reader = client(site, "reader")
    assert reader.get("/api/session").json()["can_review"] is False
    assert reader.post("/api/review/3", json=answer).status_code == 403
    after = pg.execute(
        "SELECT md5(string_agg(q::text, '|' ORDER BY review_id)) FROM asmdb.review_queue q"
    ).fetchone()
    assert before == after


def test_an_answer_by_someone_else_is_replaced_only_by_choice(site, pg):
    ana, ben = client(site, "ana"), client(site, "ben")
    ana_name, ben_name = site["roles"]["ana"][0], site["roles"]["ben"][0]
    r = ana.post("/api/review/5", json={"status": "confirmed", "notes": "fresh pit"})
    assert r.status_code == 200, r.text
    status, reviewer, reviewed_at, notes = _queue(pg, 5)
    assert (status, reviewer, notes) == ("confirmed", ana_name, "fresh pit")
    # Ben does not overwrite it unseen: he is told who answered and when.
    r = ben.post("/api/review/5", json={"status": "rejected", "notes": "a road"})
    assert r.status_code == 409
    current = r.json()["current"]
    assert current["reviewer"] == ana_name and current["status"] == "confirmed"
    assert _queue(pg, 5)[:2] == ("confirmed", ana_name)
    # Replacing needs the answer as shown; a stale one is refused again.
    stale = dict(replace=True, seen_status="pending", seen_reviewer=None, seen_reviewed_at=None)
    assert ben.post("/api/review/5", json={"status": "rejected", **stale}).status_code == 409
    seen = dict(
        replace=True,
        seen_status=current["status"],
        seen_reviewer=current["reviewer"],
        seen_reviewed_at=current["reviewed_at"],
    )
    r = ben.post("/api/review/5", json={"status": "rejected", "notes": "a road", **seen})
    assert r.status_code == 200
    status, reviewer, new_time, notes = _queue(pg, 5)
    assert (status, reviewer, notes) == ("rejected", ben_name, "a road") and new_time > reviewed_at
    # Ana may change her own answers freely.
    assert ana.post("/api/review/6", json={"status": "unclear"}).status_code == 200
    assert ana.post("/api/review/6", json={"status": "confirmed"}).status_code == 200
    assert _queue(pg, 6)[:2] == ("confirmed", ana_name)


def test_logins_are_checked_by_postgresql(site):
    c = client(site)
    name, password = site["roles"]["ana"]
    assert (
        c.post("/api/login", json={"username": "no_such_role_x", "password": "pw"}).status_code
        == 401
    )
    # Superusers are refused (their writes would not be decided by grants).
    assert c.post("/api/login", json={"username": "postgres", "password": "pw"}).status_code == 401
    assert c.post("/api/login", json={"username": name, "password": ""}).status_code == 422
    assert c.get("/api/session").json()["user"] is None
    ok = c.post("/api/login", json={"username": name, "password": password})
    assert ok.status_code == 200 and ok.json()["user"] == name
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    c.headers["X-CSRF-Token"] = ok.json()["csrf"]
    assert c.post("/api/logout", json={}).status_code == 200
    assert c.get("/api/review").status_code == 401
    # Passwords appear in no log line.
    log = site["server"].log()
    assert all(pw not in log for _, pw in site["roles"].values())


def test_a_login_postgresql_did_not_check_is_refused_saying_how_to_fix_it(template_db):
    """Where pg_hba.conf trusts the server's host (the main test cluster trusts 127.0.0.1) any
    password opens a connection, so none proves anything: 401, and the log says what to set."""
    name = f"web_trusted_{uuid.uuid4().hex[:6]}"
    try:
        with throwaway_db(template_db) as url:
            done = run_asmdb(
                url, "roles", "create", "--reviewer", "--name", name, "--password", "right-pw"
            )
            assert done.code == 0, done.stderr
            assert run_asmdb(url, "roles", "create", "--name", f"{name}_r").code == 0
            with serve(as_role(url, f"{name}_r")) as server:
                c = httpx.Client(base_url=server.url, timeout=60)
                for password in ("wrong-pw", "right-pw"):
                    r = c.post("/api/login", json={"username": name, "password": password})
                    assert r.status_code == 401, r.text
                assert c.get("/api/session").json()["user"] is None
                told = [line for line in server.log().splitlines() if "pg_hba.conf" in line]
                assert len(told) == 2, server.log()
                assert all("scram-sha-256" in line and name in line for line in told)
    finally:
        drop_roles([name, f"{name}_r", f"{name}_r_public"])


def _post_logins(base: str, logins: list[dict], forwarded_for: list[str]) -> list[int]:
    """POST every login at once; their status codes, in order."""
    import asyncio

    async def attempts():
        async with httpx.AsyncClient(base_url=base, timeout=120) as c:
            return await asyncio.gather(
                *(
                    c.post("/api/login", json=login, headers={"X-Forwarded-For": address})
                    for login, address in zip(logins, forwarded_for, strict=True)
                )
            )

    return [r.status_code for r in asyncio.run(attempts())]


def test_concurrent_wrong_logins_are_held_to_the_limit_whatever_address_they_claim(site):
    """60 wrong logins at once, each claiming its own X-Forwarded-For: no proxy is trusted by
    default, so they share the peer's address, and those still in flight count: 10 are tried,
    50 answered 429; then even the right password waits."""
    name, password = site["roles"]["ana"]
    with serve(site["server_url"]) as server:
        wrong = [{"username": name, "password": f"wrong-{i}"} for i in range(60)]
        codes = _post_logins(server.url, wrong, [f"198.51.100.{i}" for i in range(60)])
        assert sorted(codes) == [401] * 10 + [429] * 50
        right = {"username": name, "password": password}
        assert _post_logins(server.url, [right], ["203.0.113.9"]) == [429]


def test_a_trusted_proxy_names_the_client_the_scheme_and_the_host(site):
    """`--forwarded-allow-ips 127.0.0.1`: the proxy's X-Forwarded-For is the address the
    throttle counts (a login that succeeded does not count), and its X-Forwarded-Proto and
    -Host are this server's origin for the same-origin check and the OGC links. Without it
    (the module's server) the same headers are ignored."""
    name, password = site["roles"]["ana"]
    right = {"username": name, "password": password}
    wrong = {"username": name, "password": "wrong"}
    proxied = {
        "Origin": "https://maps.example.org",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "maps.example.org",
    }
    untrusted = httpx.Client(base_url=site["server"].url, timeout=60)
    assert untrusted.post("/api/login", json=right, headers=proxied).status_code == 403
    landing = untrusted.get("/?f=json", headers=proxied).json()
    assert all(link["href"].startswith(site["server"].url) for link in landing["links"])
    with serve(site["server_url"], "--forwarded-allow-ips", "127.0.0.1") as server:
        # Nine failures, then successes (which do not count), then the tenth failure.
        codes = _post_logins(server.url, [wrong] * 9, ["203.0.113.5"] * 9)
        codes += [_post_logins(server.url, [right], ["203.0.113.5"])[0] for _ in range(3)]
        codes += [_post_logins(server.url, [w], ["203.0.113.5"])[0] for w in (wrong, right)]
        assert codes == [401] * 9 + [200] * 3 + [401, 429]
        # Another client behind the same proxy is not paused.
        assert _post_logins(server.url, [right], ["203.0.113.6"]) == [200]
        c = httpx.Client(base_url=server.url, timeout=60)
        ok = c.post("/api/login", json=right, headers=proxied)
        assert ok.status_code == 200, ok.text
        landing = c.get("/?f=json", headers=proxied).json()
        assert {link["href"].split("/")[2] for link in landing["links"]} == {"maps.example.org"}
        assert all(link["href"].startswith("https://") for link in landing["links"])
        elsewhere = {**proxied, "Origin": "https://evil.example"}
        assert c.post("/api/login", json=right, headers=elsewhere).status_code == 403


def test_the_base_url_makes_the_ogc_links(site):
    """ASMDB_BASE_URL: the landing page's and tipg's links use it, whatever Host is sent."""
    base = "https://maps.example.org/asmdb"
    with serve(site["server_url"], "--public", env={"ASMDB_BASE_URL": base}) as server:
        c = httpx.Client(base_url=server.url, timeout=60, headers={"Host": "evil.example"})
        hrefs = [link["href"] for link in c.get("/?f=json").json()["links"]]
        hrefs += [link["href"] for link in c.get("/collections").json()["links"]]
        items = c.get("/collections/asmdb.latest_predictions/items", params={"limit": 1})
        assert items.status_code == 200, items.text
        hrefs += [link["href"] for link in items.json()["links"]]
        assert hrefs and all(h.startswith(base + "/") for h in hrefs), hrefs
        assert f"{base}/collections" in hrefs
        assert any(h.startswith(f"{base}/collections/asmdb.latest_predictions") for h in hrefs)


def test_a_login_with_a_nul_or_control_character_is_refused_before_postgresql(site):
    name, password = site["roles"]["ana"]
    c = client(site)
    for username, secret in (
        (name + "\x00", password),
        (name + "\x00 host=evil.example", password),
        (name + "\n", password),
        (name + "\x85", password),
        (name, password + "\x00"),
    ):
        r = c.post("/api/login", json={"username": username, "password": secret})
        assert r.status_code == 422, (username, secret, r.text)
    assert c.get("/api/session").json()["user"] is None


def test_a_nul_byte_cannot_cut_the_login_connection_string(site, monkeypatch, tmp_path):
    """libpq reads the connection string up to a NUL byte; what it then lacks it takes from the
    server's environment, here a password file holding the role's password. The login is
    refused all the same."""
    import asyncio

    from asm_db.server.auth import LoginRefused, open_login

    name, password = site["roles"]["ana"]
    base = site["url"].replace("+psycopg", "")
    info = psycopg.conninfo.conninfo_to_dict(base)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:*:{password}\n")
    passfile.chmod(0o600)
    for variable, value in (
        ("PGHOST", info["host"]),
        ("PGPORT", info["port"]),
        ("PGDATABASE", info["dbname"]),
        ("PGPASSFILE", str(passfile)),
    ):
        monkeypatch.setenv(variable, value)

    async def attempt():
        conn, _ = await open_login(base, name + "\x00", "wrong")
        await conn.close()

    with pytest.raises(LoginRefused):
        asyncio.run(attempt())


INJECTIONS = [
    "1; DROP TABLE asmdb.labels; --",
    "x'); DROP TABLE asmdb.labels; --",
    "' OR '1'='1",
    '"; SELECT pg_sleep(5); --',
    "asmdb.labels UNION SELECT * FROM asmdb.model_runs",
    "%00",
    "../../etc/passwd",
]


def test_injection_through_every_parameter(site, pg):
    labels_before = pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()
    ana = client(site, "ana")
    items = "/collections/asmdb.latest_predictions/items"
    answers = []
    for bad in INJECTIONS:
        for path, params in (
            (f"/collections/{bad}/items", {}),
            (f"/collections/asmdb.{bad}", {}),
            (items, {"bbox": bad}),
            (items, {"limit": bad}),
            (items, {"offset": bad}),
            (items, {"properties": bad}),
            (items, {"sortby": bad}),
            (items, {"ids": bad}),
            (items, {"datetime": bad}),
            (items, {"filter": f"tile_id = '{bad}'"}),
            (items, {"filter": bad, "filter-lang": "cql2-text"}),
            (items, {bad: "1"}),
            (f"{items}/{bad}", {}),
            (f"/collections/asmdb.latest_predictions/tiles/WebMercatorQuad/{bad}/1/1", {}),
            (
                "/collections/asmdb.latest_predictions/tiles/WebMercatorQuad/10/480/487",
                {"properties": bad},
            ),
            (f"/api/tiles/{bad}", {}),
            ("/api/review", {"run": bad}),
            ("/api/similar", {"tile": bad}),
            ("/api/similar", {"tile": "1", "feature_set": bad}),
        ):
            answers.append((path, params, ana.get(path, params=params)))
        answers.append(
            ("login", bad, ana.post("/api/login", json={"username": bad, "password": bad}))
        )
        answers.append(
            ("answer", bad, ana.post(f"/api/review/{bad}", json={"status": "confirmed"}))
        )
        answers.append(("status", bad, ana.post("/api/review/7", json={"status": bad})))
    for where, what, response in answers:
        assert response.status_code < 500, (where, what, response.status_code, response.text)
        body = response.text
        assert "Traceback" not in body and "postgresql://" not in body, (where, what, body)
    # Notes are data: stored exactly as written.
    ana = client(site, "ana")
    note = INJECTIONS[1]
    assert ana.post("/api/review/8", json={"status": "unclear", "notes": note}).status_code == 200
    assert _queue(pg, 8)[3] == note
    # Text PostgreSQL cannot hold is the request's mistake, stored nowhere.
    for field in ("notes", "seen_reviewer", "seen_status"):
        answer = ana.post("/api/review/10", json={"status": "unclear", field: "a\x00b"})
        assert answer.status_code == 422, (field, answer.text)
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone() == labels_before
    # Nothing else was answered by any of those requests
    # (5 and 6 are the conflict test's, 9 the grant test's).
    assert pg.execute(
        "SELECT count(*) FROM asmdb.review_queue WHERE status <> 'pending' AND review_id NOT IN (5, 6, 8, 9)"
    ).fetchone() == (0,)


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


def test_sessions_expire_when_idle_and_at_their_limit(site):
    import asyncio
    import time as clock

    from asm_db.server.auth import SessionStore, open_login

    name, password = site["roles"]["ana"]
    base = site["url"].replace("+psycopg", "")

    async def scenario():
        idle = SessionStore(idle_seconds=0.5, max_seconds=60, max_sessions=5)
        conn, can_review = await open_login(base, name, password)
        assert can_review
        session = await idle.add(name, conn, can_review)
        assert idle.get(session.sid) is session
        clock.sleep(0.7)
        assert idle.get(session.sid) is None  # idle too long
        await idle.sweep()
        assert conn.closed  # its connection is closed with it
        capped = SessionStore(idle_seconds=60, max_seconds=0.5, max_sessions=5)
        conn, _ = await open_login(base, name, password)
        session = await capped.add(name, conn, True)
        for _ in range(4):  # in use all along, yet it ends at its limit
            clock.sleep(0.15)
            capped.get(session.sid)
        assert capped.get(session.sid) is None
        await capped.close_all()

    asyncio.run(scenario())


def test_a_reviewer_role_may_change_only_the_answer_columns(site):
    name, password = site["roles"]["ana"]
    info = psycopg.conninfo.conninfo_to_dict(site["url"].replace("+psycopg", ""))
    as_ana = psycopg.conninfo.make_conninfo(**{**info, "user": name, "password": password})
    with psycopg.connect(as_ana, autocommit=True) as conn:
        conn.execute(
            "UPDATE asmdb.review_queue SET status = 'unclear', reviewer = current_user, "
            "reviewed_at = now(), notes = 'grant check' WHERE review_id = 9"
        )
        assert conn.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] > 0
        for forbidden in (
            "UPDATE asmdb.review_queue SET probability = 1 WHERE review_id = 9",
            "DELETE FROM asmdb.review_queue WHERE review_id = 9",
            "UPDATE asmdb.labels SET label = 1 WHERE label_id = 1",
            "DELETE FROM asmdb.predictions",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(forbidden)


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
