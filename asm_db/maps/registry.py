"""Maps: listing, showing and promoting them, and choosing the map a command works on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.keys import fits_integer
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import NotFound


@dataclass(frozen=True)
class MapSummary:
    map_id: int
    run_id: int
    feature_set: str
    period_start: date | None
    period_end: date | None
    created_at: datetime
    promoted_at: datetime | None
    promoted: bool  # the promoted map of its period
    shown: bool  # the map asmdb.latest_predictions shows (promoted, newest period)
    tiles: int
    counts: dict
    own_feature_set: bool  # made on the feature set its run was trained on
    model: str


@dataclass(frozen=True)
class MapRef:
    map_id: int
    run_id: int


def resolve_map(
    pg: psycopg.Connection, map_id: int | None = None, run_id: int | None = None
) -> MapRef:
    """The map asked for; else the map run `run_id` made on its own feature set (the newest);
    else the promoted map. NotFound, saying what to do, when there is none."""
    if any(i is not None and not fits_integer(i) for i in (map_id, run_id)):
        row = None  # no map or run has an id beyond its column's type
    else:
        row = pg.execute(
            load_sql("maps/map_to_use"), {"map_id": map_id, "run_id": run_id}
        ).fetchone()
    if row is not None:
        return MapRef(*row)
    if map_id is not None:
        raise NotFound(f"no map {map_id}; `asmdb maps list` lists them")
    if run_id is not None:
        if (
            fits_integer(run_id)
            and pg.execute("SELECT 1 FROM asmdb.model_runs WHERE run_id = %s", (run_id,)).fetchone()
        ):
            raise NotFound(
                f"run {run_id} has no map; `asmdb predict --run {run_id} --feature-set NAME` "
                "makes one"
            )
        raise NotFound(f"no model run {run_id}; `asmdb runs` lists them")
    raise NotFound(
        "no promoted map; `asmdb maps list` lists maps, `asmdb maps promote ID` shows one"
    )


def _summaries(pg: psycopg.Connection, map_id: int | None) -> list[MapSummary]:
    if map_id is not None and not fits_integer(map_id):
        return []  # no map has an id beyond its column's type
    return [MapSummary(*row) for row in pg.execute(load_sql("maps/maps_list"), {"map_id": map_id})]


def list_maps(engine: Engine) -> list[MapSummary]:
    """Every map, newest first."""
    with connect(engine) as conn:
        check_ready(conn)
        return _summaries(driver(conn), None)


def get_map(pg: psycopg.Connection, map_id: int) -> MapSummary:
    found = _summaries(pg, map_id)
    if not found:
        raise NotFound(f"no map {map_id}; `asmdb maps list` lists them")
    return found[0]


def show_map(engine: Engine, map_id: int) -> MapSummary:
    with connect(engine) as conn:
        check_ready(conn)
        return get_map(driver(conn), map_id)


def promote_map(
    engine: Engine, map_id: int | None = None, *, run_id: int | None = None
) -> MapSummary:
    """Promote a map within its period (`asmdb.maps_by_period` shows it; so does
    `asmdb.latest_predictions` when its period is the newest): `map_id`, or the map run
    `run_id` made on its own feature set (the newest)."""
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        if map_id is None and run_id is None:
            raise NotFound("name a map (or a run) to promote")
        ref = resolve_map(pg, map_id, run_id)
        pg.execute(load_sql("maps/map_promote"), {"map_id": ref.map_id})
        return get_map(pg, ref.map_id)
