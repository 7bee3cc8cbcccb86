"""Every error a user can meet is one line at the command line, with a non-zero exit status and
no traceback; passwords never show."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psycopg
import pytest

from conftest import ASMDB

SECRET = "s3cretpw"


def _one_line(result, code: int = 1) -> str:
    assert result.code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_file_that_cannot_be_written_is_one_line(cli, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    line = _one_line(cli("sample-data", str(blocker / "sub")))
    assert line == f"error: {blocker / 'sub'}: not a directory"


def test_a_folder_given_as_a_label_file_is_one_line(cli, tmp_path):
    line = _one_line(cli("ingest", "labels", str(tmp_path)))
    assert line.startswith(f"error: '{tmp_path}' not recognized")


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        f"postgresql+psycopg://ana:{SECRET}@127.0.0.1:notaport/asmdb",
        f"nosuchdriver://ana:{SECRET}@127.0.0.1/asmdb",
    ],
)
def test_a_malformed_database_url_is_one_line(cli, url):
    line = _one_line(cli("runs", "list", "--database-url", url))
    assert line.startswith("error: malformed database URL") and SECRET not in line


@pytest.mark.parametrize(
    ("where", "reason"),
    [("127.0.0.1:1", "Connection refused"), ("127.0.0.1:5432", 'role "nobody_x" does not exist')],
)
def test_a_refused_connection_or_unknown_user_is_one_line_without_password(cli, where, reason):
    url = f"postgresql+psycopg://nobody_x:{SECRET}@{where}/postgres"
    line = _one_line(cli("runs", "list", "--database-url", url))
    assert reason in line and SECRET not in line and "nobody_x:***@" in line


def test_a_statement_timeout_is_one_line(cli, sample, pg, monkeypatch):
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=1")
    line = _one_line(cli("ingest", "features", str(sample.features)))
    # The statement the limit stops may be the connection's first (a busy machine): either way
    # it is said as a stopped statement, not as an unreachable database.
    assert line.startswith("error: the database stopped a statement: canceling statement"), line
    assert pg.execute("SELECT count(*) FROM asmdb.tiles").fetchone()[0] == 0


def _blocked_ingest(db_url: str, pg: psycopg.Connection, labels) -> subprocess.Popen:
    """`asmdb ingest labels` started and waiting for a lock the test holds."""
    env = {**os.environ, "ASMDB_DATABASE_URL": db_url, "COLUMNS": "200"}
    process = subprocess.Popen(
        [str(ASMDB), "ingest", "labels", str(labels)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        waiting = pg.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchone()
        if waiting:
            process.backend_pid = waiting[0]
            return process
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    process.kill()
    raise AssertionError("asmdb never waited for the lock")


def _finish(process: subprocess.Popen):
    stdout, stderr = process.communicate(timeout=120)
    return type("Result", (), {"code": process.returncode, "stdout": stdout, "stderr": stderr})


@pytest.fixture
def locked_labels(db_url):
    with psycopg.connect(db_url.replace("+psycopg", "")) as holder:
        holder.execute("LOCK TABLE asmdb.labels IN ACCESS EXCLUSIVE MODE")
        yield holder


@pytest.mark.slow
def test_ctrl_c_is_one_line_and_exit_130(db_url, pg, sample, locked_labels):
    process = _blocked_ingest(db_url, pg, sample.labels)
    process.send_signal(signal.SIGINT)
    assert _one_line(_finish(process), code=130) == "interrupted"
    locked_labels.rollback()
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == 0


@pytest.mark.slow
def test_the_server_closing_the_connection_is_one_line(db_url, pg, sample, locked_labels):
    process = _blocked_ingest(db_url, pg, sample.labels)
    pg.execute("SELECT pg_terminate_backend(%s)", (process.backend_pid,))
    line = _one_line(_finish(process))
    assert line.startswith("error: the database closed the connection"), line
    locked_labels.rollback()
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == 0


def test_passwords_are_hidden_in_any_message():
    from asm_db.cli.errors import without_password

    assert (
        without_password(f"at postgresql://ana:{SECRET}@db:5432/x and host=db password={SECRET}")
        == "at postgresql://ana:***@db:5432/x and host=db password=***"
    )
    assert without_password(f"password = '{SECRET} x' port=5") == "password = *** port=5"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--base-url", "ftp://maps.example.org"),
        ("--base-url", "https://maps.example.org/?x=1"),
        ("--base-url", "https://user@maps.example.org"),
        ("--forwarded-allow-ips", "127.0.0.l"),
        ("--forwarded-allow-ips", "10.0.0.0/8,proxy.example"),
    ],
)
def test_a_bad_proxy_option_of_serve_is_a_usage_error_naming_it(cli, option, value):
    done = cli("serve", option, value)
    assert done.code == 2 and "Traceback" not in done.stderr
    assert option in done.stderr and repr(value.split(",")[-1]) in done.stderr, done.stderr


@pytest.mark.slow
def test_an_id_beyond_its_column_type_is_not_found_in_one_line(cli, pg, trained, tmp_path):
    """Run, map and change ids are PostgreSQL integers: a larger number (or one beyond bigint)
    names nothing, said as for any unknown id, and nothing changes."""
    from conftest import snapshot

    before = snapshot(pg)
    out = tmp_path / "out.gpkg"
    for big in (str(2**31), str(-(2**31) - 1), "99999999999999999999"):
        for args, message in [
            (("runs", "show", "--", big), f"no model run {big}"),
            (("runs", "compare", "--", "1", big), f"no model run {big}"),
            (("runs", "promote", "--", big), f"no model run {big}"),
            (("runs", "delete", "--yes", "--", big), f"no run {big}"),
            (("report", "--", big, str(tmp_path / "r.html")), f"no model run {big}"),
            (("maps", "show", "--", big), f"no map {big}"),
            (("maps", "promote", "--", big), f"no map {big}"),
            (("change", "--from", "1", "--to", big), f"no map {big}"),
            (("review", "queue", "--run", big), f"no model run {big}"),
            (("review", "queue", "--change", big), f"no change {big}"),
            (("review", "export", str(out), "--change", big), f"no change {big}"),
            (("review", "estimate", "--run", big), f"no model run {big}"),
            (("export", "predictions", str(out), "--map", big), f"no map {big}"),
            (("export", "change", str(out), "--change", big), f"no change {big}"),
        ]:
            line = _one_line(cli(*args))
            assert line.startswith(f"error: {message}"), (args, line)
    assert snapshot(pg) == before
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ("train", "--seed", "-1"),
        ("train", "--seed", str(2**32)),
        ("review", "queue", "--seed", "-1"),
        ("sample-data", "OUT", "--seed", "99999999999999999999"),
        ("train", "--readers", "3000000000"),
        ("predict", "--run", "1", "--feature-set", "default", "--readers", "100000"),
    ],
)
def test_a_seed_or_reader_count_out_of_range_is_refused_before_any_work(cli, tmp_path, args):
    out = tmp_path / "out"
    done = cli(*(str(out) if a == "OUT" else a for a in args))
    assert done.code == 2 and "Traceback" not in done.stderr
    assert f"Invalid value for '{args[-2]}'" in done.stderr
    assert not out.exists()
