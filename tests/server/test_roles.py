"""Who the web server's queries run as, and for how long: the server runs as the reader role
`asmdb roles create` makes, anonymous visitors' queries as its `<reader>_public` role (the public
map layers only), every query under a statement timeout, cancelled when its client leaves.
Roles made for one database are not taken over for another."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import psycopg
import pytest
from psycopg import sql

from conftest import drop_roles, run_asmdb, throwaway_db
from web_server import serve

pytestmark = [
    pytest.mark.slow,  # starts the web server on a trained database
    pytest.mark.xdist_group("server_roles"),  # the module's server, on one worker
]

ITEMS = "/collections/asmdb.latest_predictions/items"
# A boolean oracle on a private table, through a public layer's filter.
ORACLE = (
    "array_to_string(xpath('//v/text()', query_to_xml('select count(*)>0 as v from "
    "asmdb.labels', false,false,'')),',') = '{}'"
)


def _ok(done):
    assert done.code == 0, done.stderr
    return done


def _as(url: str, role: str) -> str:
    """`url` (SQLAlchemy or libpq form) with another user, for the trust-authenticated server."""
    rest = url.split("//", 1)[1].split("@", 1)[1]
    return f"postgresql://{role}@{rest}"


@pytest.fixture(scope="module")
def reader_site(trained_template):
    """A trained database, its reader made by `asmdb roles create`, and `asmdb serve --public`
    started as that reader."""
    reader = f"srv_reader_{uuid.uuid4().hex[:6]}"
    try:
        with throwaway_db(trained_template) as url:
            _ok(run_asmdb(url, "roles", "create", "--name", reader))
            with serve(_as(url, reader), "--public", "--statement-timeout", "2") as server:
                yield {"url": url, "reader": reader, "server": server}
    finally:
        drop_roles([reader, f"{reader}_public"])


def _admin(site) -> psycopg.Connection:
    return psycopg.connect(site["url"].replace("+psycopg", ""), autocommit=True)


def test_the_server_runs_as_the_reader_and_serves_every_layer(reader_site):
    c = httpx.Client(base_url=reader_site["server"].url, timeout=30)
    listed = c.get("/collections")
    assert listed.status_code == 200, listed.text
    assert "asmdb.latest_predictions" in {x["id"] for x in listed.json()["collections"]}
    items = c.get(ITEMS, params={"limit": 2})
    assert items.status_code == 200 and len(items.json()["features"]) == 2
    tile = items.json()["features"][0]["properties"]["tile_id"]
    info = c.get(f"/api/tiles/{tile}")
    assert info.status_code == 200 and info.json()["tile_id"] == tile
    assert c.get("/api/periods").json()["periods"]
    vector = c.get("/collections/asmdb.latest_predictions/tiles/WebMercatorQuad/8/119/122")
    assert vector.status_code in (200, 204)
    with _admin(reader_site) as pg:
        users = pg.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'asmdb serve' "
            "AND datname = current_database()"
        ).fetchall()
    assert users == [(reader_site["reader"],)]


def test_the_anonymous_role_reads_the_public_layers_and_nothing_else(reader_site):
    reader = reader_site["reader"]
    with psycopg.connect(_as(reader_site["url"], reader), autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(f"{reader}_public")))
        for view in ("latest_predictions", "maps_by_period", "latest_overviews", "latest_change"):
            conn.execute(sql.SQL("SELECT count(*) FROM asmdb.{}").format(sql.Identifier(view)))
        for table in ("labels", "review_queue", "model_runs", "tile_features", "predictions"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    sql.SQL("SELECT 1 FROM asmdb.{} LIMIT 1").format(sql.Identifier(table))
                )


def test_the_anonymous_role_lists_imagery_but_never_reads_what_it_is_drawn_from(reader_site):
    """Name, period, footprint, bands, imagery_id and created_at only: the files (local paths,
    internal hosts, signed URLs), scale, offset and stretch are the server's to read. A role
    given the wider grant of an earlier version loses it when `asmdb roles create` runs again."""
    reader = reader_site["reader"]
    anonymous = sql.Identifier(f"{reader}_public")
    with _admin(reader_site) as pg:
        pg.execute(
            sql.SQL('GRANT SELECT (files, scale, "offset", stretch) ON asmdb.imagery TO {}').format(
                anonymous
            )
        )
    _ok(run_asmdb(reader_site["url"], "roles", "create", "--name", reader))
    with psycopg.connect(_as(reader_site["url"], reader), autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(anonymous))
        conn.execute(
            "SELECT imagery_id, name, period_start, period_end, footprint, bands, created_at "
            "FROM asmdb.imagery"
        )
        for column in ("files", "scale", '"offset"', "stretch", "source", "parameters"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT {column} FROM asmdb.imagery LIMIT 1")


def test_an_anonymous_filter_cannot_read_a_private_table(reader_site):
    c = httpx.Client(base_url=reader_site["server"].url, timeout=30)
    answers = [
        c.get(ITEMS, params={"filter": ORACLE.format(value), "limit": 1})
        for value in ("true", "false")
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, answer.text
        assert "labels" not in answer.text.replace("asmdb.labels", "")
    assert answers[0].status_code == answers[1].status_code
    assert answers[0].json() == answers[1].json()


@pytest.fixture
def predictions_locked(reader_site):
    """asmdb.predictions locked by another session: every query reading it waits."""
    with _admin(reader_site) as pg, pg.transaction():
        pg.execute("LOCK TABLE asmdb.predictions IN ACCESS EXCLUSIVE MODE")
        yield pg


def _waiting(reader_site) -> list[tuple]:
    with _admin(reader_site) as pg:
        return pg.execute(
            "SELECT pid, wait_event_type FROM pg_stat_activity WHERE usename = %s "
            "AND state = 'active'",
            (reader_site["reader"],),
        ).fetchall()


def test_a_query_over_the_statement_timeout_is_a_503_and_stops(reader_site, predictions_locked):
    c = httpx.Client(base_url=reader_site["server"].url, timeout=30)
    started = time.monotonic()
    answer = c.get(ITEMS, params={"limit": 5})
    took = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert "limit of 2 s" in answer.json()["detail"]
    assert 1.5 < took < 10
    popup = c.get("/api/periods")
    assert popup.status_code in (200, 503)
    assert _waiting(reader_site) == []


def test_a_query_whose_client_left_is_cancelled(reader_site, predictions_locked):
    def leave_early():
        try:
            httpx.get(reader_site["server"].url + ITEMS, params={"limit": 5}, timeout=0.5)
        except httpx.TimeoutException:
            pass

    for _ in range(3):
        threading.Thread(target=leave_early).start()
    deadline = time.monotonic() + 0.4
    while not _waiting(reader_site) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _waiting(reader_site), "the requests never reached the database"
    # The clients give up at 0.5 s; the queries would wait for the lock until the 2 s timeout.
    time.sleep(1.1)
    assert _waiting(reader_site) == []


def _refused(url: str) -> str:
    done = run_asmdb(url, "serve", "--port", "1")
    assert done.code == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip().splitlines()[-1]


def test_the_server_refuses_a_superuser_a_writer_and_a_role_without_its_public_role(
    trained_template,
):
    bare = f"srv_bare_{uuid.uuid4().hex[:6]}"
    role = sql.Identifier(bare)
    try:
        with throwaway_db(trained_template) as url:
            line = _refused(url)
            assert "refuses to run as superuser" in line and "asmdb roles create" in line
            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as pg:
                pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
                pg.execute(sql.SQL("GRANT SELECT ON public.asmdb_version TO {}").format(role))
                pg.execute(sql.SQL("GRANT USAGE ON SCHEMA asmdb TO {}").format(role))
                assert f"no role '{bare}_public'" in _refused(_as(url, bare))
                pg.execute(sql.SQL("GRANT INSERT ON asmdb.labels TO {}").format(role))
                line = _refused(_as(url, bare))
                assert "may write to asmdb.labels" in line and "asmdb roles create" in line
    finally:
        drop_roles([bare])


def test_a_role_made_for_another_database_is_not_taken_over(template_db):
    name = f"srv_other_{uuid.uuid4().hex[:6]}"
    try:
        with throwaway_db(template_db) as first, throwaway_db(template_db) as second:
            _ok(run_asmdb(first, "roles", "create", "--name", name, "--password", "one"))
            with psycopg.connect(first.replace("+psycopg", ""), autocommit=True) as pg:
                password = pg.execute(
                    "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,)
                ).fetchone()
                settings = pg.execute(
                    "SELECT d.datname FROM pg_db_role_setting AS s JOIN pg_roles AS r "
                    "ON r.oid = s.setrole LEFT JOIN pg_database AS d ON d.oid = s.setdatabase "
                    "WHERE r.rolname = %s",
                    (name,),
                ).fetchall()
            # Read-only by default in its own database only, not server-wide.
            assert settings == [(first.rsplit("/", 1)[1],)]
            done = run_asmdb(second, "roles", "create", "--name", name, "--password", "two")
            assert done.code == 1 and "Traceback" not in done.stderr
            line = done.stderr.strip().splitlines()[-1]
            assert "made it for database" in line and "--force" in line
            with psycopg.connect(first.replace("+psycopg", ""), autocommit=True) as pg:
                assert (
                    pg.execute(
                        "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,)
                    ).fetchone()
                    == password
                )
            _ok(run_asmdb(second, "roles", "create", "--name", name, "--force"))
            with psycopg.connect(second.replace("+psycopg", ""), autocommit=True) as pg:
                comment = pg.execute(
                    "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
                    (name,),
                ).fetchone()[0]
            assert first.rsplit("/", 1)[1] in comment and second.rsplit("/", 1)[1] in comment
            # Once asmdb made it for both, it is brought up to date in either without --force.
            _ok(run_asmdb(first, "roles", "create", "--name", name))
    finally:
        drop_roles([name, f"{name}_public"])
