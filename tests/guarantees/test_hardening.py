"""Cases an adversarial review found: passwords in every URL form, pasteable reproduce commands,
service names that would rewrite a QGIS layer source."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

import pytest

from asm_db.db.engine import redacted
from asm_db.runs.registry import RunSummary, reproduce_command

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://ceo:{SECRET}@db.example.org:5432/asmdb",
        f"postgresql+psycopg://ceo@db.example.org:5432/asmdb?password={SECRET}",
        f"postgresql+psycopg://ceo@db.example.org/asmdb?sslmode=require&PASSWORD={SECRET}",
        f"postgresql+psycopg:///host%3Ddb%20password%3D{SECRET}",
        f"postgresql+psycopg://ceo@db.example.org/asmdb?sslpassword={SECRET}",
    ],
)
def test_every_form_of_password_is_masked(url):
    shown = redacted(url)
    assert SECRET not in shown
    assert "db.example.org" in shown or "host%3Ddb" in shown


def test_upgrade_and_connection_errors_never_print_a_query_password(cli, db_url):
    done = cli("db", "upgrade", "--database-url", f"{db_url}?password={SECRET}")
    assert done.code == 0, done.stderr
    assert "at revision" in done.stdout
    assert SECRET not in done.stdout + done.stderr

    closed = f"postgresql+psycopg://nobody@127.0.0.1:1/none?password={SECRET}"
    done = cli("runs", "list", "--database-url", closed)
    assert done.code == 1
    assert SECRET not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _run(feature_set: str, mine_types: list[str], alphas: list[float]) -> RunSummary:
    return RunSummary(
        run_id=1,
        created_at=datetime.now(UTC),
        promoted_at=None,
        shown=True,
        feature_set=feature_set,
        protocol="spatial",
        model="ridge",
        parameters={
            "feature_set": feature_set,
            "protocol": {
                "block_size": 0.123456789,
                "folds": 5,
                "random_state": 7,
                "alphas": alphas,
                "bootstrap": 0,
            },
            "filters": {
                "min_proportion_inspected": 0.2,
                "min_confidence": 3,
                "exclude_mine_types": mine_types,
            },
        },
        metrics={},
        counts={},
        data_fingerprint=None,
        code_version=None,
        library_versions={},
    )


def test_reproduce_command_is_quoted_and_exact(tmp_path):
    hostile = f"x; touch {tmp_path}/pwned; echo"
    command = reproduce_command(_run(hostile, ["commercial", "it's $(id)"], [0.01, 1e-7, 10.0]))
    args = shlex.split(command)
    assert args[:2] == ["asmdb", "train"]
    assert args[args.index("--feature-set") + 1] == hostile
    excluded = [args[i + 1] for i, a in enumerate(args) if a == "--exclude-mine-type"]
    assert excluded == ["commercial", "it's $(id)"]
    assert float(args[args.index("--block-size") + 1]) == 0.123456789
    alphas = [float(a) for a in args[args.index("--alphas") + 1].split(",")]
    assert alphas == [0.01, 1e-7, 10.0]


def test_a_service_name_cannot_rewrite_the_layer_source(cli, pg):
    before = pg.execute("SELECT count(*) FROM asmdb.qgis_projects").fetchone()[0]
    done = cli("qgis", "install", "--service", "asmdb' host=evil.example.org")
    assert done.code == 1
    assert "service name" in done.stderr
    assert "Traceback" not in done.stderr
    assert pg.execute("SELECT count(*) FROM asmdb.qgis_projects").fetchone()[0] == before

    done = cli("qgis", "install", "--service", "asmdb.prod-1")
    assert done.code == 0, done.stderr
    content = pg.execute("SELECT content FROM asmdb.qgis_projects WHERE name = 'asmdb'")
    assert content.fetchone() is not None


@pytest.fixture
def reader_url(db_url, pg):
    """A read-only role made by `asmdb roles create`, and its URL; dropped afterwards."""
    import uuid

    from psycopg import sql

    from asm_db.db.engine import create_engine
    from asm_db.publish.roles import create_reader

    name = f"asmdb_reader_{uuid.uuid4().hex[:8]}"
    engine = create_engine(db_url)
    create_reader(engine, name, None)
    engine.dispose()
    user_part = db_url.split("//", 1)[1].split("@", 1)
    url = f"postgresql://{name}@{user_part[1]}"
    yield url
    for role in (name, f"{name}_public"):
        pg.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        pg.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_reader_cannot_take_a_writers_lock_nor_stall_an_ingest(cli, pg, reader_url, sample):
    import zlib

    import psycopg
    from psycopg import errors

    with psycopg.connect(reader_url, autocommit=True) as reader:
        # Any session may switch read-only off: the grants are what keep the reader out.
        reader.execute("SET default_transaction_read_only = off")
        with pytest.raises(errors.InsufficientPrivilege), reader.transaction():
            reader.execute("SELECT * FROM asmdb.operation_locks FOR UPDATE")
        # The advisory lock asmdb once used: taking it now stalls nothing.
        reader.execute("SELECT pg_advisory_lock(%s, 1)", (zlib.crc32(b"asmdb") - 2**31,)).fetchone()
        done = cli("ingest", "labels", str(sample.labels))
        assert done.code == 0, done.stderr
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] > 0


@pytest.mark.slow
def test_a_held_lock_times_out_naming_the_session_and_changes_nothing(
    cli, pg, db_url, sample, monkeypatch
):
    import psycopg

    monkeypatch.setenv("ASMDB_LOCK_TIMEOUT", "1")
    with psycopg.connect(db_url.replace("+psycopg", ""), application_name="long-ingest") as other:
        other.execute("SELECT * FROM asmdb.operation_locks WHERE name = 'ingest labels' FOR UPDATE")
        pid = other.info.backend_pid
        done = cli("ingest", "labels", str(sample.labels))
    assert done.code == 1
    assert "Traceback" not in done.stderr, done.stderr[-2500:]
    last = done.stderr.strip().splitlines()[-1]
    assert "gave up after 1 s" in last and f"pid {pid}" in last and "long-ingest" in last
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == 0


def test_a_bad_lock_timeout_is_one_line(cli, sample, monkeypatch):
    monkeypatch.setenv("ASMDB_LOCK_TIMEOUT", "soon")
    done = cli("ingest", "labels", str(sample.labels))
    assert done.code == 1
    assert "ASMDB_LOCK_TIMEOUT" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def role_names(pg):
    """Fresh role names; every role of those names is dropped afterwards."""
    import uuid

    from psycopg import sql

    made: list[str] = []

    def fresh() -> str:
        made.append(f"asmdb_role_{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield fresh
    for name in made + [f"{m}_public" for m in made]:
        if pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            pg.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            pg.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _password(pg, name: str) -> str | None:
    return pg.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,)).fetchone()[0]


def test_roles_create_never_takes_over_a_role_it_did_not_make(cli, pg, role_names):
    from psycopg import sql

    name = role_names()
    pg.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'theirs'").format(sql.Identifier(name)))
    pg.execute(sql.SQL("GRANT pg_write_all_data TO {}").format(sql.Identifier(name)))
    before = _password(pg, name)
    done = cli("roles", "create", "--name", name, "--password", "mine")
    assert done.code == 1
    assert "member of pg_write_all_data" in done.stderr and "--force" in done.stderr
    assert "Traceback" not in done.stderr
    assert _password(pg, name) == before
    assert not pg.execute(
        "SELECT 1 FROM information_schema.role_table_grants WHERE grantee = %s", (name,)
    ).fetchone()

    plain = role_names()
    pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(plain)))
    done = cli("roles", "create", "--name", plain)
    assert done.code == 1 and "asmdb did not create it" in done.stderr
    done = cli("roles", "create", "--name", plain, "--force")
    assert done.code == 0, done.stderr


def test_roles_create_sends_a_scram_verifier_and_says_when_a_password_changes(cli, pg, role_names):
    name = role_names()
    done = cli("roles", "create", "--name", name, "--password", "first secret")
    assert done.code == 0, done.stderr
    assert "first secret" not in done.stdout + done.stderr
    first = _password(pg, name)
    assert first.startswith("SCRAM-SHA-256$")
    again = cli("roles", "create", "--name", name)
    assert again.code == 0, again.stderr
    assert "password was changed" not in again.stdout
    assert _password(pg, name) == first
    changed = cli("roles", "create", "--name", name, "--password", "second secret")
    assert changed.code == 0, changed.stderr
    assert f"role {name}: its password was changed" in changed.stdout
    assert _password(pg, name) != first


def test_a_map_of_tiles_far_apart_is_a_bounded_image():
    import numpy as np

    from asm_db.grid import Grid
    from asm_db.runs.plots import MAX_SIDE, _raster

    grid = Grid()
    ids = grid.tile_ids([-89.995, 89.995, 8.125], [-179.995, 179.995, -11.235])
    image, extent = _raster(grid, ids, np.array([0.1, 0.9, 0.5]))
    assert max(image.shape) <= MAX_SIDE
    assert np.nansum(image) == 0.1 + 0.9 + 0.5  # each tile lands in a pixel of its own
    assert extent[0] == -180 and extent[2] == -90 and extent[1] >= 180 and extent[3] >= 90
    # Close tiles keep a pixel a cell.
    near = grid.cells_in_bbox(-11.2, 8.4, -11.1, 8.5)
    image, _ = _raster(grid, near, np.linspace(0, 1, len(near)))
    assert image.size == len(near) and not np.isnan(image).any()


@pytest.mark.slow
def test_two_style_writers_at_once_leave_one_default_style_per_layer(db_url, pg):
    import threading

    import psycopg

    from asm_db.publish.styles import install_styles

    plain = db_url.replace("+psycopg", "")
    with psycopg.connect(plain) as first:
        install_styles(first)  # its transaction stays open, holding the writers' lock

        def second_writer():
            with psycopg.connect(plain) as second:
                install_styles(second)

        other = threading.Thread(target=second_writer)
        other.start()
        other.join(timeout=2)
        assert other.is_alive()  # it waits for the first writer
        first.commit()
    other.join(timeout=60)
    assert not other.is_alive()
    counts = pg.execute(
        "SELECT f_table_name, count(*) FILTER (WHERE useasdefault) FROM public.layer_styles "
        "WHERE f_table_schema = 'asmdb' AND stylename = 'asmdb' GROUP BY 1"
    ).fetchall()
    assert counts and all(n == 1 for _, n in counts), counts


@pytest.mark.parametrize("alphas", ["0,1", "-1", "nan", "1,inf"])
def test_bad_alphas_are_refused_before_anything_is_fitted(cli, pg, alphas):
    done = cli("train", "--alphas", alphas, "--bootstrap", "0")
    assert done.code != 0
    assert "Traceback" not in done.stderr and "alphas" in done.stderr
    assert pg.execute("SELECT count(*) FROM asmdb.model_runs").fetchone()[0] == 0


def test_a_feature_name_with_a_slash_makes_a_plain_file_name():
    from asm_db.runs.plots import _file_safe

    assert _file_safe("band/ratio 1") == "band_ratio_1"
    assert "/" not in _file_safe("../../etc/passwd")


def test_two_upgrades_at_once_both_succeed(empty_db_url):
    import threading

    from asm_db.db.engine import create_engine, head_revision, upgrade

    results, errors = [], []

    def run():
        engine = create_engine(empty_db_url)
        try:
            results.append(upgrade(engine))
        except Exception as exc:  # the assertion below shows it
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and results == [head_revision()] * 2


def test_a_review_time_that_is_not_iso_8601_names_its_row(cli, pg, tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("review_id,status,reviewed_at\n1,confirmed,2026-11-25\n2,rejected,25/11/2026\n")
    done = cli("review", "import", str(path))
    assert done.code == 1 and "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert "reviewed_at" in line and "ISO 8601" in line and "2" in line


def _labels_with(sample, tmp_path, column: str, value: str, row: int = 3):
    import pandas as pd

    frame = pd.read_csv(sample.labels)
    frame[column] = frame[column].astype(object)
    frame.loc[row - 1, column] = value
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("country", "Sierra\x00Leone"),
        ("unique_id", "".join(chr(33 + (i * 7919) % 90) for i in range(6000))),
        ("extra_note", "a\x00b"),
    ],
)
def test_text_postgresql_cannot_store_is_one_line_and_changes_nothing(
    cli, pg, sample, tmp_path, column, value
):
    import pandas as pd

    if column == "extra_note":
        frame = pd.read_csv(sample.labels)
        frame["extra_note"] = "fine"
        frame.loc[2, "extra_note"] = value
        path = tmp_path / "labels.csv"
        frame.to_csv(path, index=False)
    else:
        path = _labels_with(sample, tmp_path, column, value)
    from conftest import snapshot

    before = snapshot(pg)
    done = cli("ingest", "labels", str(path))
    assert done.code == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "row 3" in done.stderr and column in done.stderr
    assert snapshot(pg) == before
