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


# The bootstrap: each resample is a weight per evaluated row (how often it was drawn), and each
# metric is computed for a block of resamples at once from the rows sorted once. Equal to the
# metric of the resampled rows themselves, ties included (tests/test_evaluation.py).


def _tie_groups(ranked: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in a sorted array."""
    return np.r_[0, np.flatnonzero(np.diff(ranked)) + 1]


def roc_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC (ties count a half) of each row of `weights` (resamples x rows); NaN for a
    resample of one class."""
    order = np.argsort(score, kind="mergesort")
    starts = _tie_groups(score[order])
    w, mine = weights[:, order], y[order] == 1
    positive = np.add.reduceat(np.where(mine, w, 0.0), starts, axis=1)
    negative = np.add.reduceat(np.where(mine, 0.0, w), starts, axis=1)
    below = np.cumsum(negative, axis=1) - negative  # negatives scored under each tie group
    pairs = positive.sum(axis=1) * negative.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (positive * (below + 0.5 * negative)).sum(axis=1) / pairs


def average_precision(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average precision (PR AUC) as scikit-learn defines it, of each row of `weights`: the sum
    over distinct thresholds, highest first, of the rise in recall times the precision there;
    NaN for a resample without a mine."""
    order = np.argsort(-score, kind="mergesort")
    starts = _tie_groups(score[order])
    w, mine = weights[:, order], y[order] == 1
    positive = np.add.reduceat(np.where(mine, w, 0.0), starts, axis=1)
    flagged = np.cumsum(np.add.reduceat(w, starts, axis=1), axis=1)
    precision = np.divide(
        np.cumsum(positive, axis=1), flagged, out=np.zeros_like(flagged), where=flagged > 0
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return (positive * precision).sum(axis=1) / positive.sum(axis=1)


def brier(y: np.ndarray, probability: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return weights @ ((probability - y) ** 2) / weights.sum(axis=1)


def calibration_error(
    y: np.ndarray, probability: np.ndarray, weights: np.ndarray, bins: int = ECE_BINS
) -> np.ndarray:
    """`expected_calibration_error` of each row of `weights`."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    member = np.zeros((len(y), bins))
    member[np.arange(len(y)), which] = 1.0
    rows, mines, total = (
        weights @ (member * v[:, None]) for v in (np.ones(len(y)), y, probability)
    )
    gap = np.abs(mines - total) / np.where(rows > 0, rows, 1.0)
    return (rows * gap).sum(axis=1) / rows.sum(axis=1)


# The same metrics, of many resamples at once, for the bootstrap.
RESAMPLED = {
    "ROC AUC": roc_auc,
    "PR AUC": average_precision,
    "Brier score": brier,
    "expected calibration error": calibration_error,
}
# Resamples weighed at once: a block of weights holds at most this many values.
BLOCK_VALUES = 2_000_000


def _draws(n_groups: int, n_bootstrap: int, random_state: int) -> np.ndarray:
    """(resamples x groups) counts: resample r draws n_groups groups with replacement."""
    rng = np.random.default_rng(random_state)
    counts = np.empty((n_bootstrap, n_groups), dtype=np.int32)
    for r in range(n_bootstrap):
        counts[r] = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
    return counts


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
    y = np.asarray(y, dtype=float)
    samples: dict[str, list[np.ndarray]] = {name: [] for name in METRICS}
    draws = _draws(len(unique), n_bootstrap, random_state)
    step = max(1, BLOCK_VALUES // max(1, len(y)))
    for start in range(0, n_bootstrap, step):
        block = draws[start : start + step][:, index].astype(float)  # a row weighs its group
        mines = block @ y
        block = block[(mines > 0) & (mines < block.sum(axis=1))]  # one class: no AUC
        for name, (title, kind, _) in METRICS.items():
            samples[name].append(RESAMPLED[title](y, predictions[kind], block))
    out = {}
    for name, value in point.items():
        drawn = np.concatenate(samples[name]) if samples[name] else np.empty(0)
        if len(drawn):
            low, high = (float(v) for v in np.percentile(drawn, [2.5, 97.5]))
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
