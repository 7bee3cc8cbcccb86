"""Fitting and evaluating a calibrated classifier under one of two protocols.

- `seed`: the notebook's protocol exactly: an 80/20 random split, the grid searched by k-fold
  CV on the 80%, isotonic calibration fitted on the 20% test scores and the AUC reported on
  those same rows (so "after calibration" is optimistic). Kept to compare with the notebook.
  Its calibration is isotonic unless another is asked for; the held-out Brier scores that
  `auto` compares come from k folds of the test rows, each calibrated on the others.
- `spatial` (default): spatially blocked cross-validation. Labels are grouped into square
  blocks (by default the largest of 1, 0.5, 0.25, 0.1, 0.05, 0.025 or 0.01 degrees that leaves
  at least three blocks per fold); each outer fold holds out whole blocks, so no test label has
  a training neighbour in its block. Within the training blocks the grid is searched by inner
  blocked CV, and the isotonic calibration is fitted on out-of-fold scores of the training
  blocks: the held-out fold is never seen by the search or the calibration. A label joined to
  several tiles keeps all its rows in its one block. Both calibrations (isotonic and sigmoid)
  are fitted in every fold, so each has out-of-fold probabilities for every row; their Brier
  scores are what `--calibration auto` (the default) compares.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.linalg import LinAlgWarning
from sklearn.base import clone
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold, train_test_split

from asm_db.errors import AsmdbError, TrainingDataError
from asm_db.modeling import calibration, estimators, metrics, search
from asm_db.modeling.calibration import CalibrationChoice
from asm_db.modeling.options import (
    BLOCK_SIZES,
    BLOCKS_PER_FOLD,
    CALIBRATION_CHOICES,
    CALIBRATIONS,
    PROTOCOLS,
    Protocol,
)
from asm_db.modeling.ridge import RidgeSearch, kernel_ridge_search, ridge_search
from asm_db.modeling.search import PathSearch


@dataclass
class CalibratedClassifier:
    """A fitted classifier and its calibration (isotonic or sigmoid), applied together."""

    classifier: object
    calibrator: object  # IsotonicRegression or scikit-learn's _SigmoidCalibration
    feature_names: list[str] = field(default_factory=list)

    def score(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated score (decision function, or the trees' own probability)."""
        return estimators.scores(self.classifier, X)

    def probability(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probability of a mine, from scores."""
        return self.calibrator.predict(scores)


# Runs stored before other models existed were pickled under this name.
CalibratedRidge = CalibratedClassifier


@dataclass
class FitResult:
    """The final model and the evaluation behind its numbers.

    The evaluated rows are the test split (seed) or every row, out of fold (spatial);
    `calibration_label_ids[k]` are the labels whose scores fitted fold k's calibration;
    `calibration` says which calibration the model uses and why.
    """

    model: CalibratedClassifier
    protocol: str
    best_params: dict
    cv_score: float
    label_id: np.ndarray
    tile_id: np.ndarray
    fold: np.ndarray
    y: np.ndarray
    score: np.ndarray
    raw_probability: np.ndarray
    probability: np.ndarray
    groups: np.ndarray
    calibration_label_ids: dict[int, np.ndarray]
    metrics: dict
    n_train: int
    n_test: int
    calibration: CalibrationChoice | None = None

    @property
    def best_alpha(self) -> float | None:
        alpha = self.best_params.get("alpha")
        return float(alpha) if alpha is not None else None

    @property
    def auc_uncalibrated(self) -> float:
        return self.metrics["roc_auc_uncalibrated"]["value"]

    @property
    def auc_calibrated(self) -> float:
        return self.metrics["roc_auc_calibrated"]["value"]


@contextmanager
def _quiet():
    with warnings.catch_warnings():
        # The seed silences the same ill-conditioning warnings of the ridge solver.
        warnings.filterwarnings(
            "ignore", category=UserWarning, module="sklearn.linear_model._ridge"
        )
        warnings.filterwarnings("ignore", category=LinAlgWarning)
        warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
        yield


def _check_rows(y: np.ndarray, protocol: Protocol) -> None:
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


def _paths(spec, protocol: Protocol) -> bool:
    """Whether the grid is searched by `asm_db.modeling.search` (every model but ridge, whose
    searches have a closed form)."""
    return spec.name != "ridge" and protocol.scoring == "roc_auc"


def _search(
    spec, protocol: Protocol, X, y, splits, overwrite_X: bool = False
) -> GridSearchCV | RidgeSearch | PathSearch:
    """The grid search over `splits`, fitted, its best candidate refitted on all rows. Ridge
    scored by ROC AUC (the seed's search) shares one Gram matrix across folds and alphas when
    every fold trains on at least as many rows as there are features: there scikit-learn's
    Cholesky solves the same (primal) system. With fewer rows it solves the dual (kernel)
    system, whose float32 answers differ at small alphas enough to change the chosen alpha, so
    the seed protocol leaves that search to GridSearchCV; spatial CV solves it exactly, in
    float64 (`kernel_ridge_search`). The other models' grids are searched along their paths.
    `overwrite_X`: X is the caller's to spend (the ridge refit centres it in place)."""
    primal = all(len(train) >= X.shape[1] for train, _ in splits)
    if spec.name == "ridge" and protocol.scoring == "roc_auc" and primal:
        return ridge_search(X, y, splits, protocol.alphas, overwrite_X)
    if spec.name == "ridge" and protocol.scoring == "roc_auc" and protocol.cv == "spatial":
        return kernel_ridge_search(X, y, splits, protocol.alphas)
    if _paths(spec, protocol):
        grid = search.candidates(spec, protocol.alphas)
        scores = search.run_jobs(spec, protocol.random_state, grid, X, y, splits, protocol.n_jobs)
        found = search.collect(grid, y, splits, scores)
        found.best_estimator_ = search.fit_candidate(
            spec, protocol.random_state, found.best_params_, X, y
        )
        return found
    return GridSearchCV(
        spec.make(protocol.random_state),
        spec.grid(protocol.alphas),
        cv=splits,
        scoring=protocol.scoring,
        n_jobs=protocol.n_jobs,
    ).fit(X, y)


def fit(
    X: np.ndarray,
    y: np.ndarray,
    protocol: Protocol = Protocol(),
    *,
    label_id: np.ndarray | None = None,
    tile_id: np.ndarray | None = None,
    lonlat: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FitResult:
    """Fit and evaluate under `protocol.cv`; `lonlat` (label position per row) for spatial.
    `progress(done, total)` is told the steps done: each outer fold and the final fit
    (spatial), or the search and the calibration (seed)."""
    tell = progress or (lambda done, total: None)
    if protocol.cv not in PROTOCOLS:
        raise AsmdbError(f"unknown protocol '{protocol.cv}'; choose one of {', '.join(PROTOCOLS)}")
    if protocol.calibration_requested not in CALIBRATION_CHOICES:
        raise AsmdbError(
            f"unknown calibration '{protocol.calibration}'; choose one of "
            f"{', '.join(CALIBRATION_CHOICES)}"
        )
    _check_rows(y, protocol)
    n = len(y)
    label_id = np.arange(n) if label_id is None else label_id
    tile_id = np.zeros(n, np.int64) if tile_id is None else tile_id
    with _quiet():
        if protocol.cv == "seed":
            tell(0, 1)
            result = _fit_seed(X, y, protocol, label_id, tile_id)
            tell(1, 1)
        elif lonlat is None:
            raise ValueError("the spatial protocol needs each row's label position (lonlat)")
        else:
            result = _fit_spatial(X, y, protocol, label_id, tile_id, lonlat, tell)
    if not np.isfinite(result.cv_score):
        # A search fold scored on one class has no ROC AUC: the search chose blindly.
        raise TrainingDataError(
            f"a fold of the {protocol.folds}-fold search holds one class only (smallest class: "
            f"{np.unique(y, return_counts=True)[1].min()} of {len(y)} rows); relax the label "
            "filters or use fewer --folds"
        )
    return result


def _fit_seed(X, y, protocol: Protocol, label_id, tile_id) -> FitResult:
    spec = estimators.model_spec(protocol.model)
    rows = np.arange(len(y))
    train, test = train_test_split(
        rows, test_size=protocol.test_size, random_state=protocol.random_state
    )
    if len(np.unique(y[test])) < 2:
        raise TrainingDataError("the test split holds only one class; change --seed")
    smallest = np.unique(y[train], return_counts=True)[1].min()
    if smallest < protocol.folds:  # a stratified fold would be scored on one class
        raise TrainingDataError(
            f"too few training rows of the smaller class ({smallest} after the "
            f"{protocol.test_size:.0%} test split) for a {protocol.folds}-fold search; relax "
            "the label filters or use fewer --folds"
        )
    # GridSearchCV's cv=5 for a classifier: stratified folds in row order, not shuffled.
    splits = list(StratifiedKFold(n_splits=protocol.folds).split(X[train], y[train]))
    found = _search(spec, protocol, X[train], y[train], splits, overwrite_X=True)  # a copy
    score = estimators.scores(found.best_estimator_, X[test])
    calibrators = calibration.fit_all(score, y[test])
    choice = calibration.choose(
        protocol.calibration_requested,
        calibration.cross_validated_brier(score, y[test], protocol.folds, protocol.random_state),
        f"{protocol.folds}-fold cross-validation of the calibration on the test rows",
        "the seed protocol's default, the notebook's" if protocol.calibration is None else "",
    )
    calibrator = calibrators[choice.method]
    probability = calibrator.predict(score)
    raw = estimators.raw_probability(found.best_estimator_, score)
    return FitResult(
        model=CalibratedClassifier(found.best_estimator_, calibrator),
        protocol="seed",
        best_params=dict(found.best_params_),
        cv_score=float(found.best_score_),
        label_id=label_id[test],
        tile_id=tile_id[test],
        fold=np.zeros(len(test), np.int16),
        y=y[test],
        score=score,
        raw_probability=raw,
        probability=probability,
        groups=test,  # rows are independent under a random split
        calibration_label_ids={0: label_id[test]},  # the seed calibrates on its scored rows
        metrics=metrics.evaluate(
            y[test],
            score,
            raw,
            probability,
            test,
            n_bootstrap=protocol.bootstrap,
            random_state=protocol.random_state,
        ),
        n_train=len(train),
        n_test=len(test),
        calibration=choice,
    )


def spatial_blocks(lonlat: np.ndarray, block_size: float) -> np.ndarray:
    """The block of each row: its label's position on a grid of `block_size` degrees."""
    if block_size <= 0:
        raise AsmdbError("--block-size must be positive")
    cell = np.floor(lonlat / block_size).astype(np.int64)
    return cell[:, 0] * 1_000_000 + cell[:, 1]


def count_blocks(lonlat: np.ndarray, block_size: float) -> int:
    return int(len(np.unique(spatial_blocks(lonlat, block_size))))


def _blocks_needed(folds: int) -> int:
    """Blocks without which blocked CV cannot run: inner folds split the outer training blocks
    again, so both need `folds` blocks at least."""
    return folds * folds // (folds - 1) + 1


def choose_block_size(lonlat: np.ndarray, folds: int) -> float:
    """The largest of `BLOCK_SIZES` that leaves at least `BLOCKS_PER_FOLD` blocks per fold;
    failing that, the largest that blocked CV can run on at all."""
    counts = {size: count_blocks(lonlat, size) for size in BLOCK_SIZES}
    for wanted in (BLOCKS_PER_FOLD * folds, _blocks_needed(folds)):
        for size in BLOCK_SIZES:
            if counts[size] >= wanted:
                return size
    smallest = BLOCK_SIZES[-1]
    raise TrainingDataError(
        f"the labels fall in {counts[smallest]} spatial block(s) even at {smallest:g} degrees; "
        f"blocked {folds}-fold CV needs at least {_blocks_needed(folds)}: use fewer --folds "
        "or --cv seed"
    )


def resolve_block_size(protocol: Protocol, lonlat: np.ndarray) -> Protocol:
    """`protocol` with `block_size="auto"` replaced by the size chosen for these positions."""
    if protocol.block_size != "auto":
        return protocol
    return replace(protocol, block_size=choose_block_size(lonlat, protocol.folds))


def _suggest_block_size(lonlat: np.ndarray, folds: int) -> float:
    span = float(np.max(lonlat.max(axis=0) - lonlat.min(axis=0)))
    return float(f"{span / (2 * folds):.1g}") if span > 0 else 0.01


def _out_of_fold_scores(estimator, X, y, splits) -> np.ndarray:
    """Scores of every row from a model that did not see it (inner folds)."""
    out = np.empty(len(y))
    for train, test in splits:
        model = clone(estimator).fit(X[train], y[train])
        out[test] = estimators.scores(model, X[test])
    return out


def _inner_splits(k: int, X, y, groups, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    try:
        return list(GroupKFold(n_splits=folds).split(X, y, groups))
    except ValueError as exc:  # too few blocks left for the inner folds
        if "groups" not in str(exc):
            raise
        raise TrainingDataError(
            f"fold {k}: {exc}; use a smaller --block-size or fewer --folds"
        ) from None


def _fit_calibrated(spec, protocol: Protocol, X, y, splits):
    """Search the grid over `splits`, calibrate (both ways) on out-of-fold scores, refit on
    all rows."""
    found = _search(spec, protocol, X, y, splits)
    if isinstance(found, RidgeSearch | PathSearch):  # its folds' models already scored every row
        oof = found.out_of_fold if isinstance(found, RidgeSearch) else found.best_out_of_fold
    else:
        oof = _out_of_fold_scores(found.best_estimator_, X, y, splits)
    return found, calibration.fit_all(oof, y)


@dataclass
class _CrossValidated:
    """Spatial CV's outcome before it is read: each outer fold's test scores and calibrators
    (fitted on its training rows only), and the final model's search and calibrators."""

    scores: list[np.ndarray]
    calibrators: list[dict]
    final: object
    final_calibrators: dict


def _fold_by_fold(spec, protocol, X, y, groups, outer, tell) -> _CrossValidated:
    """One outer fold after the other, each searching its training blocks (ridge: each search
    takes a second or two in one process)."""
    steps = len(outer) + 1  # the outer folds, then the final model on all rows
    tell(0, steps)
    scores, fold_calibrators = [], []
    for k, (train, test) in enumerate(outer):
        inner = _inner_splits(k, X[train], y[train], groups[train], protocol.folds)
        found, calibrators = _fit_calibrated(spec, protocol, X[train], y[train], inner)
        scores.append(estimators.scores(found.best_estimator_, X[test]))
        fold_calibrators.append(calibrators)
        tell(k + 1, steps)
    final, final_calibrators = _fit_calibrated(spec, protocol, X, y, outer)
    tell(steps, steps)
    return _CrossValidated(scores, fold_calibrators, final, final_calibrators)


def _all_at_once(spec, protocol, X, y, groups, outer, tell) -> _CrossValidated:
    """Every search's jobs together: the final search's (its splits are the outer folds) and
    each outer fold's inner search. The final search's job k already fitted every candidate on
    fold k's training rows and scored its test rows, so fold k's scores are that job's, for the
    candidate fold k's inner search chose: no model is refitted but the final one. The scores
    are those of fitting fold after fold (`_fold_by_fold`) exactly for the forest and boosting;
    logistic regression's, warm-started along C, equal them to the solver's tolerance."""
    grid = search.candidates(spec, protocol.alphas)
    inner = [
        _inner_splits(k, X[train], y[train], groups[train], protocol.folds)
        for k, (train, _) in enumerate(outer)
    ]
    jobs = list(outer) + [
        (train[a], train[b])
        for (train, _), splits in zip(outer, inner, strict=True)
        for a, b in splits
    ]
    done = [0]
    steps = len(jobs) + 1

    def tick() -> None:
        done[0] += 1
        tell(done[0], steps)

    tell(0, steps)
    scores = search.run_jobs(spec, protocol.random_state, grid, X, y, jobs, protocol.n_jobs, tick)
    final = search.collect(grid, y, outer, scores[: len(outer)])
    fold_scores, fold_calibrators = [], []
    start = len(outer)
    for k, ((train, _), splits) in enumerate(zip(outer, inner, strict=True)):
        found = search.collect(grid, y[train], splits, scores[start : start + len(splits)])
        start += len(splits)
        fold_scores.append(scores[k][found.best])
        fold_calibrators.append(calibration.fit_all(found.best_out_of_fold, y[train]))
    final.best_estimator_ = search.fit_candidate(
        spec, protocol.random_state, final.best_params_, X, y
    )
    tell(steps, steps)
    return _CrossValidated(
        fold_scores, fold_calibrators, final, calibration.fit_all(final.best_out_of_fold, y)
    )


def _fit_spatial(X, y, protocol: Protocol, label_id, tile_id, lonlat, tell) -> FitResult:
    spec = estimators.model_spec(protocol.model)
    protocol = resolve_block_size(protocol, lonlat)
    groups = spatial_blocks(lonlat, protocol.block_size)
    n_blocks = len(np.unique(groups))
    needed = _blocks_needed(protocol.folds)
    if n_blocks < needed:
        raise TrainingDataError(
            f"the labels fall in {n_blocks} spatial block(s) of {protocol.block_size:g} degrees; "
            f"blocked {protocol.folds}-fold CV needs at least {needed}: use a smaller "
            f"--block-size (e.g. {_suggest_block_size(lonlat, protocol.folds):g}) or --cv seed"
        )
    outer = list(GroupKFold(n_splits=protocol.folds).split(X, y, groups))
    for k, (train, _) in enumerate(outer):
        if len(np.unique(y[train])) < 2:
            raise TrainingDataError(f"fold {k}'s training blocks hold one class; use --cv seed")
    run = _all_at_once if _paths(spec, protocol) else _fold_by_fold
    cv = run(spec, protocol, X, y, groups, outer, tell)
    n = len(y)
    fold = np.full(n, -1, np.int16)
    score = np.empty(n)
    raw = np.empty(n)
    calibrated = {method: np.empty(n) for method in CALIBRATIONS}
    calibration_label_ids = {}
    for k, (train, test) in enumerate(outer):
        fold[test] = k
        score[test] = cv.scores[k]
        raw[test] = estimators.raw_probability(cv.final.best_estimator_, score[test])
        for method, calibrator in cv.calibrators[k].items():
            calibrated[method][test] = calibrator.predict(score[test])
        calibration_label_ids[k] = np.unique(label_id[train])

    choice = calibration.choose(
        protocol.calibration_requested,
        {method: calibration.brier(y, p) for method, p in calibrated.items()},
        "the outer folds: each fold's rows calibrated on the other folds' scores",
    )
    probability = calibrated[choice.method]
    found, calibrators = cv.final, cv.final_calibrators
    return FitResult(
        model=CalibratedClassifier(found.best_estimator_, calibrators[choice.method]),
        protocol="spatial",
        best_params=dict(found.best_params_),
        cv_score=float(found.best_score_),
        label_id=label_id,
        tile_id=tile_id,
        fold=fold,
        y=y,
        score=score,
        raw_probability=raw,
        probability=probability,
        groups=groups,
        calibration_label_ids=calibration_label_ids,
        metrics=metrics.evaluate(
            y,
            score,
            raw,
            probability,
            groups,
            n_bootstrap=protocol.bootstrap,
            random_state=protocol.random_state,
        ),
        n_train=n,
        n_test=n,
        calibration=choice,
    )
