"""Run metrics with 95% intervals: discrimination (ROC AUC, PR AUC) and calibration (Brier
score, expected calibration error), before and after calibration; each under one name, with a
line that says what it measures and which direction is good."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from asm_db.modeling.options import DEFAULT_BOOTSTRAP

ECE_BINS = 10


def expected_calibration_error(
    y: np.ndarray, probability: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Mean |observed rate - mean probability| over equal-width bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(y[inside].mean() - probability[inside].mean())
    return float(total)


# name -> (which prediction it reads, function); "score" = uncalibrated ranking score,
# "raw" = the model's own probability before calibration, "calibrated" = after.
METRICS: dict[str, tuple[str, str, Callable]] = {
    "roc_auc_uncalibrated": ("ROC AUC", "score", roc_auc_score),
    "roc_auc_calibrated": ("ROC AUC", "calibrated", roc_auc_score),
    "pr_auc_uncalibrated": ("PR AUC", "score", average_precision_score),
    "pr_auc_calibrated": ("PR AUC", "calibrated", average_precision_score),
    "brier_uncalibrated": ("Brier score", "raw", brier_score_loss),
    "brier_calibrated": ("Brier score", "calibrated", brier_score_loss),
    "ece_uncalibrated": ("expected calibration error", "raw", expected_calibration_error),
    "ece_calibrated": ("expected calibration error", "calibrated", expected_calibration_error),
}


def _values(y, predictions: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(fn(y, predictions[kind])) for name, (_, kind, fn) in METRICS.items()}


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic on average ranks (ties count a half): the value
    scikit-learn's roc_auc_score gives, without its input checks (the bootstrap calls it
    hundreds of times)."""
    from scipy.stats import rankdata

    positive = y == 1
    n1 = int(positive.sum())
    n0 = len(y) - n1
    return float((rankdata(score)[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision (PR AUC) as scikit-learn defines it: the sum over distinct thresholds,
    highest first, of the rise in recall times the precision there."""
    order = np.argsort(-score, kind="mergesort")
    ranked, hits = score[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # end of each tie group
    tp = np.cumsum(hits)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _brier(y: np.ndarray, probability: np.ndarray) -> float:
    return float(np.mean((probability - y) ** 2))


# The same metrics, computed with numpy alone, for the bootstrap's resamples.
FAST = {
    "ROC AUC": roc_auc,
    "PR AUC": average_precision,
    "Brier score": _brier,
    "expected calibration error": expected_calibration_error,
}


def _fast_values(y, predictions: dict[str, np.ndarray]) -> dict[str, float]:
    return {
        name: float(FAST[title](y, predictions[kind])) for name, (title, kind, _) in METRICS.items()
    }


def evaluate(
    y: np.ndarray,
    score: np.ndarray,
    raw: np.ndarray,
    calibrated: np.ndarray,
    groups: np.ndarray,
    *,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    random_state: int = 0,
) -> dict:
    """Each metric's value on the evaluated rows and its 95% percentile interval.

    The bootstrap resamples whole groups (spatial blocks, or single rows for a random split),
    so rows that are alike because they are neighbours are not counted as independent.
    """
    predictions = {"score": score, "raw": raw, "calibrated": calibrated}
    point = _values(y, predictions)
    unique, index = np.unique(groups, return_inverse=True)
    order = np.argsort(index, kind="stable")
    members = np.split(order, np.cumsum(np.bincount(index))[:-1])
    rng = np.random.default_rng(random_state)
    samples = {name: [] for name in METRICS}
    for _ in range(n_bootstrap):
        rows = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        if len(np.unique(y[rows])) < 2:
            continue  # a resample with one class has no AUC
        resampled = {k: v[rows] for k, v in predictions.items()}
        for name, value in _fast_values(y[rows], resampled).items():
            samples[name].append(value)
    out = {}
    for name, value in point.items():
        if samples[name]:
            low, high = (float(v) for v in np.percentile(samples[name], [2.5, 97.5]))
        else:  # too few groups to resample: no interval rather than a made-up one
            low = high = None
        out[name] = {"value": value, "low": low, "high": high}
    out["positive_rate"] = float(np.mean(y))
    out["rows_evaluated"] = int(len(y))
    out["bootstrap"] = {"resamples": n_bootstrap, "groups": int(len(unique))}
    return out


def _interval(entry: dict | None) -> str:
    if not entry:
        return "-"
    text = f"{entry['value']:.3f}"
    if entry.get("low") is not None:
        text += f" ({entry['low']:.3f}-{entry['high']:.3f})"
    return text


# One line per metric, in the order tables show them: what it measures, which way is good.
MEANINGS = {
    "ROC AUC": "how often a mine is ranked above a non-mine: 0.5 is chance, 1 is perfect; "
    "higher is better",
    "PR AUC": "how cleanly the highest-ranked tiles are mines (precision averaged over the "
    "share of mines found); the positive rate is chance, 1 is perfect; higher is better",
    "Brier score": "mean squared gap between the probability and the truth (1 mine, 0 not): "
    "0 is perfect; lower is better",
    "expected calibration error": "how far probabilities are from the share of mines "
    "observed at them (10 bins): 0 means a probability of 0.3 holds 30% mines; lower is better",
}


def metric_meanings() -> list[tuple[str, str]]:
    """(metric, what it measures and which direction is good), in table order."""
    return list(MEANINGS.items())


def metric_rows(metrics: dict) -> list[tuple[str, str, str]]:
    """(metric, before calibration, after calibration) as text with 95% intervals; runs
    recorded before intervals existed show their AUCs alone."""
    rows = []
    for stem, title in zip(("roc_auc", "pr_auc", "brier", "ece"), MEANINGS, strict=True):
        before, after = metrics.get(f"{stem}_uncalibrated"), metrics.get(f"{stem}_calibrated")
        if before is None and stem == "roc_auc":
            before = {"value": metrics["auc_uncalibrated"]}
            after = {"value": metrics["auc_calibrated"]}
        if before is not None:
            rows.append((title, _interval(before), _interval(after)))
    return rows


def interval_note(metrics: dict, protocol: str) -> str:
    boot = metrics.get("bootstrap")
    if not boot:
        return "no intervals recorded for this run"
    unit = "spatial blocks" if protocol == "spatial" else "rows"
    return (
        f"positive rate {metrics['positive_rate']:.3f} of {metrics['rows_evaluated']} rows "
        f"evaluated; 95% intervals from {boot['resamples']} bootstrap resamples of "
        f"{boot['groups']} {unit}"
    )
