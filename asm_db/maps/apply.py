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
from asm_db.maps.predict import READERS, predict_tiles
from asm_db.maps.registry import MapSummary, get_map
from asm_db.maps.write import MapWritten, record_map


class IncompatibleFeatureSet(AsmdbError):
    """The model of a run cannot score the vectors of a feature set."""


@dataclass(frozen=True)
class FeatureSetShape:
    feature_set_id: int
    name: str
    n_features: int
    feature_names: list[str]


@dataclass
class MapResult:
    map: MapWritten
    summary: MapSummary  # as `asmdb maps show` sees it, promoted and shown or not
    feature_set: str
    trained_on: str
    seconds: dict = field(default_factory=dict)


def check_compatible(run_id: int, trained: FeatureSetShape, target: FeatureSetShape) -> None:
    """Refuse, saying why, a feature set whose vectors are not those the run's model takes:
    another length, or other feature names (in order)."""
    where = f"feature set '{target.name}' does not fit run {run_id}"
    if target.n_features != trained.n_features:
        raise IncompatibleFeatureSet(
            f"{where}: it has {target.n_features} features, the run's model takes "
            f"{trained.n_features} (feature set '{trained.name}')"
        )
    names = list(target.feature_names or [])
    expected = list(trained.feature_names or [])
    if names != expected:
        if len(names) != len(expected):
            raise IncompatibleFeatureSet(
                f"{where}: it names {len(names)} features, the run's feature set "
                f"'{trained.name}' names {len(expected)}"
            )
        first = next(i for i, (a, b) in enumerate(zip(names, expected, strict=True)) if a != b)
        raise IncompatibleFeatureSet(
            f"{where}: its feature {first + 1} is '{names[first]}', the run's model takes "
            f"'{expected[first]}' there (feature set '{trained.name}')"
        )


def _trained_on(pg: psycopg.Connection, run_id: int) -> FeatureSetShape:
    row = pg.execute(load_sql("run_model_feature_set"), {"run_id": run_id}).fetchone()
    if row is None:
        raise NotFound(f"no model run {run_id}; `asmdb runs` lists them")
    return FeatureSetShape(*row)


def _target(pg: psycopg.Connection, name: str) -> FeatureSetShape:
    row = pg.execute(load_sql("feature_set_to_map"), {"name": name}).fetchone()
    if row is None:
        names = [r[0] for r in pg.execute("SELECT name FROM asmdb.feature_sets ORDER BY name")]
        raise NotFound(f"no feature set named '{name}' (have: {', '.join(names) or 'none'})")
    if row[4] == 0:
        raise NotFound(f"feature set '{name}' has no tiles; `asmdb ingest features` loads them")
    shape = FeatureSetShape(*row[:4])
    incomplete = pg.execute(
        load_sql("feature_set_incomplete"), {"feature_set_id": shape.feature_set_id}
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
