"""The two calibrations that turn a model's scores into probabilities, and the choice between
them by held-out Brier score.

- `isotonic`: scikit-learn's `IsotonicRegression(out_of_bounds="clip")`, the seed's: a step
  function of the score. Flexible, but a map gets few distinct probabilities, some exactly 0 or 1.
- `sigmoid`: Platt scaling, scikit-learn's own `_SigmoidCalibration` (what
  `CalibratedClassifierCV(method="sigmoid")` fits): P(mine) = 1 / (1 + exp(a * score + b)), a
  smooth curve that never reaches 0 or 1.

`auto` fits both and keeps the one whose probabilities on rows it was not fitted on have the
lower Brier score (mean squared difference from the 0/1 label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.calibration import _SigmoidCalibration
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from asm_db.modeling.options import CALIBRATIONS

DESCRIPTIONS = {
    "isotonic": "IsotonicRegression(out_of_bounds='clip')",
    "sigmoid": "sigmoid calibration (Platt scaling)",
}


def fit_calibrator(method: str, scores: np.ndarray, y: np.ndarray):
    """A fitted calibrator of `method` (`predict(scores)` gives probabilities)."""
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip").fit(scores, y)
    if method == "sigmoid":
        return _SigmoidCalibration().fit(np.asarray(scores, dtype=float), y)
    raise ValueError(f"unknown calibration {method!r}")


def fit_all(scores: np.ndarray, y: np.ndarray) -> dict:
    """Both calibrations fitted on the same scores."""
    return {method: fit_calibrator(method, scores, y) for method in CALIBRATIONS}


def brier(y: np.ndarray, probability: np.ndarray) -> float:
    return float(np.mean((np.asarray(probability, float) - y) ** 2))


def cross_validated_brier(
    scores: np.ndarray, y: np.ndarray, folds: int, random_state: int
) -> dict[str, float | None]:
    """Each calibration's Brier score on rows it was not fitted on: k stratified folds of these
    rows, each calibrated on the others (None when a class has fewer than two rows)."""
    smallest = int(np.unique(y, return_counts=True)[1].min()) if len(np.unique(y)) == 2 else 0
    k = min(folds, smallest)
    if k < 2:
        return {method: None for method in CALIBRATIONS}
    out = {method: np.empty(len(y)) for method in CALIBRATIONS}
    splits = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
    for train, test in splits.split(scores.reshape(-1, 1), y):
        for method, calibrator in fit_all(scores[train], y[train]).items():
            out[method][test] = calibrator.predict(scores[test])
    return {method: brier(y, p) for method, p in out.items()}


@dataclass(frozen=True)
class CalibrationChoice:
    """The calibration a run uses, what was asked for, and why."""

    method: str  # "isotonic" or "sigmoid"
    requested: str  # "auto", "isotonic" or "sigmoid"
    brier: dict  # method -> held-out Brier score (None: not computable)
    how: str  # how the held-out Brier scores were computed
    reason: str

    def record(self) -> dict:
        """As a run's metrics record it."""
        return {
            "method": self.method,
            "requested": self.requested,
            "brier_out_of_fold": dict(self.brier),
            "brier_how": self.how,
            "reason": self.reason,
        }


def choose(
    requested: str, brier_scores: dict, how: str, default_note: str = ""
) -> CalibrationChoice:
    """`requested` itself, or for "auto" the calibration with the lower held-out Brier score
    (sigmoid on a tie: the smoother map); isotonic when the scores cannot be computed."""
    shown = ", ".join(
        f"{m} {v:.4f}" if v is not None else f"{m} -" for m, v in brier_scores.items()
    )
    if requested != "auto":
        why = default_note or f"--calibration {requested}"
        return CalibrationChoice(
            requested, requested, brier_scores, how, f"{why}; held-out Brier score {shown}"
        )
    iso, sig = brier_scores.get("isotonic"), brier_scores.get("sigmoid")
    if iso is None or sig is None:
        return CalibrationChoice(
            "isotonic",
            requested,
            brier_scores,
            how,
            "auto: too few rows of a class to compare calibrations held out; isotonic kept",
        )
    method = "sigmoid" if sig <= iso else "isotonic"
    other = "isotonic" if method == "sigmoid" else "sigmoid"
    return CalibrationChoice(
        method,
        requested,
        brier_scores,
        how,
        f"auto: {method} had the lower held-out Brier score "
        f"({brier_scores[method]:.4f} vs {other} {brier_scores[other]:.4f})",
    )
