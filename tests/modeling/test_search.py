"""The grid searches of the models without a closed form (asm_db.modeling.search): the same
choices and scores as scikit-learn's GridSearchCV and the models fitted one by one, and spatial
CV's shared jobs giving what fitting fold after fold gives."""

from __future__ import annotations

import os
import subprocess
import time

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold

from asm_db.modeling import estimators, protocols, search
from asm_db.modeling.options import Protocol

from conftest import ASMDB, alive, assert_terminated, descendants, snapshot


def _data(n=160, p=12, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    y = (X[:, 0] + 0.8 * X[:, 1] + rng.normal(scale=1.2, size=n) > 0.6).astype(np.int64)
    lonlat = np.column_stack([rng.uniform(-13, -11, n), rng.uniform(7, 9, n)])
    return X, y, lonlat


@pytest.mark.parametrize(
    "model", [pytest.param("random-forest", marks=pytest.mark.slow), "logistic"]
)
@pytest.mark.slow
def test_path_search_scores_and_chooses_as_grid_search_cv(model):
    X, y, lonlat = _data()
    spec = estimators.model_spec(model)
    groups = protocols.spatial_blocks(lonlat, 0.5)
    splits = list(GroupKFold(n_splits=4).split(X, y, groups))
    grid = search.candidates(spec, (1.0,))
    scores = search.run_jobs(spec, 7, grid, X, y, splits, n_jobs=2)
    found = search.collect(grid, y, splits, scores)
    reference = GridSearchCV(
        spec.make(7), spec.grid((1.0,)), cv=splits, scoring="roc_auc", n_jobs=1
    ).fit(X, y)
    expected = np.column_stack(
        [reference.cv_results_[f"split{f}_test_score"] for f in range(len(splits))]
    ).T
    # Logistic regression warm-starts along C: the same optimum, to the solver's tolerance.
    np.testing.assert_allclose(found.fold_scores, expected, atol=2e-3 if model == "logistic" else 0)
    assert found.best_params_ == reference.best_params_
    assert found.best_score_ == pytest.approx(reference.best_score_, abs=2e-3)


@pytest.mark.slow
def test_staged_boosting_scores_each_round_count_as_its_own_fit():
    X, y, _ = _data()
    spec = estimators.model_spec("gradient-boosting")
    grid = search.candidates(spec, ())
    rounds = [c["max_iter"] for c in grid]
    assert rounds == sorted(rounds) and len(rounds) > 1
    train, test = np.arange(120), np.arange(120, 160)
    (scores,) = search.run_jobs(spec, 5, grid, X, y, [(train, test)], n_jobs=1)
    for params, staged in zip(grid, scores, strict=True):
        alone = spec.make(5).set_params(**params).fit(X[train], y[train])
        assert isinstance(alone, HistGradientBoostingClassifier)
        np.testing.assert_allclose(staged, alone.predict_proba(X[test])[:, 1], rtol=1e-12)


@pytest.mark.parametrize("model", ["gradient-boosting", "random-forest"])
@pytest.mark.slow
def test_shared_jobs_give_what_fold_after_fold_gives(model):
    """Spatial CV runs every search's jobs together and scores fold k's test rows with the final
    search's fit on fold k's training rows, for the candidate fold k's inner search chose: the
    same scores, calibrations and final choice as searching, refitting and scoring each fold in
    turn. On these data boosting's inner searches choose a different number of rounds in each
    fold, so each fold must read its own candidate's row."""
    X, y, lonlat = _data(n=200, seed=0)
    protocol = Protocol(model=model, block_size=0.25, folds=3, bootstrap=0)
    spec = estimators.model_spec(protocol.model)
    groups = protocols.spatial_blocks(lonlat, protocol.block_size)
    outer = list(GroupKFold(n_splits=protocol.folds).split(X, y, groups))
    grid = search.candidates(spec, protocol.alphas)
    chosen = set()
    for k, (train, _) in enumerate(outer):
        inner = protocols._inner_splits(k, X[train], y[train], groups[train], protocol.folds)
        jobs = [(train[a], train[b]) for a, b in inner]
        scores = search.run_jobs(spec, protocol.random_state, grid, X, y, jobs, n_jobs=1)
        chosen.add(search.collect(grid, y[train], inner, scores).best)
    assert len(chosen) == min(len(grid), protocol.folds)
    ticks = []
    shared = protocols._all_at_once(
        spec, protocol, X, y, groups, outer, lambda done, total: ticks.append((done, total))
    )
    one_by_one = protocols._fold_by_fold(spec, protocol, X, y, groups, outer, lambda *_: None)
    jobs = protocol.folds + protocol.folds * protocol.folds  # the final search's, each fold's
    assert ticks == [(i, jobs + 1) for i in range(jobs + 2)]
    for a, b in zip(shared.scores, one_by_one.scores, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    probe = np.linspace(0, 1, 11)
    for a, b in zip(shared.calibrators, one_by_one.calibrators, strict=True):
        for method in a:
            np.testing.assert_allclose(a[method].predict(probe), b[method].predict(probe))
    assert shared.final.best_params_ == one_by_one.final.best_params_
    np.testing.assert_allclose(
        shared.final.best_estimator_.predict_proba(X),
        one_by_one.final.best_estimator_.predict_proba(X),
    )


def test_boosting_importance_is_each_features_share_of_the_split_gain():
    X, y, _ = _data()
    model = estimators.model_spec("gradient-boosting").make(1).set_params(max_iter=20).fit(X, y)
    importance, method = estimators.feature_importance(model, X)
    assert method == "share of the trees' split gain"
    assert importance.shape == (X.shape[1],) and importance.sum() == pytest.approx(1)
    assert set(np.argsort(importance)[-2:]) == {0, 1}  # the two features the labels depend on


@pytest.mark.slow
def test_sigterm_stops_training_and_its_worker_processes(loaded, db_url, pg):
    """A service manager's SIGTERM while the folds' jobs run in worker processes: the command
    says so, exits 143, leaves no worker behind and records nothing."""
    env = {**os.environ, "ASMDB_DATABASE_URL": db_url}
    before = snapshot(pg)
    proc = subprocess.Popen(
        [str(ASMDB), "train", "--model", "random-forest", "--block-size", "0.05"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        workers = descendants(proc.pid)
    assert len(workers) >= 2, "the folds' worker processes should be running"
    assert_terminated(proc, workers)
    assert snapshot(pg) == before


@pytest.mark.slow
def test_a_run_with_worker_processes_exits_once_done_and_leaves_no_worker(loaded, db_url):
    """The installed command ends when its work is done: its worker pool shuts down as usual
    (left to the exit handlers, idle workers would hold the exit for their five-minute idle
    timeout), and no worker outlives it."""
    env = {**os.environ, "ASMDB_DATABASE_URL": db_url}
    argv = [str(ASMDB), "train", "--model", "random-forest", "--block-size", "0.05", "--no-map"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: set[int] = set()
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        workers |= descendants(proc.pid)
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    _, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    assert len(workers) >= 2, "the folds' worker processes should have run"
    grace = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < grace:
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)], "worker processes left behind"


def test_a_path_runs_along_an_ascending_grid():
    import dataclasses

    spec = estimators.model_spec("logistic")
    descending = dataclasses.replace(spec, grid=lambda alphas: {"logisticregression__C": [1, 0.1]})
    with pytest.raises(ValueError, match="ascending"):
        search.candidates(descending, ())
    for model in ("logistic", "gradient-boosting"):  # the grids asmdb ships are ascending
        assert search.candidates(estimators.model_spec(model), ())


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


@pytest.mark.slow
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
