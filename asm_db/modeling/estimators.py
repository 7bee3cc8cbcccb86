"""The classifiers `asmdb train --model` offers, each with a small grid, and how to read them.

Every model gives a score per row (higher = more likely a mine) that calibration turns into a
probability, and a "raw" probability before calibration for the calibration metrics.

Each grid is searched along a path (`asm_db.modeling.search`): on one split, the candidates
are fitted one after the other, the next starting where the last one stopped when the model
allows it: logistic regression warm-starts from the previous (smaller) C, and boosting scores
every searched number of rounds from one fit, as its staged predictions.
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
    path: str = "independent"  # "independent", "warm-start" (ascending grid) or "staged"


def _ridge(random_state: int) -> BaseEstimator:
    return RidgeClassifier()


def _logistic(random_state: int) -> BaseEstimator:
    # Features are on arbitrary scales: standardise so one C fits all of them.
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _forest(random_state: int) -> BaseEstimator:
    # Leaves of at least 5 rows, not searched: forests need little tuning. On the sample data
    # a search of 1 or 5 chose 5 and moved the out-of-fold ROC AUC by 0.002 (0.620 vs 0.622)
    # for twice the time (bench/small.py).
    return RandomForestClassifier(
        n_estimators=200,
        max_features="sqrt",
        min_samples_leaf=5,
        n_jobs=-1,
        random_state=random_state,
    )


# Boosting rounds searched (learning rate 0.1): each split's fit runs the largest number and
# its staged predictions score the others.
BOOSTING_ROUNDS = (25, 50, 100)


def _boosting(random_state: int) -> BaseEstimator:
    # Trees of depth 3 (the classic gradient boosting default) and 64 bins per feature: with
    # thousands of features and hundreds of rows, deeper trees and 255 bins cost several times
    # the time and overfit.
    return HistGradientBoostingClassifier(
        max_iter=max(BOOSTING_ROUNDS),
        max_depth=3,
        max_bins=64,
        learning_rate=0.1,
        early_stopping=False,
        random_state=random_state,
    )


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "ridge",
            "RidgeClassifier (the seed's model), alpha searched",
            _ridge,
            lambda alphas: {"alpha": list(alphas)},
        ),
        ModelSpec(
            "logistic",
            "standardised features + LogisticRegression, C searched",
            _logistic,
            lambda alphas: {"logisticregression__C": [0.001, 0.01, 0.1, 1.0]},
            "warm-start",
        ),
        ModelSpec(
            "random-forest",
            "RandomForestClassifier, 200 trees, leaves of 5 rows or more",
            _forest,
            lambda alphas: {"min_samples_leaf": [5]},
        ),
        ModelSpec(
            "gradient-boosting",
            "HistGradientBoostingClassifier, depth 3, 25, 50 or 100 rounds searched",
            _boosting,
            lambda alphas: {"max_iter": list(BOOSTING_ROUNDS)},
            "staged",
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


def feature_importance(estimator: BaseEstimator, X: np.ndarray) -> tuple[np.ndarray, str]:
    """Importance per feature and how it was measured (signed for linear models)."""
    final = _final(estimator)
    if isinstance(final, RidgeClassifier):
        # Coefficient times the feature's spread: the score change for one standard deviation.
        return final.coef_.ravel() * X.std(axis=0), "standardised ridge coefficient"
    if isinstance(final, LogisticRegression):
        return final.coef_.ravel(), "logistic coefficient on standardised features"
    if isinstance(final, RandomForestClassifier):
        return final.feature_importances_, "mean decrease in impurity"
    # Boosting: each feature's split gains summed over every tree, as a share of all gains
    # (what LightGBM and XGBoost call "gain" importance). Permuting 4,000 features one by one
    # would cost thousands of predictions for the same ranking.
    gains = np.zeros(X.shape[1])
    for (predictor,) in final._predictors:
        split = predictor.nodes[~predictor.nodes["is_leaf"].astype(bool)]
        np.add.at(gains, split["feature_idx"].astype(np.intp), split["gain"])
    total = gains.sum()
    return (gains / total if total > 0 else gains), "share of the trees' split gain"
