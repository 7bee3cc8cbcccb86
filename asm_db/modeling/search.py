"""The grid search of the models without a closed form (logistic, random forest, boosting).

A search is a set of jobs, one per (training rows, test rows) split: each job fits every
candidate of the model's grid on its training rows and scores its test rows, along the model's
path (`ModelSpec.path`): independent fits, warm starts along an ascending grid, or the staged
predictions of one boosting fit. The jobs of several searches (spatial CV's final search and
the inner search of every outer fold) run together in worker processes, one thread each, so
both cores stay busy on small data, where one model cannot use them.

The choice among candidates is GridSearchCV's (`best_candidate`): the highest mean ROC AUC
over the splits, ties to the first candidate, a split that cannot be scored ranking last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid

from asm_db.modeling import estimators

Split = tuple[np.ndarray, np.ndarray]


def candidates(spec: estimators.ModelSpec, alphas: tuple[float, ...]) -> list[dict]:
    """The grid's candidates, in the order its path fits them: a path (warm starts, stages)
    runs along one parameter, in ascending order."""
    grid = list(ParameterGrid(spec.grid(alphas)))
    if spec.path != "independent":
        (name,) = {k for params in grid for k in params}
        values = [params[name] for params in grid]
        if values != sorted(set(values)):
            raise ValueError(f"{spec.name}: a {spec.path} path needs ascending {name}s")
    return grid


def best_candidate(fold_scores: np.ndarray) -> tuple[int, np.ndarray]:
    """GridSearchCV's choice from splits x candidates scores: the best mean, ties to the first,
    a candidate with an unscored split ranking last. Returns (index, mean per candidate)."""
    with np.errstate(invalid="ignore"):
        means = fold_scores.mean(axis=0)
    if not np.isfinite(means).any():
        return 0, means
    ranked = np.nan_to_num(means, nan=np.nanmin(means) - 1)
    return int(np.argmax(ranked)), means


def fit_candidate(
    spec: estimators.ModelSpec, random_state: int, params: dict, X: np.ndarray, y: np.ndarray
) -> BaseEstimator:
    """One candidate fitted on all the rows given."""
    estimator = spec.make(random_state)
    if spec.path == "warm-start":
        estimator.set_params(**_warm_start(estimator, False))
    fitted = estimator.set_params(**params).fit(X, y)
    # Fitted on every core; scores one thread at a time, so a forest adds its trees in one
    # order and scores the same to the last bit every run (the map's readers run in parallel).
    return _one_thread(fitted)


def _warm_start(estimator: BaseEstimator, on: bool) -> dict:
    return {k: on for k in estimator.get_params() if k.split("__")[-1] == "warm_start"}


def _one_thread(estimator: BaseEstimator) -> BaseEstimator:
    """The estimator using one core: a worker process is one of several."""
    params = estimator.get_params()
    return estimator.set_params(
        **{k: 1 for k, v in params.items() if k.split("__")[-1] == "n_jobs" and v is not None}
    )


def path_scores(
    model: str,
    random_state: int,
    grid: list[dict],
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    one_thread: bool,
) -> np.ndarray:
    """Scores of rows `test` from every candidate fitted on rows `train`:
    candidates x len(test)."""
    spec = estimators.model_spec(model)
    estimator = spec.make(random_state)
    if one_thread:
        _one_thread(estimator)
    Xtrain, ytrain, Xtest = X[train], y[train], X[test]
    out = np.full((len(grid), len(test)), np.nan)
    if spec.path == "staged":  # one fit of the most rounds; each candidate is a stage of it
        (name,) = {k for params in grid for k in params}
        rounds = [params[name] for params in grid]
        estimator.set_params(**{name: max(rounds)}).fit(Xtrain, ytrain)
        wanted = {r: i for i, r in enumerate(rounds)}
        for stage, proba in enumerate(estimator.staged_predict_proba(Xtest), start=1):
            if stage in wanted:
                out[wanted[stage]] = proba[:, 1]
        if np.isnan(out).any():  # a stage never reached (boosting stopped early)
            raise RuntimeError(f"{model}: stopped before {max(rounds)} rounds")
        return out
    if spec.path == "warm-start":
        estimator.set_params(**_warm_start(estimator, True))
    for i, params in enumerate(grid):
        fitted = (estimator if spec.path == "warm-start" else clone(estimator)).set_params(**params)
        out[i] = estimators.scores(fitted.fit(Xtrain, ytrain), Xtest)
    return out


def run_jobs(
    spec: estimators.ModelSpec,
    random_state: int,
    grid: list[dict],
    X: np.ndarray,
    y: np.ndarray,
    jobs: list[Split],
    n_jobs: int,
    tick: Callable[[], None] = lambda: None,
) -> list[np.ndarray]:
    """`path_scores` of every job, in the jobs' order; `tick()` after each one ends. With more
    than one core the jobs run in worker processes (X is shared with them by memory map)."""
    workers = min(effective_n_jobs(n_jobs), len(jobs))
    out: list[np.ndarray | None] = [None] * len(jobs)
    if workers <= 1:
        for i, (train, test) in enumerate(jobs):
            out[i] = path_scores(spec.name, random_state, grid, X, y, train, test, False)
            tick()
        return out
    tasks = (
        delayed(_indexed)(i, spec.name, random_state, grid, X, y, train, test)
        for i, (train, test) in enumerate(jobs)
    )
    for i, scores in Parallel(n_jobs=workers, return_as="generator_unordered")(tasks):
        out[i] = scores
        tick()
    return out


def _indexed(i: int, *args) -> tuple[int, np.ndarray]:
    return i, path_scores(*args, True)


@dataclass
class PathSearch:
    """One search's outcome, read as GridSearchCV's: `best_params_`, `best_score_`."""

    grid: list[dict]
    fold_scores: np.ndarray  # splits x candidates, ROC AUC
    out_of_fold: np.ndarray  # candidates x rows: each row's score from the split that tested it
    best: int
    best_estimator_: BaseEstimator | None = None  # the best candidate refitted, once it is

    @property
    def best_params_(self) -> dict:
        return self.grid[self.best]

    @property
    def best_out_of_fold(self) -> np.ndarray:
        return self.out_of_fold[self.best]

    @property
    def best_score_(self) -> float:
        return float(self.fold_scores[:, self.best].mean())


def collect(grid: list[dict], y: np.ndarray, splits: list[Split], scores: list[np.ndarray]):
    """The search over `splits` (row positions within `y`) from its jobs' scores."""
    fold_scores = np.full((len(splits), len(grid)), np.nan)
    out_of_fold = np.full((len(grid), len(y)), np.nan)
    for f, ((_, test), score) in enumerate(zip(splits, scores, strict=True)):
        out_of_fold[:, test] = score
        if len(np.unique(y[test])) == 2:
            fold_scores[f] = [roc_auc_score(y[test], s) for s in score]
    best, _ = best_candidate(fold_scores)
    return PathSearch(grid, fold_scores, out_of_fold, best)
