"""`asmdb predict`: apply a run's stored model to every tile of a feature set, as a new map."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.features.record import resolve_feature_set, run_feature_set
from asm_db.maps import READERS
from asm_db.maps.apply import score_feature_set
from asm_db.maps.feature_range import check_feature_range
from asm_db.maps.identity import check_compatible
from asm_db.maps.registry import MapSummary, get_map
from asm_db.maps.write import MapWritten
from asm_db.runs.registry import load_model


@dataclass
class MapResult:
    map: MapWritten
    summary: MapSummary  # as `asmdb maps show` sees it, promoted and shown or not
    feature_set: str
    trained_on: str
    seconds: dict = field(default_factory=dict)


def predict_map(
    engine: Engine,
    run_id: int,
    feature_set: str,
    *,
    promote: bool = True,
    force: bool = False,
    readers: int = READERS,
    progress: Callable[[int, int], None] | None = None,
    notify: locks.Notify | None = None,
) -> MapResult:
    """Apply run `run_id`'s model to every tile of `feature_set` and record the probabilities
    as a new map, written and (unless `promote` is false) promoted in one transaction.

    The tiles are streamed by `readers` connections in one snapshot and scored a batch at a
    time, as `asmdb train` scores its own; the map's partition is loaded, indexed and attached
    before the commit, so readers see the whole map or none of it.

    A set whose features lie far from the run's training features (another scale, another
    sensor) is refused unless `force` (`asm_db.maps.feature_range`); what that check has to
    say otherwise goes to `notify`.
    """
    seconds = {}
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        trained = run_feature_set(pg, run_id)
        target = resolve_feature_set(pg, feature_set, default="named")
        check_compatible(run_id, trained, target)
        note = check_feature_range(pg, run_id, trained, target, force=force)
        if note is not None and notify is not None:
            notify(note)

        started = time.perf_counter()
        model = load_model(engine, run_id)
        seconds["load"] = time.perf_counter() - started

        scored = score_feature_set(
            pg,
            model,
            target,
            open_connection=engine.raw_connection,
            readers=readers,
            progress=progress,
        )
        seconds["predict"] = scored.seconds

        started = time.perf_counter()
        written = scored.record(pg, run_id=run_id, promote=promote, notify=notify)
        seconds["write"] = time.perf_counter() - started
        summary = get_map(pg, written.map_id)
    return MapResult(written, summary, target.name, trained.name, seconds)
