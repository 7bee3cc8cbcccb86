"""Predict every tile of a feature set in streamed batches and write the run's predictions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg import sql

from asm_db import pgcopy
from asm_db.model import CalibratedRidge
from asm_db.sqlfiles import load_sql

BATCH_ROWS = 2000


@dataclass
class TilePredictions:
    tile_id: np.ndarray
    score: np.ndarray
    probability: np.ndarray


def tile_feature_batches(
    pg: psycopg.Connection, feature_set_id: int, n_features: int, batch_rows: int = BATCH_ROWS
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(tile ids, float32 feature matrix) of every tile of a feature set, in tile order, a
    batch at a time: memory holds one batch, whatever the number of tiles."""
    dtype = pgcopy.row_dtype([("tile_id", "int4"), ("features", ("float32", n_features))])
    with (
        pg.cursor() as cur,
        cur.copy(load_sql("tile_feature_rows"), {"feature_set_id": feature_set_id}) as copy,
    ):
        for rows in pgcopy.decode_batches(copy, dtype, batch_rows):
            yield pgcopy.column(rows, "tile_id"), pgcopy.column(rows, "features")


def predict_tiles(
    pg: psycopg.Connection,
    model: CalibratedRidge,
    feature_set_id: int,
    n_features: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> TilePredictions:
    """Score every tile; memory holds one batch of features, plus three numbers per tile."""
    tile_ids, scores = [], []
    done = 0
    for ids, features in tile_feature_batches(pg, feature_set_id, n_features):
        tile_ids.append(ids)
        scores.append(model.score(features))
        done += len(ids)
        if progress:
            progress(done)
    tile_id = np.concatenate(tile_ids) if tile_ids else np.empty(0, np.int32)
    score = np.concatenate(scores) if scores else np.empty(0)
    return TilePredictions(tile_id, score, model.probability(score))


def write_predictions(pg: psycopg.Connection, run_id: int, predictions: TilePredictions) -> int:
    """A run's predictions, with their tile polygons, as the run's own partition of
    `asmdb.predictions`: loaded, then indexed, then attached. Returns the row count."""
    name = f"predictions_run_{run_id:d}"
    names = {
        "partition": sql.Identifier("asmdb", name),
        "check": sql.Identifier(f"{name}_run"),
        "run_id": sql.Literal(run_id),
    }
    columns = [("tile_id", "int4"), ("score", "float8"), ("probability", "float8")]
    with pg.cursor() as cur:
        cur.execute(sql.SQL(load_sql("predictions_partition_create")).format(**names))
        cur.execute(load_sql("predictions_stage_create"))
        with cur.copy(load_sql("predictions_stage_copy")) as copy:
            copy.write(pgcopy.HEADER)
            copy.write(
                pgcopy.encode_rows(
                    columns,
                    {
                        "tile_id": predictions.tile_id,
                        "score": predictions.score,
                        "probability": predictions.probability,
                    },
                )
            )
            copy.write(pgcopy.TRAILER)
        cur.execute(sql.SQL(load_sql("predictions_insert")).format(**names))
        written = cur.rowcount
        cur.execute(sql.SQL(load_sql("predictions_partition_attach")).format(**names))
        cur.execute(sql.SQL("ANALYZE {partition}").format(**names))
    return written
