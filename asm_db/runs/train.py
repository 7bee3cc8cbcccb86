"""`asmdb train`: join in SQL, fit and evaluate a calibrated model, record the run with
everything needed to compare and reproduce it, and (by default) its map of every tile."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import psycopg

from asm_db.db import copy as pgcopy
from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound, TrainingDataError
from asm_db.maps.predict import READERS, TilePredictions, predict_tiles
from asm_db.maps.write import record_map
from asm_db.modeling.options import (
    BLOCK_SIZES,
    BLOCKS_PER_FOLD,
    MODEL_NAMES,
    LabelFilters,
    Protocol,
)
from asm_db.publish.staging import StagedFiles, check_output_dir
from asm_db.runs.label_checks import no_rows_reason, unknown_mine_types
from asm_db.runs.registry import record_run, write_evaluations

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


@dataclass(frozen=True)
class FeatureSet:
    feature_set_id: int
    name: str
    n_features: int
    feature_names: list[str]
    grid_id: int
    period_start: date | None = None
    period_end: date | None = None


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


def choose_feature_set(pg: psycopg.Connection, name: str | None) -> FeatureSet:
    chosen = _choose_feature_set(pg, name)
    params = {"feature_set_id": chosen.feature_set_id}
    if pg.execute(load_sql("features/feature_set_incomplete"), params).fetchone()[0]:
        raise AsmdbError(
            f"feature set '{chosen.name}' is incomplete (its `asmdb featurize` was stopped or is "
            "still running); run the same featurize command again to finish it"
        )
    return chosen


def _choose_feature_set(pg: psycopg.Connection, name: str | None) -> FeatureSet:
    rows = [FeatureSet(*row) for row in pg.execute(load_sql("features/feature_set_for_training"))]
    if not rows:
        raise NotFound("no features in the database; run `asmdb ingest features FILE` first")
    if name is not None:
        for row in rows:
            if row.name == name:
                return row
        raise NotFound(
            f"no feature set named '{name}' with features (have: {', '.join(r.name for r in rows)})"
        )
    if len(rows) > 1:
        raise NotFound(
            f"several feature sets ({', '.join(r.name for r in rows)}); choose one with --feature-set"
        )
    return rows[0]


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
        fs = choose_feature_set(pg, feature_set)
        label_filters = filter_params(fs, filters)  # refused before any work

        started = time.perf_counter()
        rows = fetch_training_rows(pg, fs, filters)
        lonlat = label_positions(pg, rows.label_id) if protocol.cv == "spatial" else None
        label_counts = dict(
            pg.execute(load_sql("runs/filtered_label_counts"), label_filters).fetchall()
        )
        with pg.cursor(row_factory=psycopg.rows.dict_row) as cur:
            filter_counts = cur.execute(
                load_sql("runs/label_filter_counts"), label_filters
            ).fetchone()
        seconds["join"] = time.perf_counter() - started
        for warning in unknown_mine_types(pg, filters):
            if notify is not None:
                notify(warning)
        if len(rows.y) == 0:
            raise TrainingDataError(
                no_rows_reason(pg, filters, filter_counts, fs.feature_set_id, fs.name)
            )

        fingerprint = rows.fingerprint()  # hashed while scikit-learn may still be importing
        fitting, estimators, calibration = modeling.result()
        block_size_auto = protocol.cv == "spatial" and protocol.block_size == "auto"
        if block_size_auto:
            protocol = fitting.resolve_block_size(protocol, lonlat)
            if notify is not None:
                notify(
                    f"spatial CV blocks of {protocol.block_size:g} degrees "
                    f"({fitting.count_blocks(lonlat, protocol.block_size)} blocks; "
                    f"--block-size auto: the largest of {_sizes()} degrees leaving at least "
                    f"{BLOCKS_PER_FOLD} blocks per fold)"
                )

        started = time.perf_counter()
        fit = fitting.fit(
            rows.X,
            rows.y,
            protocol,
            label_id=rows.label_id,
            tile_id=rows.tile_id,
            lonlat=lonlat,
            progress=(lambda done, total: progress("fit", done, total)) if progress else None,
        )
        fit.model.feature_names = fs.feature_names
        importance, importance_method = estimators.feature_importance(fit.model.classifier, rows.X)
        seconds["fit"] = time.perf_counter() - started

        predictions = None
        if make_map:
            started = time.perf_counter()
            tile_count = pg.execute(
                "SELECT count(*) FROM asmdb.tile_features WHERE feature_set_id = %s",
                (fs.feature_set_id,),
            ).fetchone()[0]
            tile_progress = (
                (lambda done: progress("predict", done, tile_count)) if progress else None
            )
            predictions = predict_tiles(
                pg,
                fit.model,
                fs.feature_set_id,
                fs.n_features,
                open_connection=engine.raw_connection,
                readers=readers,
                progress=tile_progress,
            )
            seconds["predict"] = time.perf_counter() - started

        if filters.observed_within is None:  # the window's counts say nothing without one
            del filter_counts["after_observed_within"], filter_counts["undated_dropped"]
        counts = {
            **{k: int(v) for k, v in filter_counts.items()},
            "labels_after_filters": int(sum(label_counts.values())),
            "labels_by_class": {str(k): int(v) for k, v in sorted(label_counts.items())},
            "labels_joined": int(len(np.unique(rows.label_id))),
            "training_rows": int(len(rows.y)),
            "positives": int(rows.y.sum()),
            "train": fit.n_train,
            "test": fit.n_test,
            "tiles_predicted": int(len(predictions.tile_id)) if predictions is not None else 0,
        }
        if protocol.cv == "spatial":
            counts["spatial_blocks"] = int(len(np.unique(fit.groups)))
        metrics = _metrics(fit, protocol)
        top = _top_features(importance, fs.feature_names)
        metrics["top_features"] = top
        metrics["importance_method"] = importance_method
        parameters = {
            "feature_set": fs.name,
            "filters": _recorded_filters(filters, label_filters),
            "protocol": {
                **asdict(protocol),
                "alphas": list(protocol.alphas),
                "block_size_auto": block_size_auto,
                "calibration": protocol.calibration_requested,
            },
            "calibration": fit.calibration.method,
            "model": estimators.model_spec(protocol.model).description
            + " + "
            + calibration.DESCRIPTIONS[fit.calibration.method],
        }
        started = time.perf_counter()
        locks.hold(pg, "write run", notify)
        run_id, _ = record_run(
            pg,
            feature_set_id=fs.feature_set_id,
            parameters=parameters,
            metrics=metrics,
            counts=counts,
            model=fit.model,
            protocol=fit.protocol,
            model_name=protocol.model,
            data_fingerprint=fingerprint,
            feature_importance=importance,
            importance_method=importance_method,
        )
        write_evaluations(pg, run_id, fit)
        map_id = None
        if predictions is not None:
            written = record_map(
                pg,
                run_id=run_id,
                feature_set_id=fs.feature_set_id,
                predictions=predictions,
                promote=promote,
                notify=notify,
            )
            map_id = written.map_id
        seconds["write"] = time.perf_counter() - started
        if plots_dir is not None:
            from asm_db.publish.plots import stage_run_plots

            # Inside the run's transaction: plots that fail leave no run behind.
            stage_run_plots(pg, run_id, Path(plots_dir), staged)

    result = RunResult(
        run_id,
        fs.name,
        fit,
        predictions,
        label_counts,
        counts,
        metrics,
        top,
        seconds,
        map_id=map_id,
        protocol=protocol,
    )
    result.plots = staged.published
    return result
