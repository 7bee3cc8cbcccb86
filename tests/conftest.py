"""Fixtures: a real PostGIS, migrated once into a template, cloned into a throwaway database per
test. There is no skip: without a database these tests fail, as a green run proves nothing.

The data most tests start from is made once per session into further templates: a test that
asks for `loaded` starts with the sample's labels and features ingested, one that asks for
`trained` with those and one run, one that asks for `two_periods` with two dated feature sets,
a run and a map of each. `cli` runs the command line in this process, as the installed
command runs it but without its 2 s of imports; `installed_cli` and `run_asmdb` run the installed
`asmdb` command. Tests that log in to the web server use `password_cluster`, a cluster of
their own that checks passwords."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from browser import browser  # noqa: F401 (the headless Chromium fixture, for every test)
from psycopg import sql
from typer.testing import CliRunner

from asm_db.cli.app import run as run_cli
from asm_db.db.engine import create_engine
from asm_db.ingest.sample import write_sample_data
from asm_db.publish.workflows import upgrade_database

from password_cluster import PasswordCluster, running_password_cluster

ADMIN_URL = os.environ.get("ASMDB_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ASMDB = Path(sys.executable).with_name("asmdb")

# Small but with real signal: 24 x 24 tiles, 256 features, 600 labels.
SAMPLE = {"n_lat": 24, "n_lon": 24, "n_features": 256, "n_labels": 600}


def _db_url(name: str) -> str:
    base = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    base["dbname"] = name
    user = base.get("user", "")
    host = base.get("host", "127.0.0.1")
    port = base.get("port", "5432")
    return f"postgresql+psycopg://{user}@{host}:{port}/{name}"


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(statement)


def _create_db(name: str, template: str | None = None) -> None:
    if template:
        _admin(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    else:
        _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_db(name: str) -> None:
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# A test's database is dropped while the next test runs; the session waits for every drop.
_dropper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dropdb")
_drops: list[Future] = []


@pytest.fixture(scope="session", autouse=True)
def _drops_done():
    yield
    for drop in _drops:
        drop.result()


@pytest.fixture(scope="session")
def template_db():
    name = f"asmdb_tpl_{uuid.uuid4().hex[:8]}"
    _create_db(name)
    engine = create_engine(_db_url(name))
    upgrade_database(engine)  # as `asmdb db upgrade` leaves it: schema and QGIS styles
    engine.dispose()
    yield name
    _drop_db(name)


@pytest.fixture(scope="session")
def password_cluster() -> Iterator[PasswordCluster]:
    """A PostgreSQL cluster of the session's own that asks for passwords over TCP, for tests
    that log in to the web server (the main cluster trusts 127.0.0.1); removed afterwards."""
    with running_password_cluster() as cluster:
        yield cluster


@pytest.fixture
def empty_db_url():
    """A new database with nothing in it (not migrated)."""
    with throwaway_db() as url:
        yield url


@contextmanager
def throwaway_db(template: str | None = None) -> Iterator[str]:
    """The URL of a new database (a clone of `template`, if given), dropped afterwards."""
    name = f"asmdb_t_{uuid.uuid4().hex[:8]}"
    _create_db(name, template)
    try:
        yield _db_url(name)
    finally:
        _drops.append(_dropper.submit(_drop_db, name))


def drop_roles(names) -> None:
    """Drop server-wide roles made by a test, once the databases holding their grants are gone
    (databases are dropped in the background)."""
    for pending in list(_drops):
        pending.result()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def loaded_template(template_db, sample):
    """A template holding the sample's labels and features, ingested as a user would."""
    with throwaway_db(template_db) as url:
        for args in (("labels", str(sample.labels)), ("features", str(sample.features))):
            done = invoke_asmdb(url, "ingest", *args)
            assert done.code == 0, done.stderr
        yield url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def trained_template(loaded_template):
    """The loaded template and one promoted run: `asmdb train --cv seed --bootstrap 0`."""
    with throwaway_db(loaded_template) as url:
        done = invoke_asmdb(url, "train", "--cv", "seed", "--bootstrap", "0")
        assert done.code == 0, done.stderr
        yield url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def two_periods_template(template_db, sample):
    """The sample's two periods as dated feature sets (y2019, y2024); run 1 trained on 2019
    (map 1) and applied to 2024 (map 2), as a user makes them."""
    with throwaway_db(template_db) as url:
        for args in (
            ("ingest", "labels", str(sample.labels)),
            (
                "ingest",
                "features",
                str(sample.features),
                "--feature-set",
                "y2019",
                "--period",
                "2019-01-01/2019-12-31",
            ),
            (
                "ingest",
                "features",
                str(sample.later_features),
                "--feature-set",
                "y2024",
                "--period",
                "2024-01-01/2024-12-31",
            ),
            ("train", "--feature-set", "y2019", "--cv", "seed", "--bootstrap", "0", "--json"),
        ):
            done = invoke_asmdb(url, *args)
            assert done.code == 0, done.stderr
        predicted = invoke_asmdb(url, "predict", "--run", "1", "--feature-set", "y2024", "--json")
        assert predicted.code == 0, predicted.stderr
        assert json.loads(predicted.stdout)["map_id"] == 2
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def db_url(request, template_db):
    """A throwaway database cloned from the migrated template, or from the template holding the
    data of `trained`, `loaded` or `two_periods` when the test asks for one of those."""
    template = template_db
    for data in ("trained", "loaded", "two_periods"):
        if data in request.fixturenames:
            template = request.getfixturevalue(f"{data}_template")
            break
    with throwaway_db(template) as url:
        yield url


@pytest.fixture
def engine(db_url):
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def loaded(engine):
    """The engine on a test database holding the sample's labels and features, ingested by
    `asmdb ingest labels` and `asmdb ingest features` (once, into a template)."""
    return engine


@pytest.fixture
def trained(engine):
    """The engine on a test database holding the sample's labels and features and run 1 of
    `asmdb train --cv seed --bootstrap 0`, promoted."""
    return engine


@pytest.fixture
def pg(db_url):
    """A plain psycopg connection for assertions."""
    with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    return write_sample_data(tmp_path_factory.mktemp("sample"), **SAMPLE)


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_asmdb(url: str, *args: str) -> CliResult:
    """Run the installed `asmdb` command against the database at `url`."""
    env = {**os.environ, "ASMDB_DATABASE_URL": url, "COLUMNS": "200"}
    done = subprocess.run([str(ASMDB), *args], capture_output=True, text=True, env=env, timeout=600)
    return CliResult(done.returncode, done.stdout, done.stderr)


def invoke_asmdb(url: str, *args: str) -> CliResult:
    """Run `asmdb` in this process, as the installed command runs (`asm_db.cli.app.run`), against
    the database at `url`. A bug raises here, with its traceback, rather than exiting 1."""
    env = {"ASMDB_DATABASE_URL": url, "COLUMNS": "200"}
    with CliRunner().isolation(env=env) as (stdout, stderr, _):
        try:
            code = run_cli(list(args))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    # The command's engines are garbage now; collect them so their pooled connections close,
    # as they do when the installed command exits.
    gc.collect()
    return CliResult(code, out, err)


@pytest.fixture
def cli(db_url):
    """Run `asmdb` (in this process) against the test database."""

    def run(*args: str, url: str | None = None) -> CliResult:
        return invoke_asmdb(url or db_url, *args)

    return run


@pytest.fixture
def installed_cli(db_url):
    """Run the installed `asmdb` command against the test database."""

    def run(*args: str, url: str | None = None) -> CliResult:
        return run_asmdb(url or db_url, *args)

    return run


def snapshot(pg: psycopg.Connection) -> dict:
    """Everything asmdb stores, in a comparable form (at any revision: a table or key column
    an older revision does not have is left out)."""
    out = {}
    for table, key in (
        ("labels", "label_id"),
        ("grids", "grid_id"),
        ("feature_sets", "feature_set_id"),
        ("tiles", "tile_id"),
        ("tile_features", "feature_set_id, tile_id"),
        ("model_runs", "run_id"),
        ("maps", "map_id"),
        ("predictions", "map_id, tile_id"),
        ("imagery", "imagery_id"),
    ):
        columns = {
            r[0]
            for r in pg.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'asmdb' AND table_name = %s",
                (table,),
            )
        }
        if not columns:
            continue
        if not set(key.split(", ")) <= columns:
            key = "run_id, tile_id"  # predictions before maps
        query = sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {}), '')) "
            "FROM asmdb.{} AS t"
        ).format(sql.SQL(key), sql.Identifier(table))
        out[table] = pg.execute(query).fetchone()
    return out


def prediction_partitions(pg) -> set[str]:
    """The names of the partitions of `asmdb.predictions` (one a map)."""
    return {
        r[0]
        for r in pg.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'asmdb.predictions'::regclass"
        )
    }


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, now."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        listed = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True
        ).stdout.split()
        for child in map(int, listed):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def assert_terminated(proc: subprocess.Popen, workers: set[int]) -> None:
    """SIGTERM `proc` (stderr piped, as text): it ends saying "terminated", exits 143 (128 +
    SIGTERM) without a traceback, and none of its `workers` outlives it."""
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "terminated", stderr
    assert "Traceback" not in stderr, stderr
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)], "worker processes left behind"


@pytest.fixture(scope="session")
def site(password_cluster, sample):
    """A trained sample database with a review queue, two reviewers and a reader, in a cluster
    that checks passwords (the roles go with it), served by the installed command as the reader:
    one per session, shared by the web server tests."""
    from web_server import as_role, serve  # web_server imports this module

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


@pytest.fixture(scope="module")
def changed_template(template_db, sample):
    """(Shared by the change-review and zone tests.) A template holding two periods of the sample, run 1 trained on the first, its map of
    the second (map 2) and change 1 from map 1 to map 2, made as a user would."""
    with throwaway_db(template_db) as url:
        steps = [
            ("ingest", "labels", str(sample.labels)),
            ("ingest", "features", str(sample.features), "--feature-set", "y2019"),
            ("--period", "2019-01-01/2019-12-31"),
            ("ingest", "features", str(sample.later_features), "--feature-set", "y2024"),
            ("--period", "2024-01-01/2024-12-31"),
            ("train", "--feature-set", "y2019", "--cv", "seed", "--bootstrap", "0"),
            ("predict", "--run", "1", "--feature-set", "y2024"),
            ("change", "--from", "1", "--to", "2"),
        ]
        commands, current = [], []
        for step in steps:  # a step starting with an option continues the one before
            if step[0].startswith("--"):
                current += step
            else:
                if current:
                    commands.append(current)
                current = list(step)
        commands.append(current)
        for args in commands:
            done = invoke_asmdb(url, *args)
            assert done.code == 0, (args, done.stderr)
        yield url.rsplit("/", 1)[1]
