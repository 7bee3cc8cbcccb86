"""The `asmdb` command, as the README uses it; the installed command itself, for a few."""

import json

import pandas as pd
import pytest

from asm_db.db.engine import head_revision

from conftest import snapshot


@pytest.mark.slow
def test_readme_flow(cli, pg, tmp_path):
    data = tmp_path / "data"
    made = cli(
        "sample-data", str(data), "--tiles-per-side", "20", "--features", "128", "--labels", "500"
    )
    assert made.code == 0, made.stderr
    assert (data / "SLE_mines.csv").exists() and (data / "SLE_features.feather").exists()

    upgraded = cli("db", "upgrade")
    assert upgraded.code == 0 and f"at revision {head_revision()}" in upgraded.stdout

    labels = cli("ingest", "labels", str(data / "SLE_mines.csv"))
    assert labels.code == 0 and "500 labels (500 new, 0 updated)" in labels.stdout
    features = cli("ingest", "features", str(data / "SLE_features.feather"))
    assert features.code == 0 and "400 tiles x 128 features" in features.stdout

    trained = cli("train", "--bootstrap", "0", "--plots", str(tmp_path / "plots"))
    assert trained.code == 0, trained.stderr
    for line in (
        "Best alpha: ",
        "AUC before calibration: ",
        "AUC after calibration: ",
        "tiles predicted: 400",
    ):
        assert line in trained.stdout
    assert "protocol: spatial (5-fold blocked CV" in trained.stdout
    stems = {p.stem.removeprefix("run-1-") for p in (tmp_path / "plots").glob("run-1-*.png")}
    features = {s for s in stems if s.startswith("feature-")}
    assert stems - features == {
        "class-balance",
        "roc",
        "precision-recall",
        "reliability",
        "probability-map",
    }
    assert sorted(f.split("-")[1] for f in features) == ["1", "2", "3"]

    as_json = cli(
        "train",
        "--json",
        "--cv",
        "seed",
        "--seed",
        "3",
        "--alphas",
        "0.1,1",
        "--exclude-mine-type",
        "commercial",
        "--exclude-mine-type",
        "industrial",
        "--min-confidence",
        "2",
        "--bootstrap",
        "0",
    )
    run = json.loads(as_json.stdout)
    assert run["run_id"] == 2 and run["best_alpha"] in (0.1, 1.0)
    params = pg.execute("SELECT parameters FROM asmdb.model_runs WHERE run_id = 2").fetchone()[0]
    assert params["filters"] == {
        "min_proportion_inspected": 0.2,
        "min_confidence": 2.0,
        "exclude_mine_types": ["commercial", "industrial"],
    }
    assert params["protocol"]["alphas"] == [0.1, 1.0] and params["protocol"]["random_state"] == 3

    listed = cli("runs")
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
        "run (* shown)",
        "2 *",
        "1  ",
    ]
    assert pg.execute("SELECT count(*), min(run_id) FROM asmdb.latest_predictions").fetchone() == (
        400,
        2,
    )


def test_bad_option_is_a_usage_error(cli):
    result = cli("train", "--alphas", "a,b")
    assert result.code == 2 and "expected numbers" in result.stderr


@pytest.mark.slow
def test_installed_command_shows_its_help_and_usage(installed_cli):
    helped = installed_cli("--help")
    assert helped.code == 0 and helped.stderr == ""
    assert "Usage: asmdb [OPTIONS] COMMAND [ARGS]..." in helped.stdout
    for group in ("train", "ingest", "runs", "review", "qgis", "roles", "export", "sample-data"):
        assert f" {group} " in helped.stdout, group
    bare = installed_cli()
    assert bare.code == 2 and "Usage: asmdb" in bare.stdout + bare.stderr
    wrong = installed_cli("ingest", "labels", "--no-such-option")
    assert wrong.code == 2 and "No such option: --no-such-option" in wrong.stderr


@pytest.mark.slow
def test_installed_command_started_with_its_output_closed_ends_cleanly():
    import os
    import subprocess

    from conftest import ASMDB

    # Nothing to print to: the command still exits 0, without a traceback at its exit.
    closed = subprocess.run(
        [str(ASMDB), "--version"], preexec_fn=lambda: os.close(1),
        stderr=subprocess.PIPE, text=True, timeout=60,
    )  # fmt: skip
    assert closed.returncode == 0 and "Traceback" not in closed.stderr, closed.stderr


def test_installed_command_ingests(installed_cli, pg, sample):
    done = installed_cli("ingest", "labels", str(sample.labels))
    assert done.code == 0, done.stderr
    assert f"{sample.n_labels} labels ({sample.n_labels} new, 0 updated)" in done.stdout
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels


@pytest.mark.slow
def test_installed_command_gives_a_users_mistake_as_one_line(installed_cli, pg, sample, tmp_path):
    path = tmp_path / "labels.csv"
    labels = pd.read_csv(sample.labels)
    labels.assign(
        confidence=labels.confidence.astype(object).where(labels.index != 2, "high")
    ).to_csv(path, index=False)
    before = snapshot(pg)
    done = installed_cli("ingest", "labels", str(path))
    assert done.code == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: {path} (row 3, column 'confidence'): 'high' is not a number"
    ]
    assert snapshot(pg) == before
