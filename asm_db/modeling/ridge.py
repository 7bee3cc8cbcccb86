"""The ridge grid search, with one Gram matrix shared by every fold and alpha.

`GridSearchCV(RidgeClassifier(), {"alpha": alphas}, cv=splits, scoring="roc_auc")` fits
folds x alphas models, and each fit forms its own X'X from scratch: with 8,000 rows x 4,000
features that is 20 products of 6,400 x 4,000 matrices. Here all rows form their Gram once,
each fold's training Gram is that minus its test rows' (each split's training rows are the
others), and each alpha costs one Cholesky factorisation of the centred Gram plus alpha on its
diagonal. The model,
centring, labels coded -1/+1 and the choice of the best alpha (ties to the first, a fold
that cannot be scored ranking last) are GridSearchCV's; the chosen alpha is then refitted
by scikit-learn's own RidgeClassifier, so the final model is exactly the one it would fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas, cho_factor, cho_solve, lapack
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import roc_auc_score

from asm_db.modeling.search import best_candidate


@dataclass
class RidgeSearch:
    """What the training code reads from a GridSearchCV, for the ridge grid."""

    best_estimator_: RidgeClassifier
    best_params_: dict
    best_score_: float
    mean_scores: np.ndarray  # per alpha
    fold_scores: np.ndarray  # folds x alphas
    out_of_fold: np.ndarray  # each row's decision value from the fold that held it out, best alpha


def _blas(names: tuple[str, ...], dtype) -> tuple:
    """scipy's BLAS routines for `dtype`. Every product of the search goes through this one
    library: numpy ships its own OpenBLAS, and each library's threads spin for a while after
    a call, so alternating the two halves the next call's cores (about 50 ms a switch)."""
    return blas.get_blas_funcs(names, dtype=np.dtype(dtype))


def _gram(Xc: np.ndarray, out: np.ndarray, scale: float = 1.0, keep: bool = True) -> np.ndarray:
    """scale Xc'Xc, added to `out` (or replacing it, `keep` false), in `out`'s upper triangle:
    a Fortran-ordered matrix in Xc's precision, updated in place, whose lower triangle is not
    referenced."""
    (syrk,) = _blas(("syrk",), Xc.dtype)
    return syrk(scale, Xc.T, beta=1.0 if keep else 0.0, c=out, trans=0, lower=0, overwrite_c=1)


def _product(M: np.ndarray, v: np.ndarray, transpose: bool = False) -> np.ndarray:
    """M @ v (M' @ v with `transpose`) for a C-ordered M, in M's precision, without a copy
    of M."""
    (gemv,) = _blas(("gemv",), M.dtype)
    return gemv(1.0, M.T, np.asarray(v, dtype=M.dtype), trans=0 if transpose else 1)


def _solve(
    A: np.ndarray, b: np.ndarray, alpha: float, dtype: np.dtype, work: np.ndarray
) -> np.ndarray:
    """w with (A + alpha I) w = b by Cholesky on A's upper triangle, in the data's precision
    (as scikit-learn's cholesky solver); float64 when that precision is not enough. `work`,
    a Fortran-ordered array of A's shape and the data's precision, is overwritten: one buffer
    for every fold and alpha, not a fresh matrix for each."""
    for precision in dict.fromkeys((np.dtype(dtype), np.dtype(np.float64))):
        potrf, potrs = lapack.get_lapack_funcs(("potrf", "potrs"), dtype=precision)
        if precision == work.dtype:
            M = work
            np.copyto(M, A)
        else:
            M = np.array(A, dtype=precision, order="F")
        M.flat[:: M.shape[0] + 1] += alpha
        factor, info = potrf(M, lower=0, overwrite_a=1, clean=0)
        if info == 0:
            w, info = potrs(factor, b.astype(precision), lower=0)
            if info == 0 and np.isfinite(w).all():
                return w.astype(np.float64)
    full = np.triu(A) + np.triu(A, 1).T  # from the upper triangle, the one kept exact
    return np.linalg.lstsq(full + alpha * np.eye(len(A)), b, rcond=None)[0]


def ridge_search(
    X: np.ndarray,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    alphas: tuple[float, ...],
    overwrite_X: bool = False,
) -> RidgeSearch:
    """Score every alpha on every (train, test) split by ROC AUC and refit the best (on X
    itself, centred in place, with `overwrite_X`: a copy of 100 MB spared)."""
    classes = np.unique(y)
    # Centred once on all rows, so a fold's Gram (all rows' minus its test rows') and its own
    # centring subtract small numbers: float32 data keeps float32 products, as scikit-learn.
    dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
    shift = X.mean(axis=0, dtype=np.float64)
    Xc = np.subtract(X, shift.astype(dtype), dtype=dtype)
    coded = np.where(y == classes[-1], 1.0, -1.0).astype(dtype)
    for train, test in splits:
        rows = np.concatenate([train, test])
        if len(rows) != len(y) or np.bincount(rows, minlength=len(y)).max() > 1:
            raise ValueError("each split's training rows must be all its other rows")
    tests = [test for _, test in splits]
    # All rows' Gram once; each fold's training Gram is it minus its test rows' Gram, formed
    # in a reused buffer (fresh 64 MB matrices cost more to fault in than to fill).
    G = _gram(Xc, np.empty((X.shape[1],) * 2, dtype=dtype, order="F"), keep=False)
    sums = Xc.sum(axis=0, dtype=np.float64)
    xy = _product(Xc, coded, transpose=True)
    fold_scores = np.full((len(splits), len(alphas)), np.nan)
    decisions = np.full((len(alphas), len(y)), np.nan)
    gram = np.empty_like(G, order="F")
    work = np.empty_like(G, order="F")  # each factorisation's
    for f, test in enumerate(tests):
        Xt, yt = Xc[test], coded[test]
        np.copyto(gram, G)
        gram = _gram(Xt, gram, scale=-1.0)
        A, b, mean, y_mean = _centred(
            gram,
            xy - _product(Xt, yt, transpose=True),
            sums - Xt.sum(axis=0, dtype=np.float64),
            coded.sum() - yt.sum(),
            len(y) - len(test),
        )
        Xt64 = Xt.astype(np.float64)  # scored in float64, as the float64 solution needs
        for a, alpha in enumerate(alphas):
            w = _solve(A, b, alpha, dtype, work)
            decision = _product(Xt64, w) - mean @ w + y_mean
            decisions[a, test] = decision
            if len(np.unique(y[test])) == 2:
                fold_scores[f, a] = roc_auc_score(y[test], decision)
    return _chosen(X, y, alphas, fold_scores, decisions, overwrite_X)


def _centred(gram, xy, sums, y_sum, n):
    """The normal equations of rows with these sums, centred on their own means (`gram`, a
    Fortran-ordered upper triangle, is updated in place)."""
    mean = np.asarray(sums, dtype=np.float64) / n
    y_mean = float(y_sum) / n
    # Only the upper triangle is read (Cholesky on the upper triangle): the rank-one update
    # (BLAS syr, in place) leaves the lower one as it was.
    (syr,) = _blas(("syr",), gram.dtype)
    gram = syr(-float(n), mean.astype(gram.dtype), a=gram, overwrite_a=True)
    return gram, np.asarray(xy, dtype=np.float64) - (n * y_mean) * mean, mean, y_mean


def kernel_ridge_search(
    X: np.ndarray,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    alphas: tuple[float, ...],
) -> RidgeSearch:
    """The same search with fewer rows than features, in the dual (kernel) form, in float64.

    One kernel K = XX' of all rows (rows x rows); a fold's training kernel is its submatrix,
    centred on the fold's training means (double centring), and each alpha costs one Cholesky
    factorisation of that rows x rows matrix: w = Xc'(Kc + alpha I)^-1 yc, decision = (x - mean) w + y_mean,
    scikit-learn's RidgeClassifier model in exact arithmetic. scikit-learn solves this system in
    the data's float32, whose answers at small alphas differ enough to change the chosen alpha
    now and then: the seed protocol, which must give the notebook's numbers, keeps
    GridSearchCV; spatial CV, asmdb's own protocol, uses this. The chosen alpha is refitted by
    scikit-learn's RidgeClassifier, as in `ridge_search`.
    """
    classes = np.unique(y)
    Xd = np.asarray(X, dtype=np.float64)
    K = Xd @ Xd.T
    coded = np.where(y == classes[-1], 1.0, -1.0)
    fold_scores = np.full((len(splits), len(alphas)), np.nan)
    decisions = np.full((len(alphas), len(y)), np.nan)
    for f, (train, test) in enumerate(splits):
        Ktt = K[np.ix_(train, train)]
        Kst = K[np.ix_(test, train)]
        row_means = Ktt.mean(axis=1)
        grand = row_means.mean()
        Kc = Ktt - row_means[:, None] - row_means[None, :] + grand
        Ksc = Kst - row_means[None, :] - Kst.mean(axis=1)[:, None] + grand
        y_mean = coded[train].mean()
        centred = coded[train] - y_mean
        for a, alpha in enumerate(alphas):
            # Kc is positive semidefinite: Kc + alpha I (alpha > 0) factors by Cholesky.
            system = Kc.copy()
            system.flat[:: len(system) + 1] += alpha
            dual = cho_solve(cho_factor(system, lower=False, overwrite_a=True), centred)
            decision = Ksc @ dual + y_mean
            decisions[a, test] = decision
            if len(np.unique(y[test])) == 2:
                fold_scores[f, a] = roc_auc_score(y[test], decision)
    return _chosen(X, y, alphas, fold_scores, decisions)


def _chosen(
    X, y, alphas, fold_scores: np.ndarray, decisions: np.ndarray, overwrite_X: bool = False
) -> RidgeSearch:
    """GridSearchCV's choice from the folds' scores (ties to the first alpha, a fold that
    cannot be scored ranking last), refitted by scikit-learn itself: not a model from the Gram
    or the kernel, since the seed protocol's calibrated AUC moves by several points with score
    differences of 1e-5 (isotonic steps), and asmdb must give the notebook's numbers exactly."""
    best, means = best_candidate(fold_scores)
    model = RidgeClassifier(alpha=alphas[best], copy_X=not overwrite_X).fit(X, y)
    model.copy_X = True  # the same computation either way; the model keeps the default
    return RidgeSearch(
        best_estimator_=model,
        best_params_={"alpha": alphas[best]},
        best_score_=float(means[best]),
        mean_scores=means,
        fold_scores=fold_scores,
        out_of_fold=decisions[best],
    )
