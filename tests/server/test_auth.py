"""Who may read what through `asmdb serve`: anonymous visitors, logins PostgreSQL checks, the
login throttle, sessions. On the session's `site`, in a cluster that checks passwords."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from conftest import drop_roles, run_asmdb, throwaway_db
from web_server import PRIVATE, as_role, client, pg_map, post_logins, serve

pytestmark = [
    pytest.mark.slow,  # starts the web server on a trained database
    pytest.mark.xdist_group("site"),  # one worker builds the session's site
]


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


def test_concurrent_wrong_logins_are_held_to_the_limit_whatever_address_they_claim(site):
    """60 wrong logins at once, each claiming its own X-Forwarded-For: no proxy is trusted by
    default, so they share the peer's address, and those still in flight count: 10 are tried,
    50 answered 429; then even the right password waits."""
    name, password = site["roles"]["ana"]
    with serve(site["server_url"]) as server:
        wrong = [{"username": name, "password": f"wrong-{i}"} for i in range(60)]
        codes = post_logins(server.url, wrong, [f"198.51.100.{i}" for i in range(60)])
        assert sorted(codes) == [401] * 10 + [429] * 50
        right = {"username": name, "password": password}
        assert post_logins(server.url, [right], ["203.0.113.9"]) == [429]


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
