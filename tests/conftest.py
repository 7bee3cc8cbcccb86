"""Fixtures: a real PostGIS, migrated once into a template, cloned into a throwaway database per
test. There is no skip: without a database these tests fail, as a green run proves nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from asm_db.db.engine import create_engine
from asm_db.ingest.sample import write_sample_data
from asm_db.publish.workflows import upgrade_database

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


@pytest.fixture(scope="session")
def template_db():
    name = f"asmdb_tpl_{uuid.uuid4().hex[:8]}"
    _create_db(name)
    engine = create_engine(_db_url(name))
    upgrade_database(engine)  # as `asmdb db upgrade` leaves it: schema and QGIS styles
    engine.dispose()
    yield name
    _drop_db(name)


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
        _drop_db(name)


@pytest.fixture
def db_url(template_db):
    """A throwaway database cloned from the migrated template."""
    with throwaway_db(template_db) as url:
        yield url


@pytest.fixture
def engine(db_url):
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


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


@pytest.fixture
def cli(db_url):
    """Run the installed `asmdb` command against the test database."""

    def run(*args: str, url: str | None = None) -> CliResult:
        return run_asmdb(url or db_url, *args)

    return run


def snapshot(pg: psycopg.Connection) -> dict:
    """Everything asmdb stores, in a comparable form."""
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
    ):
        query = sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {}), '')) "
            "FROM asmdb.{} AS t"
        ).format(sql.SQL(key), sql.Identifier(table))
        out[table] = pg.execute(query).fetchone()
    return out
