"""Record a map: its row in `asmdb.maps`, its predictions as the map's own partition of
`asmdb.predictions` and its overview blocks, in the caller's transaction, promoted with it or
not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from asm_db.db import copy as pgcopy
from asm_db.db import locks
from asm_db.db.sqlfiles import load_sql
from asm_db.maps.overviews import write_overviews
from asm_db.maps.predict import TilePredictions
from asm_db.probability_classes import MAP_THRESHOLD


@dataclass(frozen=True)
class MapWritten:
    map_id: int
    run_id: int
    feature_set_id: int
    created_at: datetime
    tiles: int
    promoted: bool


def map_counts(predictions: TilePredictions) -> dict:
    return {
        "tiles": int(len(predictions.tile_id)),
        "tiles_at_least_half": int(np.count_nonzero(predictions.probability >= MAP_THRESHOLD)),
    }


def record_map(
    pg: psycopg.Connection,
    *,
    run_id: int,
    feature_set_id: int,
    predictions: TilePredictions,
    promote: bool = True,
    notify: locks.Notify | None = None,
) -> MapWritten:
    """Insert a map and write its predictions; the caller's transaction decides whether it is
    ever seen, and (with `promote`) makes it the map `latest_predictions` shows when it commits."""
    locks.hold(pg, "write map", notify)
    counts = map_counts(predictions)
    map_id, created_at = pg.execute(
        load_sql("maps/map_insert"),
        {
            "run_id": run_id,
            "feature_set_id": feature_set_id,
            "promote": promote,
            "tiles": counts["tiles"],
            "counts": Jsonb(counts),
        },
    ).fetchone()
    write_predictions(pg, map_id, run_id, predictions)
    write_overviews(pg, map_id)
    return MapWritten(map_id, run_id, feature_set_id, created_at, counts["tiles"], promote)


def write_predictions(
    pg: psycopg.Connection, map_id: int, run_id: int, predictions: TilePredictions
) -> int:
    """A map's predictions, with their tile polygons, as the map's own partition of
    `asmdb.predictions`: loaded by COPY into an unindexed table, then indexed, then attached.
    Returns the row count."""
    name = f"predictions_map_{map_id:d}"
    names = {
        "partition": sql.Identifier("asmdb", name),
        "check": sql.Identifier(f"{name}_map"),
        "map_id": sql.Literal(map_id),
        "run_id": sql.Literal(run_id),
    }
    columns = [("tile_id", "int8"), ("score", "float8"), ("probability", "float8")]
    with pg.cursor() as cur:
        cur.execute(sql.SQL(load_sql("maps/predictions_partition_create")).format(**names))
        cur.execute(load_sql("maps/predictions_stage_create"))
        with cur.copy(load_sql("maps/predictions_stage_copy")) as copy:
            copy.write(pgcopy.HEADER)
            copy.write(
                pgcopy.encode_rows(
                    columns,
                    {
                        "tile_id": predictions.tile_id.astype(np.int64),
                        "score": predictions.score,
                        "probability": predictions.probability,
                    },
                )
            )
            copy.write(pgcopy.TRAILER)
        cur.execute(sql.SQL(load_sql("maps/predictions_insert")).format(**names))
        written = cur.rowcount
        cur.execute(sql.SQL(load_sql("maps/predictions_partition_attach")).format(**names))
        cur.execute(sql.SQL("ANALYZE {partition}").format(**names))
    return written
