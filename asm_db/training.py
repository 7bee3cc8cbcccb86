"""`asmdb train`: join in SQL, fit the seed's model, predict every tile, record the run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psycopg

from asm_db import model as seed_model
from asm_db import pgcopy
from asm_db.database import check_ready, connect, driver
from asm_db.errors import NotFound
from asm_db.predictions import DEFAULT_BATCH_ROWS, TilePredictions, predict_tiles, write_predictions
from asm_db.runs import record_run
from asm_db.sqlfiles import load_sql


@dataclass(frozen=True)
class LabelFilters:
    """The seed's label quality filters, applied at training time; defaults are the seed's."""

    min_proportion_inspected: float = 0.2
    exclude_mine_types: tuple[str, ...] = ("commercial",)
    min_confidence: float = 3

    def params(self) -> dict:
        return {
            "min_proportion_inspected": self.min_proportion_inspected,
            "exclude_mine_types": list(self.exclude_mine_types),
            "min_confidence": self.min_confidence,
        }


@dataclass(frozen=True)
class FeatureSet:
    feature_set_id: int
    name: str
    n_features: int
    feature_names: list[str]


@dataclass
class TrainingRows:
    label_id: np.ndarray
    tile_id: np.ndarray
    y: np.ndarray
    X: np.ndarray


@dataclass
class RunResult:
    run_id: int
    feature_set: str
    fit: seed_model.FitResult
    predictions: TilePredictions
    label_counts: dict[int, int]
    counts: dict
    seconds: dict = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)


def choose_feature_set(pg: psycopg.Connection, name: str | None) -> FeatureSet:
    rows = [FeatureSet(*row) for row in pg.execute(load_sql("feature_set_for_training"))]
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


def fetch_training_rows(
    pg: psycopg.Connection, feature_set: FeatureSet, filters: LabelFilters
) -> TrainingRows:
    """Pull only the joined, filtered rows, streamed by binary COPY."""
    dtype = pgcopy.row_dtype(
        [
            ("label_id", "int4"),
            ("tile_id", "int4"),
            ("label", "int2"),
            ("features", ("real[]", feature_set.n_features)),
        ]
    )
    params = {"feature_set_id": feature_set.feature_set_id, **filters.params()}
    with pg.cursor() as cur, cur.copy(load_sql("training_rows"), params) as copy:
        parts = list(pgcopy.decode_batches(copy, dtype, 4096))
    rows = np.concatenate(parts) if parts else np.empty(0, dtype)
    return TrainingRows(
        label_id=pgcopy.column(rows, "label_id"),
        tile_id=pgcopy.column(rows, "tile_id"),
        y=pgcopy.column(rows, "label").astype(np.int64),
        X=pgcopy.column(rows, "features").reshape(len(rows), feature_set.n_features),
    )


def train_run(
    engine,
    *,
    feature_set: str | None = None,
    filters: LabelFilters = LabelFilters(),
    protocol: seed_model.Protocol = seed_model.Protocol(),
    batch_rows: int = DEFAULT_BATCH_ROWS,
    plots_dir: str | Path | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> RunResult:
    """Train on the joined labels, predict every tile, and record it all as one new run.

    The run, its model and its predictions commit together: readers of
    `asmdb.latest_predictions` see the previous run until this one is complete.
    """
    seconds = {}
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        fs = choose_feature_set(pg, feature_set)

        started = time.perf_counter()
        rows = fetch_training_rows(pg, fs, filters)
        label_counts = dict(
            pg.execute(load_sql("filtered_label_counts"), filters.params()).fetchall()
        )
        seconds["join"] = time.perf_counter() - started

        started = time.perf_counter()
        fit = seed_model.fit(rows.X, rows.y, protocol)
        fit.model.feature_names = fs.feature_names
        seconds["fit"] = time.perf_counter() - started

        started = time.perf_counter()
        tile_count = pg.execute(
            "SELECT count(*) FROM asmdb.tile_features WHERE feature_set_id = %s",
            (fs.feature_set_id,),
        ).fetchone()[0]
        tile_progress = (lambda done: progress("predict", done, tile_count)) if progress else None
        predictions = predict_tiles(
            pg,
            fit.model,
            fs.feature_set_id,
            fs.n_features,
            batch_rows=batch_rows,
            progress=tile_progress,
        )
        seconds["predict"] = time.perf_counter() - started

        counts = {
            "labels_after_filters": int(sum(label_counts.values())),
            "labels_joined": int(len(np.unique(rows.label_id))),
            "training_rows": int(len(rows.y)),
            "train": fit.n_train,
            "test": fit.n_test,
            "positives": int(rows.y.sum()),
            "tiles_predicted": int(len(predictions.tile_id)),
        }
        metrics = {
            "best_alpha": fit.best_alpha,
            "cv_roc_auc": fit.cv_auc,
            "auc_uncalibrated": fit.auc_uncalibrated,
            "auc_calibrated": fit.auc_calibrated,
        }
        parameters = {
            "feature_set": fs.name,
            "filters": filters.params(),
            "protocol": {**asdict(protocol), "alphas": list(protocol.alphas)},
            "model": "RidgeClassifier + IsotonicRegression(out_of_bounds='clip')",
        }
        started = time.perf_counter()
        run_id, _ = record_run(
            pg,
            feature_set_id=fs.feature_set_id,
            parameters=parameters,
            metrics=metrics,
            counts=counts,
            model=fit.model,
        )
        write_predictions(pg, run_id, predictions)
        seconds["write"] = time.perf_counter() - started

    result = RunResult(run_id, fs.name, fit, predictions, label_counts, counts, seconds)
    if plots_dir is not None:
        from asm_db.plots import plot_run

        result.plots = plot_run(result, Path(plots_dir))
    return result
