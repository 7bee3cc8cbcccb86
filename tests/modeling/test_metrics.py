"""Metrics users can trust (asm_db.modeling.metrics): intervals and counts with every metric, and
bootstraps that resample whole groups as scikit-learn would score them."""

import numpy as np
import pytest

from asm_db.modeling.protocols import Protocol
from asm_db.runs.train import train_run


@pytest.mark.slow
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
