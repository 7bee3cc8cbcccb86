"""Numbers users can trust: spatial CV, calibration kept off the scored rows, every model, run
history (show, compare, promote, reproduce) and the run report."""

import json
import re
import shlex

import numpy as np
import pytest

from asm_db.modeling.protocols import Protocol, spatial_blocks
from asm_db.runs.train import train_run

# The test sample spans 0.24 degrees: blocks of 0.05 give 25 of them. No bootstrap intervals
# unless a test asserts them.
SPATIAL = Protocol(block_size=0.05, bootstrap=0)


def _fold_labels(pg, run_id):
    rows = pg.execute(
        "SELECT e.fold, e.label_id, l.lon, l.lat FROM asmdb.run_evaluations e "
        "JOIN asmdb.labels l USING (label_id) WHERE e.run_id = %s",
        (run_id,),
    ).fetchall()
    return rows


def test_spatial_cv_is_not_more_optimistic_than_a_random_split(loaded):
    # The sample's mines cluster with a regional effect the features do not carry: a random
    # split keeps neighbours on both sides and scores that leak; blocked CV does not.
    random_split = train_run(loaded, protocol=Protocol(cv="seed", bootstrap=0))
    spatial = train_run(loaded, protocol=SPATIAL)
    assert spatial.fit.auc_uncalibrated <= random_split.fit.auc_uncalibrated
    assert spatial.fit.auc_calibrated <= random_split.fit.auc_calibrated
    assert spatial.metrics["protocol"] == "spatial" and random_split.metrics["protocol"] == "seed"


def test_calibration_never_sees_the_rows_it_is_scored_on(loaded, pg):
    result = train_run(loaded, protocol=SPATIAL)
    rows = _fold_labels(pg, result.run_id)
    # Every joined row was scored once, out of fold.
    assert len(rows) == result.counts["training_rows"]
    by_fold = {}
    for fold, label_id, _, _ in rows:
        by_fold.setdefault(fold, set()).add(label_id)
    assert sorted(by_fold) == [0, 1, 2, 3, 4]
    folds = list(by_fold.values())
    for i, a in enumerate(folds):
        for b in folds[i + 1 :]:
            assert not a & b  # a label (edge labels with several tiles too) is in one fold
    # Whole blocks are held out: no block has labels in two folds.
    blocks = spatial_blocks(np.array([[r[2], r[3]] for r in rows]), 0.05)
    fold_of_block = {}
    for (fold, *_), block in zip(rows, blocks, strict=True):
        assert fold_of_block.setdefault(block, fold) == fold
    # Each fold's calibration was fitted on other folds' labels only.
    for fold, calibrated_on in result.fit.calibration_label_ids.items():
        assert not set(calibrated_on.tolist()) & by_fold[fold]
        assert set(calibrated_on.tolist()) == set().union(
            *(by_fold[k] for k in by_fold if k != fold)
        )


def test_edge_labels_never_straddle_a_split(loaded, pg):
    result = train_run(loaded, protocol=SPATIAL)
    straddling = pg.execute(
        "SELECT label_id FROM asmdb.run_evaluations WHERE run_id = %s "
        "GROUP BY label_id HAVING count(*) > 1 AND count(DISTINCT fold) > 1",
        (result.run_id,),
    ).fetchall()
    several_tiles = pg.execute(
        "SELECT count(*) FROM (SELECT label_id FROM asmdb.run_evaluations WHERE run_id = %s "
        "GROUP BY label_id HAVING count(*) > 1) s",
        (result.run_id,),
    ).fetchone()[0]
    assert several_tiles > 0 and straddling == []


def test_metrics_carry_intervals_and_counts(loaded, pg):
    result = train_run(loaded, protocol=Protocol(block_size=0.05))  # 200 resamples
    m = result.metrics
    for name in ("roc_auc", "pr_auc", "brier", "ece"):
        for when in ("uncalibrated", "calibrated"):
            entry = m[f"{name}_{when}"]
            assert entry["low"] <= entry["value"] <= entry["high"], (name, when, entry)
    assert (
        0 < m["positive_rate"] < 1 and m["bootstrap"]["groups"] == result.counts["spatial_blocks"]
    )
    c = result.counts
    assert c["labels"] >= c["after_proportion_inspected"] >= c["after_mine_type"]
    assert c["after_mine_type"] >= c["after_confidence"] == c["labels_after_filters"]
    assert c["training_rows"] >= c["labels_joined"] and c["positives"] > 0
    stored = pg.execute(
        "SELECT metrics, counts, protocol, model_name, data_fingerprint, "
        "cardinality(feature_importance) FROM asmdb.model_runs WHERE run_id = %s",
        (result.run_id,),
    ).fetchone()
    assert stored[0]["roc_auc_calibrated"] == m["roc_auc_calibrated"]
    assert stored[1] == c and stored[2:4] == ("spatial", "ridge")
    assert len(stored[4]) == 64 and stored[5] == 256


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ridge", "logistic", "random-forest", "gradient-boosting"])
def test_every_model_runs_end_to_end(loaded, pg, model):
    protocol = Protocol(block_size=0.05, model=model, folds=3, bootstrap=0)
    result = train_run(loaded, protocol=protocol)
    assert 0.5 < result.fit.auc_uncalibrated <= 1
    assert (
        result.counts["tiles_predicted"]
        == pg.execute(
            "SELECT count(*) FROM asmdb.latest_predictions WHERE run_id = %s", (result.run_id,)
        ).fetchone()[0]
    )
    assert len(result.top_features) == 20 and result.metrics["importance_method"]
    assert pg.execute(
        "SELECT model_name FROM asmdb.model_runs WHERE run_id = %s", (result.run_id,)
    ).fetchone() == (model,)


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


def test_report_is_one_self_contained_page(cli, loaded, tmp_path):
    assert cli("train", "--block-size", "0.05", "--bootstrap", "30").code == 0
    out = tmp_path / "report" / "run-1.html"
    made = cli("report", "1", str(out))
    assert made.code == 0, made.stderr
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 8
    assert "http://" not in page.replace("http://mrcc", "") and "<script" not in page
    for text in (
        "ROC AUC",
        "PR AUC",
        "Brier score",
        "expected calibration error",
        "what it measures",
        "higher is better",
        "lower is better",
        "Calibration: <b>",
        "lower held-out Brier score",
        "labels in the database",
        "tiles mapped",
        "Spatially blocked",
        "Top features",
        "asmdb train --feature-set default --cv spatial",
    ):
        assert text in page
    assert ">AP<" not in page and "AP =" not in page
    assert "rows used to fit the model" not in page  # no train/test split under spatial CV
    assert page.index("labels in the database") < page.index("labels lying on a tile")
    assert page.index("labels lying on a tile") < page.index("tiles mapped")
    assert cli("report", "7", str(tmp_path / "x.html")).code == 1


# The seed's small alphas on collinear features: scikit-learn warns, as in the notebook.
@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_the_shared_gram_search_refuses_splits_whose_training_rows_are_not_the_others():
    # Each fold's training Gram is all rows' less its test rows': a split training on fewer
    # rows, or on a test row, would be searched on the wrong matrix.
    from asm_db.modeling.ridge import ridge_search

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5)).astype(np.float32)
    y = np.arange(40) % 2
    rows = np.arange(40)
    for train, test in ((rows[10:30], rows[:10]), (rows[9:], rows[:10])):
        with pytest.raises(ValueError, match="all its other rows"):
            ridge_search(X, y, [(train, test)], (1.0,))
    assert ridge_search(X, y, [(rows[10:], rows[:10])], (1.0,)).best_params_ == {"alpha": 1.0}


def test_ridge_search_picks_gridsearchcv_alpha_with_more_or_fewer_rows_than_features():
    # More rows than features: the shared-Gram search; fewer: GridSearchCV itself. Either way
    # the alpha and the refitted model are scikit-learn's.
    import numpy as np
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from asm_db.modeling import estimators
    from asm_db.modeling.protocols import Protocol, _search
    from asm_db.modeling.ridge import RidgeSearch

    rng = np.random.default_rng(3)
    for n, p, shared in ((900, 120, True), (300, 400, False)):
        Z = rng.standard_normal((n, 6))
        X = (np.maximum(Z @ rng.standard_normal((6, p)), 0) + rng.standard_normal((n, p))).astype(
            np.float32
        )
        y = (Z[:, 0] + rng.standard_normal(n) > 0.3).astype(int)
        splits = list(StratifiedKFold(5).split(X, y))
        ours = _search(estimators.model_spec("ridge"), Protocol(cv="seed"), X, y, splits)
        theirs = GridSearchCV(
            RidgeClassifier(), {"alpha": [0.01, 0.1, 1.0, 10.0]}, cv=5, scoring="roc_auc"
        ).fit(X, y)
        assert isinstance(ours, RidgeSearch) == shared
        assert ours.best_params_ == theirs.best_params_
        assert abs(ours.best_score_ - theirs.best_score_) < 1e-4
        assert np.array_equal(ours.best_estimator_.coef_, theirs.best_estimator_.coef_)


def test_the_bootstraps_weighted_metrics_equal_scikit_learns_on_the_resampled_rows():
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    from asm_db.modeling.metrics import (
        average_precision,
        brier,
        calibration_error,
        expected_calibration_error,
        roc_auc,
    )

    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(5, 300))
        y = (rng.random(n) < rng.uniform(0.05, 0.6)).astype(int)
        # Rounded scores: many ties, as isotonic probabilities have.
        score = np.round(rng.normal(y * rng.uniform(0, 2), 1), int(rng.integers(0, 3)))
        p = np.round(rng.random(n), int(rng.integers(1, 3)))
        weights = rng.integers(0, 4, (6, n)).astype(float)  # how often each row was drawn
        for w, auc, ap, b, ece in zip(
            weights,
            roc_auc(y, score, weights),
            average_precision(y, score, weights),
            brier(y, p, weights),
            calibration_error(y, p, weights),
            strict=True,
        ):
            rows = np.repeat(np.arange(n), w.astype(int))
            if len(np.unique(y[rows])) < 2:
                continue
            assert auc == pytest.approx(roc_auc_score(y[rows], score[rows]), abs=1e-12)
            assert ap == pytest.approx(average_precision_score(y[rows], score[rows]), abs=1e-12)
            assert b == pytest.approx(brier_score_loss(y[rows], p[rows]), abs=1e-12)
            assert ece == pytest.approx(expected_calibration_error(y[rows], p[rows]), abs=1e-12)


def test_bootstrap_intervals_are_percentiles_of_whole_groups_drawn_again():
    from sklearn.metrics import roc_auc_score

    from asm_db.modeling.metrics import evaluate

    rng = np.random.default_rng(5)
    n = 400
    groups = rng.integers(0, 40, n) * 7  # blocks of uneven size
    y = (rng.random(n) < 0.3).astype(int)
    score = rng.normal(y, 1.0)
    calibrated = np.round(1 / (1 + np.exp(-score)), 1)
    out = evaluate(y, score, calibrated, calibrated, groups, n_bootstrap=60, random_state=9)
    # The same draws, made into resampled rows: whole groups, as many times as drawn.
    unique = np.unique(groups)
    draw = np.random.default_rng(9)
    values = []
    for _ in range(60):
        chosen = unique[draw.integers(0, len(unique), len(unique))]
        rows = np.concatenate([np.flatnonzero(groups == g) for g in chosen])
        if len(np.unique(y[rows])) == 2:
            values.append(roc_auc_score(y[rows], calibrated[rows]))
    low, high = np.percentile(values, [2.5, 97.5])
    assert out["roc_auc_calibrated"]["low"] == pytest.approx(low, abs=1e-12)
    assert out["roc_auc_calibrated"]["high"] == pytest.approx(high, abs=1e-12)
    assert out["bootstrap"] == {"resamples": 60, "groups": 40}


# --- outputs a non-statistician can read -------------------------------------------------------


def _in_order(text: str, *parts: str) -> bool:
    at = [text.find(p) for p in parts]
    return -1 not in at and at == sorted(at)


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


def test_figures_name_classes_bins_and_metrics_plainly():
    from asm_db import probability_classes
    from asm_db.grid import Grid
    from asm_db.runs import plots

    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.3).astype(int)
    raw = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    probability = np.round(raw, 1)  # values on the bin edges too
    fig = plots.reliability(y, raw, probability)
    curve, bars = fig.axes[:2]
    heights = [p.get_height() for p in bars.patches]
    assert sum(heights) == len(y)
    assert heights == plots.bin_counts(probability).tolist()
    from sklearn.calibration import calibration_curve

    # A bin holds the rows its point on the curve is the mean of.
    observed, _ = calibration_curve(y, probability, n_bins=10)
    assert len(observed) == sum(h > 0 for h in heights)
    shown = [t.get_text() for t in bars.texts]
    assert [t for t in shown if t] == [str(int(h)) for h in heights if h]
    assert bars.get_ylabel() == "rows in bin"

    balance = plots.class_balance({"0": 40, "1": 10})
    assert [t.get_text() for t in balance.axes[0].get_yticklabels()] == [
        "not mine (0)",
        "mine (1)",
    ]
    pr = plots.pr_curves(y, raw, probability, 0.5, 0.4)
    legend = [t.get_text() for t in pr.axes[0].get_legend().get_texts()]
    assert any("PR AUC = 0.500" in t for t in legend) and not any("AP" in t for t in legend)
    roc = plots.roc_curves(y, raw, probability, 0.7, 0.6)
    assert "mine" in roc.axes[0].get_xlabel() and "mine" in roc.axes[0].get_ylabel()

    grid = Grid()
    tile_id = grid.tile_ids(
        np.array([8.005, 8.005, 8.015, 8.015, 8.025]),
        np.array([-12.005, -11.995, -12.005, -11.995, -12.005]),
    )
    mapped = plots.tile_map(
        grid, tile_id, np.array([0.1, 0.3, 0.5, 0.7, 0.95]), "t", "Probability", classes=True
    )
    colorbar = mapped.axes[1]
    labels = [t.get_text() for t in colorbar.get_yticklabels()]
    assert (
        labels
        == [c.label for c in probability_classes.CLASSES]
        == [
            "0.0-0.2",
            "0.2-0.4",
            "0.4-0.6",
            "0.6-0.8",
            "0.8-1.0",
        ]
    )


def test_train_reports_progress_through_every_fold_then_the_map(loaded):
    """What the progress bar shows: each outer fold, the final fit, then the tiles scored (not
    "predict tiles 0/?" for the whole fit)."""
    seen = []
    train_run(
        loaded,
        protocol=Protocol(block_size=0.05, folds=3, bootstrap=0),
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    fit = [(done, total) for stage, done, total in seen if stage == "fit"]
    assert fit == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    predicted = [(done, total) for stage, done, total in seen if stage == "predict"]
    assert predicted and predicted[-1][0] == predicted[-1][1] > 0
    assert seen.index(("fit", 4, 4)) < seen.index(("predict", *predicted[0]))


def test_kernel_ridge_search_is_scikit_learns_ridge_in_exact_arithmetic():
    """Fewer rows than features (spatial CV): each fold's decisions equal RidgeClassifier's
    fitted in float64, and the chosen alpha is GridSearchCV's on float64 data."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from asm_db.modeling.ridge import kernel_ridge_search

    rng = np.random.default_rng(5)
    n, p = 240, 900
    Z = rng.standard_normal((n, 6))
    X = (np.maximum(Z @ rng.standard_normal((6, p)), 0) + rng.standard_normal((n, p))).astype(
        np.float32
    )
    y = (Z[:, 0] + rng.standard_normal(n) > 0.3).astype(int)
    splits = list(GroupKFold(4).split(X, y, rng.integers(0, 40, n)))
    alphas = (0.01, 0.1, 1.0, 10.0)
    ours = kernel_ridge_search(X, y, splits, alphas)
    X64 = X.astype(np.float64)
    best = ours.best_params_["alpha"]
    for train, test in splits:
        theirs = RidgeClassifier(alpha=best).fit(X64[train], y[train]).decision_function(X64[test])
        assert np.allclose(ours.out_of_fold[test], theirs, rtol=1e-7, atol=1e-9)
    grid = GridSearchCV(RidgeClassifier(), {"alpha": list(alphas)}, cv=splits, scoring="roc_auc")
    grid.fit(X64, y)
    assert ours.best_params_ == grid.best_params_
    assert abs(ours.best_score_ - grid.best_score_) < 1e-9
    assert np.array_equal(ours.best_estimator_.coef_, RidgeClassifier(alpha=best).fit(X, y).coef_)
