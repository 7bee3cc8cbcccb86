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
