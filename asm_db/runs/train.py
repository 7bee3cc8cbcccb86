"""`asmdb train`: join in SQL, fit and evaluate a calibrated model, record the run with
everything needed to compare and reproduce it, and (by default) its map of every tile."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import psycopg

from asm_db.db import copy as pgcopy
from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, TrainingDataError
from asm_db.features.record import FeatureSet, resolve_feature_set
from asm_db.features.summary import summarize
from asm_db.maps import READERS
from asm_db.maps.apply import ScoredTiles, score_feature_set
from asm_db.maps.predict import TilePredictions
from asm_db.modeling.options import (
    BLOCK_SIZES,
    BLOCKS_PER_FOLD,
    MODEL_NAMES,
    LabelFilters,
    Protocol,
)
from asm_db.runs.label_checks import no_rows_reason, unknown_mine_types
from asm_db.runs.registry import record_run, write_evaluations
from asm_db.staging import StagedFiles, check_output_dir

if TYPE_CHECKING:
    from asm_db.modeling import protocols as fitting

TOP_FEATURES = 20


def _import_modeling() -> Future:
    """The modeling modules, imported in a thread: scikit-learn takes a second or more to
    import, time the main thread spends joining the training rows in PostgreSQL."""

    def load() -> tuple:
        from asm_db.modeling import calibration, estimators, protocols

        return protocols, estimators, calibration

    pool = ThreadPoolExecutor(1, thread_name_prefix="asmdb-import")
    try:
        return pool.submit(load)
    finally:
        pool.shutdown(wait=False)


@dataclass
class TrainingRows:
    label_id: np.ndarray
    tile_id: np.ndarray
    y: np.ndarray
    X: np.ndarray

    def fingerprint(self) -> str:
        """SHA-256 of exactly what was fitted: label and tile ids, labels and features."""
        digest = hashlib.sha256()
        tile_id = self.tile_id
        if len(tile_id) == 0 or tile_id.max() < 2**31:
            # Grid 1's ids hashed as the int4 they were before grids: the same rows keep the
            # fingerprint their earlier runs recorded.
            tile_id = tile_id.astype(np.int32)
        for part in (self.label_id, tile_id, self.y, self.X):
            digest.update(np.ascontiguousarray(part).tobytes())
        return digest.hexdigest()


@dataclass
class RunResult:
    run_id: int
    feature_set: str
    fit: fitting.FitResult
    predictions: TilePredictions | None
    label_counts: dict[int, int]
    counts: dict
    metrics: dict
    top_features: list[dict]
    seconds: dict = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)
    map_id: int | None = None
    # As fitted: a block size of "auto" replaced by the size chosen.
    protocol: Protocol | None = None


def filter_params(feature_set: FeatureSet, filters: LabelFilters) -> dict:
    """The SQL parameters of the label filters for training on `feature_set`: the seed's
    filters, and the window of observation dates (None, None without `observed_within`).

    `observed_within` needs the feature set's period; without one it is refused."""
    if filters.observed_within is not None and (
        feature_set.period_start is None and feature_set.period_end is None
    ):
        raise AsmdbError(
            f"--observed-within: feature set '{feature_set.name}' has no period; give it one "
            "with `asmdb ingest features --period START/END`"
        )
    observed_from, observed_to = filters.window(feature_set.period_start, feature_set.period_end)
    return {**filters.params(), "observed_from": observed_from, "observed_to": observed_to}


def fetch_training_rows(
    pg: psycopg.Connection, feature_set: FeatureSet, filters: LabelFilters
) -> TrainingRows:
    """Pull only the joined, filtered rows (labels on tiles of the feature set's grid),
    streamed by binary COPY."""
    dtype = pgcopy.row_dtype(
        [
            ("rows", "int8"),
            ("label_id", "int4"),
            ("tile_id", "int8"),
            ("label", "int2"),
            ("features", ("float32", feature_set.n_features)),
        ]
    )
    params = {
        "feature_set_id": feature_set.feature_set_id,
        "grid_id": feature_set.grid_id,
        **filter_params(feature_set, filters),
    }
    names = ("label_id", "tile_id", "label", "features")
    # Sized from the first row's count (each row carries it): filled in place, batch by batch.
    columns = {name: pgcopy.column(np.empty(0, dtype), name) for name in names}
    done = 0
    with pg.cursor() as cur, cur.copy(load_sql("runs/training_rows"), params) as copy:
        for rows in pgcopy.decode_batches(copy, dtype, 1024):  # a reused view: copied out
            if done == 0:
                total = int(rows["rows"]["v"][0])
                columns = {
                    name: np.empty((total, *part.shape[1:]), part.dtype)
                    for name, part in columns.items()
                }
            for name in names:
                pgcopy.column(rows, name, out=columns[name][done:])
            done += len(rows)
    label_id, tile_id, label, X = (columns[name] for name in names)
    return TrainingRows(label_id=label_id, tile_id=tile_id, y=label.astype(np.int64), X=X)


def label_positions(pg: psycopg.Connection, label_id: np.ndarray) -> np.ndarray:
    """(lon, lat) of each row's label."""
    unique = np.unique(label_id)
    found = dict(
        (row[0], (row[1], row[2]))
        for row in pg.execute(load_sql("runs/label_positions"), {"label_ids": unique.tolist()})
    )
    return np.array([found[i] for i in label_id.tolist()], dtype=float).reshape(-1, 2)


def _recorded_filters(filters: LabelFilters, sql_params: dict) -> dict:
    """The filters as the run records them; with `observed_within`, the dates it kept."""
    out = filters.params()
    if filters.observed_within is not None:
        out["observed_between"] = [
            d.isoformat() if d is not None else None
            for d in (sql_params["observed_from"], sql_params["observed_to"])
        ]
    return out


def _top_features(importance: np.ndarray, names: list[str], k: int = TOP_FEATURES) -> list[dict]:
    order = np.argsort(-np.abs(importance))[:k]
    return [
        {"feature": names[i], "index": int(i), "importance": float(importance[i])} for i in order
    ]


def _sizes() -> str:
    return ", ".join(f"{size:g}" for size in BLOCK_SIZES)


def _metrics(fit: fitting.FitResult, protocol: Protocol) -> dict:
    return {
        "protocol": fit.protocol,
        "model": protocol.model,
        "best_params": fit.best_params,
        "best_alpha": fit.best_alpha,
        "cv_roc_auc": fit.cv_score,
        "auc_uncalibrated": fit.auc_uncalibrated,
        "auc_calibrated": fit.auc_calibrated,
        **fit.metrics,
        "calibration": fit.calibration.record(),
    }


@dataclass
class Joined:
    """The training rows joined in SQL, with what the label filters kept and dropped."""

    rows: TrainingRows
    lonlat: np.ndarray | None  # (lon, lat) of each row's label, for spatial CV
    label_counts: dict[int, int]
    filter_counts: dict
    label_filters: dict  # the filters' SQL parameters


@dataclass
class Fitted:
    """The model fitted and evaluated, with the protocol as fitted."""

    fit: fitting.FitResult
    protocol: Protocol
    block_size_auto: bool
    importance: np.ndarray
    importance_method: str
    fingerprint: str
    model_description: str


def join_training_rows(
    pg: psycopg.Connection,
    fs: FeatureSet,
    filters: LabelFilters,
    protocol: Protocol,
    label_filters: dict,
) -> Joined:
    """The labels on tiles of `fs` that pass `filters`; refused when none is left."""
    rows = fetch_training_rows(pg, fs, filters)
    lonlat = label_positions(pg, rows.label_id) if protocol.cv == "spatial" else None
    label_counts = dict(
        pg.execute(load_sql("runs/filtered_label_counts"), label_filters).fetchall()
    )
    with pg.cursor(row_factory=psycopg.rows.dict_row) as cur:
        filter_counts = cur.execute(load_sql("runs/label_filter_counts"), label_filters).fetchone()
    return Joined(rows, lonlat, label_counts, filter_counts, label_filters)


def check_rows(
    pg: psycopg.Connection,
    fs: FeatureSet,
    filters: LabelFilters,
    joined: Joined,
    notify: locks.Notify | None = None,
) -> None:
    """Warn about mine types no label has; refuse, saying why, when no training row is left."""
    for warning in unknown_mine_types(pg, filters):
        if notify is not None:
            notify(warning)
    if len(joined.rows.y) == 0:
        raise TrainingDataError(
            no_rows_reason(pg, filters, joined.filter_counts, fs.feature_set_id, fs.name)
        )


def fit_model(
    modeling: Future,
    fs: FeatureSet,
    joined: Joined,
    protocol: Protocol,
    progress: Callable[[str, int, int | None], None] | None = None,
    notify: locks.Notify | None = None,
) -> Fitted:
    """Fit and evaluate the model under `protocol` (a block size of "auto" chosen first)."""
    rows = joined.rows
    fingerprint = rows.fingerprint()  # hashed while scikit-learn may still be importing
    fitting, estimators, calibration = modeling.result()
    block_size_auto = protocol.cv == "spatial" and protocol.block_size == "auto"
    if block_size_auto:
        protocol = fitting.resolve_block_size(protocol, joined.lonlat)
        if notify is not None:
            notify(
                f"spatial CV blocks of {protocol.block_size:g} degrees "
                f"({fitting.count_blocks(joined.lonlat, protocol.block_size)} blocks; "
                f"--block-size auto: the largest of {_sizes()} degrees leaving at least "
                f"{BLOCKS_PER_FOLD} blocks per fold)"
            )
    fit = fitting.fit(
        rows.X,
        rows.y,
        protocol,
        label_id=rows.label_id,
        tile_id=rows.tile_id,
        lonlat=joined.lonlat,
        progress=(lambda done, total: progress("fit", done, total)) if progress else None,
    )
    fit.model.feature_names = fs.feature_names
    importance, importance_method = estimators.feature_importance(fit.model.classifier, rows.X)
    description = (
        estimators.model_spec(protocol.model).description
        + " + "
        + calibration.DESCRIPTIONS[fit.calibration.method]
    )
    return Fitted(
        fit, protocol, block_size_auto, importance, importance_method, fingerprint, description
    )


def run_counts(
    joined: Joined, fitted: Fitted, filters: LabelFilters, scored: ScoredTiles | None
) -> dict:
    """What the run was trained on and what it mapped, as the run records them."""
    filter_counts = dict(joined.filter_counts)
    if filters.observed_within is None:  # the window's counts say nothing without one
        del filter_counts["after_observed_within"], filter_counts["undated_dropped"]
    rows, fit = joined.rows, fitted.fit
    counts = {
        **{k: int(v) for k, v in filter_counts.items()},
        "labels_after_filters": int(sum(joined.label_counts.values())),
        "labels_by_class": {str(k): int(v) for k, v in sorted(joined.label_counts.items())},
        "labels_joined": int(len(np.unique(rows.label_id))),
        "training_rows": int(len(rows.y)),
        "positives": int(rows.y.sum()),
        "train": fit.n_train,
        "test": fit.n_test,
        "tiles_predicted": int(len(scored.predictions.tile_id)) if scored is not None else 0,
    }
    if fitted.protocol.cv == "spatial":
        counts["spatial_blocks"] = int(len(np.unique(fit.groups)))
    return counts


def run_parameters(fs: FeatureSet, filters: LabelFilters, joined: Joined, fitted: Fitted) -> dict:
    """How the run was made: the feature set, the filters and the protocol as fitted."""
    protocol = fitted.protocol
    return {
        "feature_set": fs.name,
        "filters": _recorded_filters(filters, joined.label_filters),
        "protocol": {
            **asdict(protocol),
            "alphas": list(protocol.alphas),
            "block_size_auto": fitted.block_size_auto,
            "calibration": protocol.calibration_requested,
        },
        "calibration": fitted.fit.calibration.method,
        "model": fitted.model_description,
    }


def record_trained_run(
    pg: psycopg.Connection,
    fs: FeatureSet,
    fitted: Fitted,
    parameters: dict,
    metrics: dict,
    counts: dict,
    notify: locks.Notify | None = None,
) -> int:
    """The run and its evaluation rows, in `pg`'s transaction; returns the run's id."""
    locks.hold(pg, "write run", notify)
    run_id, _ = record_run(
        pg,
        feature_set_id=fs.feature_set_id,
        parameters=parameters,
        metrics=metrics,
        counts=counts,
        model=fitted.fit.model,
        protocol=fitted.fit.protocol,
        model_name=fitted.protocol.model,
        data_fingerprint=fitted.fingerprint,
        feature_importance=fitted.importance,
        importance_method=fitted.importance_method,
    )
    write_evaluations(pg, run_id, fitted.fit)
    return run_id


def train_run(
    engine,
    *,
    feature_set: str | None = None,
    filters: LabelFilters = LabelFilters(),
    protocol: Protocol = Protocol(),
    promote: bool = True,
    make_map: bool = True,
    readers: int = READERS,
    plots_dir: str | Path | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    notify: locks.Notify | None = None,
) -> RunResult:
    """Train and evaluate on the joined labels and record one new run; with `make_map`
    (the default), also score every tile of the feature set and record that as the run's map.

    The run, its evaluation rows and its map commit together, and the map is promoted (shown by
    `asmdb.latest_predictions`) in that same transaction unless `promote` is false: readers
    never see a half-written run or map. `plots_dir` is checked before any work and the plots
    are drawn before the commit: plots that cannot be written leave no run behind.
    """
    if protocol.model not in MODEL_NAMES:  # an unknown model fails before any work
        raise AsmdbError(
            f"unknown model '{protocol.model}'; choose one of {', '.join(MODEL_NAMES)}"
        )
    modeling = _import_modeling()
    seconds = {}
    staged = StagedFiles()  # the plots, named only once the run has committed
    if plots_dir is not None:
        check_output_dir(plots_dir, "--plots")
    with staged, connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        # As documented: the set named, else the only one with vectors.
        fs = resolve_feature_set(pg, feature_set, default="only")
        label_filters = filter_params(fs, filters)  # refused before any work

        started = time.perf_counter()
        joined = join_training_rows(pg, fs, filters, protocol, label_filters)
        seconds["join"] = time.perf_counter() - started
        check_rows(pg, fs, filters, joined, notify)

        started = time.perf_counter()
        fitted = fit_model(modeling, fs, joined, protocol, progress, notify)
        seconds["fit"] = time.perf_counter() - started

        scored = None
        if make_map:
            scored = score_feature_set(
                pg,
                fitted.fit.model,
                fs,
                open_connection=engine.raw_connection,
                readers=readers,
                progress=(lambda done, total: progress("predict", done, total))
                if progress
                else None,
            )
            seconds["predict"] = scored.seconds

        counts = run_counts(joined, fitted, filters, scored)
        metrics = _metrics(fitted.fit, fitted.protocol)
        top = _top_features(fitted.importance, fs.feature_names)
        metrics["top_features"] = top
        metrics["importance_method"] = fitted.importance_method
        parameters = run_parameters(fs, filters, joined, fitted)

        started = time.perf_counter()
        # Stored with the run for `asmdb predict` to check other sets against; not a metric
        # to show, so kept out of the result's.
        stored = {**metrics, "feature_summary": summarize(joined.rows.X).to_json()}
        run_id = record_trained_run(pg, fs, fitted, parameters, stored, counts, notify)
        map_id = None
        if scored is not None:
            map_id = scored.record(pg, run_id=run_id, promote=promote, notify=notify).map_id
        seconds["write"] = time.perf_counter() - started
        if plots_dir is not None:
            from asm_db.runs.plots import stage_run_plots

            # Inside the run's transaction: plots that fail leave no run behind.
            stage_run_plots(pg, run_id, Path(plots_dir), staged)

    result = RunResult(
        run_id,
        fs.name,
        fitted.fit,
        scored.predictions if scored is not None else None,
        joined.label_counts,
        counts,
        metrics,
        top,
        seconds,
        map_id=map_id,
        protocol=fitted.protocol,
    )
    result.plots = staged.published
    return result
