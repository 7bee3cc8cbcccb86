"""Run history (asm_db.runs.registry): `runs show`, `list`, `compare`, `promote` and the
reproduce command they print."""

import json
import re
import shlex

import pytest


@pytest.mark.slow
def test_runs_show_compare_promote_and_reproduce(cli, pg, loaded, tmp_path):
    first = json.loads(cli("train", "--cv", "seed", "--bootstrap", "20", "--json").stdout)
    second = json.loads(
        cli("train", "--block-size", "0.05", "--no-promote", "--bootstrap", "50", "--json").stdout
    )
    assert (first["run_id"], second["run_id"]) == (1, 2) and second["promoted"] is False

    def shown():
        return pg.execute("SELECT DISTINCT run_id FROM asmdb.latest_predictions").fetchall()

    assert shown() == [(1,)]  # an unpromoted run does not change the map
    listed = cli("runs", "list").stdout.splitlines()
    assert listed[1].startswith("2  \t") and listed[2].startswith("1 *\t")

    compared = cli("runs", "compare", "1", "2")
    assert compared.code == 0, compared.stderr
    assert re.search(
        r"ROC AUC, before calibration\s+0\.\d{3} \(0\.\d{3}-0\.\d{3}\)\s+0\.\d{3} \(0\.\d{3}-0\.\d{3}\)",
        compared.stdout,
    )
    assert "576 tiles in both (0 only in run 1, 0 only in run 2)" in compared.stdout
    assert "tiles change map class" in compared.stdout and "same data" in compared.stdout
    assert re.search(r"calibration\s+isotonic\s+(isotonic|sigmoid)", compared.stdout)

    promoted = cli("runs", "promote", "2")
    assert promoted.code == 0 and shown() == [(2,)]
    assert cli("runs", "promote", "1").code == 0 and shown() == [(1,)]
    missing = cli("runs", "promote", "9")
    assert missing.code == 1 and "no model run 9" in missing.stderr and shown() == [(1,)]

    show = cli("runs", "show", "2")
    assert show.code == 0 and "data fingerprint: " in show.stdout
    command = show.stdout.split("reproduce: ", 1)[1].strip()
    again = json.loads(cli(*shlex.split(command)[1:], "--json").stdout)
    assert again["metrics"]["roc_auc_calibrated"] == second["metrics"]["roc_auc_calibrated"]
    assert again["best_params"] == second["best_params"]
    fingerprints = pg.execute(
        "SELECT data_fingerprint FROM asmdb.model_runs WHERE run_id IN (2, 3)"
    ).fetchall()
    assert len(set(fingerprints)) == 1


def _in_order(text: str, *parts: str) -> bool:
    at = [text.find(p) for p in parts]
    return -1 not in at and at == sorted(at)


@pytest.mark.slow
def test_runs_show_counts_in_order_with_plain_names_and_metrics_explained(loaded, cli):
    assert cli("train", "--block-size", "0.05", "--bootstrap", "0").code == 0
    assert cli("train", "--cv", "seed", "--bootstrap", "0").code == 0
    spatial, seed = cli("runs", "show", "1").stdout, cli("runs", "show", "2").stdout
    for shown in (spatial, seed):
        assert _in_order(
            shown,
            "labels in the database",
            "labels inspected enough (share >= 0.2; mines always kept)",
            "labels left after excluding mine types (commercial)",
            "labels confident enough (confidence >= 3)",
            "labels used for training",
            "labels lying on a tile",
            "training rows",
            "rows labelled mine",
            "rows labelled not mine",
            "tiles mapped",
        ), shown
        assert "_" not in shown.split("counts:", 1)[1].split("calibration:", 1)[0]  # no keys
        for name in ("ROC AUC", "PR AUC", "Brier score", "expected calibration error"):
            explained = [line for line in shown.splitlines() if line.startswith(f"{name}: ")]
            assert len(explained) == 1, (name, shown)
        assert shown.count("higher is better") == 2 and shown.count("lower is better") == 2
        assert " AP" not in shown and "calibration: " in shown
    # Train and test counts only where there is a split: the seed protocol.
    assert "rows used to fit the model" not in spatial and "spatial blocks" in spatial
    assert _in_order(seed, "rows labelled not mine", "rows used to fit the model", "rows held out")
    assert "spatial blocks" not in seed
    # Every line of the metrics' explanations fits 80 columns.
    assert all(len(line) <= 80 for line in spatial.split("metric ", 1)[1].splitlines()[:12])


@pytest.mark.slow
def test_runs_list_has_a_header_and_says_what_to_do_when_empty(loaded, cli):
    empty = cli("runs", "list")
    assert empty.code == 0 and empty.stdout.strip().startswith("no runs yet: `asmdb train`")
    assert cli("train", "--block-size", "0.05", "--bootstrap", "0").code == 0
    listed = cli("runs", "list").stdout.splitlines()
    header = listed[0].split("\t")
    assert header[0] == "run (* shown)" and "calibration" in header and "tiles mapped" in header
    row = listed[1].split("\t")
    assert len(row) == len(header) and row[0] == "1 *" and row[-1] == "576"
    assert row[header.index("calibration")] in ("isotonic", "sigmoid")
