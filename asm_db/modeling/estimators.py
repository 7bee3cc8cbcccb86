"""The classifiers `asmdb train --model` offers, each with a small grid, and how to read them.

Every model gives a score per row (higher = more likely a mine) that isotonic calibration turns
into a probability, and a "raw" probability before calibration for the calibration metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from asm_db.errors import AsmdbError
from asm_db.modeling.options import MODEL_NAMES


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    make: Callable[[int], BaseEstimator]  # random_state -> estimator
    grid: Callable[[tuple[float, ...]], dict]  # ridge alphas -> parameter grid
    uses_decision_function: bool


def _ridge(random_state: int) -> BaseEstimator:
    return RidgeClassifier()


def _logistic(random_state: int) -> BaseEstimator:
    # Features are on arbitrary scales: standardise so one C fits all of them.
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _forest(random_state: int) -> BaseEstimator:
    return RandomForestClassifier(
        n_estimators=200, max_features="sqrt", n_jobs=-1, random_state=random_state
    )


def _boosting(random_state: int) -> BaseEstimator:
    return HistGradientBoostingClassifier(
        max_iter=150, early_stopping=False, random_state=random_state
    )


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "ridge",
            "RidgeClassifier (the seed's model), alpha searched",
            _ridge,
            lambda alphas: {"alpha": list(alphas)},
            True,
        ),
        ModelSpec(
            "logistic",
            "standardised features + LogisticRegression, C searched",
            _logistic,
            lambda alphas: {"logisticregression__C": [0.001, 0.01, 0.1, 1.0]},
            True,
        ),
        ModelSpec(
            "random-forest",
            "RandomForestClassifier, 200 trees, min_samples_leaf searched",
            _forest,
            lambda alphas: {"min_samples_leaf": [1, 5]},
            False,
        ),
        ModelSpec(
            "gradient-boosting",
            "HistGradientBoostingClassifier, 150 rounds, learning_rate searched",
            _boosting,
            lambda alphas: {"learning_rate": [0.05, 0.1]},
            False,
        ),
    )
}


assert tuple(MODELS) == MODEL_NAMES  # the command line offers exactly these


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise AsmdbError(f"unknown model '{name}'; choose one of {', '.join(MODELS)}") from None


def _final(estimator: BaseEstimator) -> BaseEstimator:
    return estimator[-1] if hasattr(estimator, "steps") else estimator


def scores(estimator: BaseEstimator, X: np.ndarray) -> np.ndarray:
    """The model's score per row: decision function for linear models, P(mine) for trees."""
    if isinstance(_final(estimator), RandomForestClassifier | HistGradientBoostingClassifier):
        return estimator.predict_proba(X)[:, 1]
    return estimator.decision_function(X)


def raw_probability(estimator: BaseEstimator, score: np.ndarray) -> np.ndarray:
    """The probability a model claims before calibration.

    Ridge regresses labels coded -1/+1, so (score + 1) / 2, clipped, is its own reading of a
    probability; logistic regression's is the sigmoid of its decision function; trees' scores
    are already probabilities.
    """
    final = _final(estimator)
    if isinstance(final, RidgeClassifier):
        return np.clip((score + 1) / 2, 0, 1)
    if isinstance(final, LogisticRegression):
        return 1 / (1 + np.exp(-score))
    return np.asarray(score, dtype=float)


def feature_importance(
    estimator: BaseEstimator, X: np.ndarray, y: np.ndarray, random_state: int
) -> tuple[np.ndarray, str]:
    """Importance per feature and how it was measured (signed for linear models)."""
    final = _final(estimator)
    if isinstance(final, RidgeClassifier):
        # Coefficient times the feature's spread: the score change for one standard deviation.
        return final.coef_.ravel() * X.std(axis=0), "standardised ridge coefficient"
    if isinstance(final, LogisticRegression):
        return final.coef_.ravel(), "logistic coefficient on standardised features"
    if isinstance(final, RandomForestClassifier):
        return final.feature_importances_, "mean decrease in impurity"
    from sklearn.inspection import permutation_importance

    result = permutation_importance(
        estimator, X, y, scoring="roc_auc", n_repeats=2, random_state=random_state, n_jobs=-1
    )
    return result.importances_mean, "permutation importance (ROC AUC drop)"
