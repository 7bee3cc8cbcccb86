"""Nothing lost under faults and concurrent use: a killed ingest or train leaves the database as
it was, concurrent ingests and trains end consistent, user-given names cannot inject SQL, and a
writer needs no superuser."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from psycopg import sql

from asm_db.ingest.sample import write_sample_data

from conftest import ADMIN_URL, ASMDB, run_asmdb, snapshot


def _start(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "ASMDB_DATABASE_URL": url}
    return subprocess.Popen(
        [str(ASMDB), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(pg: psycopg.Connection, query: str, params=(), timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pg.execute(query, params).fetchone()[0]:
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for: {query}")


def _others_gone(pg: psycopg.Connection) -> None:
    """Wait until the killed client's server process has noticed and rolled back."""
    _wait_for(
        pg,
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )


@pytest.fixture(scope="module")
def big_features(tmp_path_factory):
    """A larger file overlapping the sample's area: slow enough to be killed part-way."""
    data = write_sample_data(
        tmp_path_factory.mktemp("big"), n_lat=90, n_lon=90, n_features=256, n_labels=10
    )
    return data.features


@pytest.mark.slow
def test_sigkill_while_streaming_features_leaves_the_database_as_it_was(
    db_url, pg, trained, big_features
):
    before = snapshot(pg)
    proc = _start(db_url, "ingest", "features", str(big_features), "--batch-rows", "20")
    _wait_for(
        pg,
        "SELECT coalesce(max(tuples_processed), 0) > 200 FROM pg_stat_progress_copy p "
        "JOIN pg_database d ON d.oid = p.datid WHERE d.datname = current_database()",
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _others_gone(pg)
    assert snapshot(pg) == before


@pytest.mark.slow
def test_sigkill_at_the_merge_leaves_the_database_as_it_was(db_url, pg, trained, big_features):
    before = snapshot(pg)
    with psycopg.connect(db_url.replace("+psycopg", "")) as blocker:
        # Staging completes, then the merge waits on this lock: kill it right there.
        blocker.execute("LOCK TABLE asmdb.tiles IN SHARE MODE")
        proc = _start(db_url, "ingest", "features", str(big_features))
        _wait_for(
            pg,
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ("%INSERT INTO asmdb.tiles%",),
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _others_gone(pg)
    assert snapshot(pg) == before


@pytest.mark.slow
def test_sigkill_during_the_write_back_leaves_no_partial_run(db_url, pg, trained):
    before = snapshot(pg)
    shown = pg.execute(
        "SELECT run_id, count(*) FROM asmdb.latest_predictions GROUP BY 1"
    ).fetchall()
    with psycopg.connect(db_url.replace("+psycopg", "")) as blocker:
        # The run row, its evaluation rows and its predictions are written, then attaching
        # them as the run's partition of asmdb.predictions waits here.
        blocker.execute("LOCK TABLE asmdb.predictions IN SHARE MODE")
        proc = _start(db_url, "train", "--cv", "seed", "--bootstrap", "0")
        _wait_for(
            pg,
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ("%ATTACH PARTITION%",),
        )
        # Readers meanwhile see the previous run, whole.
        assert (
            pg.execute(
                "SELECT run_id, count(*) FROM asmdb.latest_predictions GROUP BY 1"
            ).fetchall()
            == shown
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _others_gone(pg)
    assert snapshot(pg) == before
    assert (
        pg.execute("SELECT count(*) FROM asmdb.run_evaluations").fetchone()[0]
        == (pg.execute("SELECT count(*) FROM asmdb.run_evaluations WHERE run_id = 1").fetchone()[0])
    )


def _shifted(sample_features, tmp_path, name: str, rows: slice, offset: float):
    table = feather.read_table(sample_features).slice(rows.start, rows.stop - rows.start)
    frame = table.to_pandas()
    for column in frame.columns[1:]:
        frame[column] = frame[column] + np.float32(offset)
    path = tmp_path / name
    feather.write_feather(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path, frame


@pytest.mark.slow
def test_two_overlapping_ingests_at_once_end_consistent(db_url, pg, sample, tmp_path):
    first, a = _shifted(sample.features, tmp_path, "a.feather", slice(0, 400), 0.0)
    second, b = _shifted(sample.features, tmp_path, "b.feather", slice(200, 576), 100.0)
    procs = [
        _start(db_url, "ingest", "features", str(p), "--batch-rows", "50") for p in (first, second)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [code for code, *_ in results] == [0, 0], results
    stored = dict(
        pg.execute(
            "SELECT t.image_id, asmdb.feature_value(f.features, 1) FROM asmdb.tiles t JOIN asmdb.tile_features f "
            "USING (tile_id)"
        ).fetchall()
    )
    union = set(a["image_id"]) | set(b["image_id"])
    assert set(stored) == union and len(stored) == 576
    assert pg.execute("SELECT count(*) FROM asmdb.tiles").fetchone()[0] == 576
    # Every overlapping tile holds one file's vector whole, never a mix or a loss.
    overlap = set(a["image_id"]) & set(b["image_id"])
    a_first = dict(zip(a["image_id"], a["feature_0"], strict=True))
    b_first = dict(zip(b["image_id"], b["feature_0"], strict=True))
    winners = set()
    for i in overlap:
        if stored[i] == pytest.approx(a_first[i]):
            winners.add("a")
        else:
            assert stored[i] == pytest.approx(b_first[i]), i
            winners.add("b")
    assert len(winners) == 1  # one ingest committed after the other, as a whole


@pytest.mark.slow
def test_two_trains_at_once_make_two_complete_runs(db_url, pg, loaded):
    procs = [
        _start(
            db_url, "train", "--cv", "seed", "--random-state", str(s), "--bootstrap", "0", "--json"
        )
        for s in (1, 2)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [code for code, *_ in results] == [0, 0], results
    runs = sorted(json.loads(out)["run_id"] for _, out, _ in results)
    assert runs == [1, 2]
    counts = pg.execute(
        "SELECT run_id, count(*) FROM asmdb.predictions GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert counts == [(1, 576), (2, 576)]


HOSTILE = "x'); DROP TABLE asmdb.labels; --<script>"


@pytest.mark.slow
def test_hostile_names_and_values_are_data_not_sql(db_url, cli, pg, sample, tmp_path):
    labels = pd.read_csv(sample.labels)
    labels[HOSTILE] = "1"  # a column name becomes a key of `extra`
    labels.loc[0, "mine_type"] = HOSTILE
    path = tmp_path / "labels.csv"
    labels.to_csv(path, index=False)
    assert cli("ingest", "labels", str(path)).code == 0
    assert cli("ingest", "features", str(sample.features), "--feature-set", HOSTILE).code == 0
    trained = cli(
        "train",
        "--cv",
        "seed",
        "--bootstrap",
        "0",
        "--feature-set",
        HOSTILE,
        "--exclude-mine-type",
        HOSTILE,
        "--exclude-mine-type",
        "commercial",
    )
    assert trained.code == 0, trained.stderr
    # The report shows the names as text: escaped, never markup.
    page = tmp_path / "report.html"
    assert cli("report", "1", str(page)).code == 0
    text = page.read_text()
    assert "<script>" not in text and "--&lt;script&gt;" in text
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels
    assert pg.execute("SELECT name FROM asmdb.feature_sets").fetchall() == [(HOSTILE,)]
    assert (
        pg.execute("SELECT count(*) FROM asmdb.labels WHERE extra ? %s", (HOSTILE,)).fetchone()[0]
        == sample.n_labels
    )
    role = cli("roles", "create", "--name", HOSTILE)
    try:
        assert role.code == 0, role.stderr
        assert pg.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = %s", (HOSTILE,)
        ).fetchone() == (1,)
    finally:
        for role in (HOSTILE, f"{HOSTILE}_public"):
            with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert pg.execute("SELECT to_regclass('asmdb.labels')").fetchone()[0] == "asmdb.labels"


@pytest.mark.slow
def test_a_writer_needs_no_superuser(empty_db_url, sample):
    """An ordinary role that owns the asmdb schema migrates, ingests, trains and installs the
    QGIS project once an administrator has created PostGIS and let it create tables."""
    writer = f"asmdb_writer_{uuid.uuid4().hex[:6]}"
    plain = empty_db_url.replace("+psycopg", "")
    dbname = plain.rsplit("/", 1)[1]
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(writer)))
        admin.execute("CREATE EXTENSION postgis")
        admin.execute(
            sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), sql.Identifier(writer)
            )
        )
        admin.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(writer)))
    url = empty_db_url.replace("postgres@", f"{writer}@")
    try:
        for args in (
            ("db", "upgrade"),
            ("ingest", "labels", str(sample.labels)),
            ("ingest", "features", str(sample.features)),
            ("train", "--cv", "seed", "--bootstrap", "0"),
            ("qgis", "install"),
            ("runs", "list"),
        ):
            done = run_asmdb(url, *args)
            assert done.code == 0, (args, done.stderr)
            assert "WARNING" not in done.stderr
        with psycopg.connect(plain) as conn:
            assert conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (writer,)
            ).fetchone() == (False,)
            assert (
                conn.execute("SELECT count(*) FROM asmdb.latest_predictions").fetchone()[0] == 576
            )
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS asmdb CASCADE")
            conn.execute("DROP TABLE IF EXISTS public.layer_styles, public.asmdb_version")
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(writer)))
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(writer)))
