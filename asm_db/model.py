"""The seed's model: ridge classifier tuned by grid search, then isotonic calibration."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import LinAlgWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split

from asm_db.errors import AsmdbError

SEED_ALPHAS = (0.01, 0.1, 1.0, 10.0)


class TrainingDataError(AsmdbError):
    """The joined training data cannot support the protocol (too few rows, one class)."""


@dataclass(frozen=True)
class Protocol:
    """The seed's evaluation protocol; every default is the seed's."""

    test_size: float = 0.2
    random_state: int = 1991
    alphas: tuple[float, ...] = SEED_ALPHAS
    folds: int = 5
    scoring: str = "roc_auc"
    n_jobs: int = -1


@dataclass
class CalibratedRidge:
    """A fitted ridge classifier and its isotonic calibration, applied together."""

    classifier: RidgeClassifier
    calibrator: IsotonicRegression
    feature_names: list[str] = field(default_factory=list)

    def score(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated decision function."""
        return self.classifier.decision_function(X)

    def probability(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probability of a mine, from scores."""
        return self.calibrator.predict(scores)


@dataclass
class FitResult:
    model: CalibratedRidge
    best_alpha: float
    cv_auc: float
    auc_uncalibrated: float
    auc_calibrated: float
    y_test: np.ndarray
    score_test: np.ndarray
    probability_test: np.ndarray
    n_train: int
    n_test: int


def fit(X: np.ndarray, y: np.ndarray, protocol: Protocol = Protocol()) -> FitResult:
    """Split, tune alpha by cross-validated ROC AUC, calibrate on the test scores (as the seed)."""
    classes, counts = np.unique(y, return_counts=True)
    if len(y) == 0:
        raise TrainingDataError(
            "no training rows: no label passing the filters intersects a tile of this feature set"
        )
    if len(classes) < 2:
        raise TrainingDataError(
            f"the training rows hold only label {classes.tolist()} ({len(y)} rows); "
            "relax the label filters or ingest labels of both classes"
        )
    if len(y) * protocol.test_size < 2 or counts.min() < protocol.folds:
        raise TrainingDataError(
            f"too few training rows ({len(y)}, smallest class {counts.min()}) for a "
            f"{protocol.folds}-fold search and a {protocol.test_size:.0%} test split"
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=protocol.test_size, random_state=protocol.random_state
    )
    if len(np.unique(y_test)) < 2:
        raise TrainingDataError("the test split holds only one class; change --random-state")
    search = GridSearchCV(
        RidgeClassifier(),
        {"alpha": list(protocol.alphas)},
        cv=protocol.folds,
        scoring=protocol.scoring,
        n_jobs=protocol.n_jobs,
    )
    with warnings.catch_warnings():
        # The seed silences the same ill-conditioning warnings of the ridge solver.
        warnings.filterwarnings(
            "ignore", category=UserWarning, module="sklearn.linear_model._ridge"
        )
        warnings.filterwarnings("ignore", category=LinAlgWarning)
        search.fit(X_train, y_train)
    score_test = search.decision_function(X_test)
    calibrator = IsotonicRegression(out_of_bounds="clip")
    calibrator.fit(score_test, y_test)
    probability_test = calibrator.predict(score_test)
    return FitResult(
        model=CalibratedRidge(search.best_estimator_, calibrator),
        best_alpha=float(search.best_params_["alpha"]),
        cv_auc=float(search.best_score_),
        auc_uncalibrated=float(roc_auc_score(y_test, score_test)),
        auc_calibrated=float(roc_auc_score(y_test, probability_test)),
        y_test=y_test,
        score_test=score_test,
        probability_test=probability_test,
        n_train=len(y_train),
        n_test=len(y_test),
    )
