"""`asmdb predict`: apply a run's stored model to every tile of a feature set, as a new map."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from sqlalchemy.engine import Engine

from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound
from asm_db.maps.identity import FeatureSetShape, IncompatibleFeatureSet, check_compatible
from asm_db.maps.predict import READERS, predict_tiles
from asm_db.maps.registry import MapSummary, get_map
from asm_db.maps.write import MapWritten, record_map

# The identity check lives in asm_db.maps.identity; these names stay importable from here.
__all__ = [
    "FeatureSetShape",
    "IncompatibleFeatureSet",
    "MapResult",
    "check_compatible",
    "predict_map",
]


@dataclass
class MapResult:
    map: MapWritten
    summary: MapSummary  # as `asmdb maps show` sees it, promoted and shown or not
    feature_set: str
    trained_on: str
    seconds: dict = field(default_factory=dict)


def _trained_on(pg: psycopg.Connection, run_id: int) -> FeatureSetShape:
    with pg.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute(load_sql("maps/run_model_feature_set"), {"run_id": run_id}).fetchone()
    if row is None:
        raise NotFound(f"no model run {run_id}; `asmdb runs` lists them")
    return _shape(row)


def _shape(row) -> FeatureSetShape:
    """A row of `run_model_feature_set` or `feature_set_to_map` as the set's identity."""
    return FeatureSetShape(
        feature_set_id=row["feature_set_id"],
        name=row["name"],
        n_features=row["n_features"],
        feature_names=row["feature_names"],
        source=row["source"],
        parameters=row["parameters"],
        filters_digest=row["filters_digest"],
        cell_size=row["cell_size"],
    )


def _target(pg: psycopg.Connection, name: str) -> FeatureSetShape:
    with pg.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute(load_sql("features/feature_set_to_map"), {"name": name}).fetchone()
    if row is None:
        names = [r[0] for r in pg.execute("SELECT name FROM asmdb.feature_sets ORDER BY name")]
        raise NotFound(f"no feature set named '{name}' (have: {', '.join(names) or 'none'})")
    if row["tiles"] == 0:
        raise NotFound(f"feature set '{name}' has no tiles; `asmdb ingest features` loads them")
    shape = _shape(row)
    incomplete = pg.execute(
        load_sql("features/feature_set_incomplete"), {"feature_set_id": shape.feature_set_id}
    )
    if incomplete.fetchone()[0]:
        raise AsmdbError(
            f"feature set '{name}' is incomplete (its `asmdb featurize` was stopped or is still "
            "running); run the same featurize command again to finish it"
        )
    return shape


def predict_map(
    engine: Engine,
    run_id: int,
    feature_set: str,
    *,
    promote: bool = True,
    readers: int = READERS,
    progress: Callable[[int, int], None] | None = None,
    notify: locks.Notify | None = None,
) -> MapResult:
    """Apply run `run_id`'s model to every tile of `feature_set` and record the probabilities
    as a new map, written and (unless `promote` is false) promoted in one transaction.

    The tiles are streamed by `readers` connections in one snapshot and scored a batch at a
    time, as `asmdb train` scores its own; the map's partition is loaded, indexed and attached
    before the commit, so readers see the whole map or none of it.
    """
    from asm_db.runs.registry import load_model

    seconds = {}
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        trained = _trained_on(pg, run_id)
        target = _target(pg, feature_set)
        check_compatible(run_id, trained, target)
        tiles = pg.execute(
            "SELECT count(*) FROM asmdb.tile_features WHERE feature_set_id = %s",
            (target.feature_set_id,),
        ).fetchone()[0]

        started = time.perf_counter()
        model = load_model(engine, run_id)
        seconds["load"] = time.perf_counter() - started

        started = time.perf_counter()
        predictions = predict_tiles(
            pg,
            model,
            target.feature_set_id,
            target.n_features,
            open_connection=engine.raw_connection,
            readers=readers,
            progress=(lambda done: progress(done, tiles)) if progress else None,
        )
        seconds["predict"] = time.perf_counter() - started

        started = time.perf_counter()
        written = record_map(
            pg,
            run_id=run_id,
            feature_set_id=target.feature_set_id,
            predictions=predictions,
            promote=promote,
            notify=notify,
        )
        seconds["write"] = time.perf_counter() - started
        summary = get_map(pg, written.map_id)
    return MapResult(written, summary, target.name, trained.name, seconds)
