"""Model runs: recording a run with its evidence, listing, showing and comparing runs, and
loading a run's model again (stored as `asmdb-model/1`, see `asm_db.runs.model_store`). A run's
maps (its model applied to feature sets) are in `asm_db.maps`."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db import probability_classes as classes
from asm_db.db import copy as pgcopy
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.keys import fits_integer
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound
from asm_db.modeling.options import LEGACY_BLOCK_SIZE, LabelFilters, Protocol
from asm_db.runs import model_store

if TYPE_CHECKING:
    from asm_db.modeling.protocols import CalibratedClassifier, FitResult

MODEL_FORMAT = model_store.FORMAT


class ModelRefused(AsmdbError):
    """A run's stored model is not an intact `asmdb-model/1` model: it is never loaded."""


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    created_at: datetime
    promoted_at: datetime | None
    shown: bool
    feature_set: str
    protocol: str
    model: str
    parameters: dict
    metrics: dict
    counts: dict
    data_fingerprint: str | None
    code_version: str | None
    library_versions: dict
    area_estimate: dict | None = None


@dataclass(frozen=True)
class RunComparison:
    first: RunSummary
    second: RunSummary
    maps: dict


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("asmdb", "scikit-learn", "numpy")}


def dump_model(model: CalibratedClassifier) -> bytes:
    """The `asmdb-model/1` bytes of a fitted model, as `model_runs.model` stores them."""
    return model_store.encode(model)


def record_run(
    pg: psycopg.Connection,
    *,
    feature_set_id: int,
    parameters: dict,
    metrics: dict,
    counts: dict,
    model: CalibratedClassifier,
    protocol: str,
    model_name: str,
    data_fingerprint: str,
    feature_importance: np.ndarray,
    importance_method: str,
) -> tuple[int, datetime]:
    """Insert a run; the caller's transaction decides whether it is ever seen."""
    row = pg.execute(
        load_sql("runs/model_run_insert"),
        {
            "feature_set_id": feature_set_id,
            "parameters": Jsonb(parameters),
            "metrics": Jsonb(metrics),
            "counts": Jsonb(counts),
            "model": dump_model(model),
            "model_format": MODEL_FORMAT,
            "library_versions": Jsonb(library_versions()),
            "protocol": protocol,
            "model_name": model_name,
            "data_fingerprint": data_fingerprint,
            "code_version": f"asmdb {metadata.version('asmdb')}",
            "feature_importance": [float(v) for v in feature_importance],
            "importance_method": importance_method,
        },
    ).fetchone()
    return row[0], row[1]


def write_evaluations(pg: psycopg.Connection, run_id: int, fit: FitResult) -> None:
    """COPY the rows a run was scored on, with their fold and predictions."""
    columns = [
        ("run_id", "int4"),
        ("label_id", "int4"),
        ("tile_id", "int8"),
        ("fold", "int2"),
        ("label", "int2"),
        ("score", "float8"),
        ("raw_probability", "float8"),
        ("probability", "float8"),
    ]
    values = {
        "run_id": np.full(len(fit.y), run_id, np.int32),
        "label_id": fit.label_id,
        "tile_id": fit.tile_id,
        "fold": fit.fold,
        "label": fit.y,
        "score": fit.score,
        "raw_probability": fit.raw_probability,
        "probability": fit.probability,
    }
    with pg.cursor() as cur, cur.copy(load_sql("runs/run_evaluations_copy")) as copy:
        copy.write(pgcopy.HEADER)
        copy.write(pgcopy.encode_rows(columns, values))
        copy.write(pgcopy.TRAILER)


def read_model(pg: psycopg.Connection, run_id: int) -> model_store.StoredModel:
    """The fitted model of a run, ready to score new feature vectors (`.score(X)`, then
    `.probability(scores)`), read from its arrays; ModelRefused if the row is not intact."""
    row = pg.execute(load_sql("runs/model_run_model"), {"run_id": run_id}).fetchone()
    if row is None:
        raise NotFound(f"no model run {run_id}; `asmdb runs list` lists them")
    try:
        return model_store.decode(row[0], row[1])
    except model_store.ModelFormatError as exc:
        raise ModelRefused(
            f"run {run_id}: its stored model is refused, nothing was loaded: {exc}"
        ) from None


def load_model(engine: Engine, run_id: int) -> model_store.StoredModel:
    """`read_model` in a transaction of its own."""
    with connect(engine) as conn:
        check_ready(conn)
        return read_model(driver(conn), run_id)


def _summaries(pg: psycopg.Connection, run_id: int | None) -> list[RunSummary]:
    if run_id is not None and not fits_integer(run_id):
        return []  # no run has an id beyond its column's type
    return [
        RunSummary(*row) for row in pg.execute(load_sql("runs/model_runs_list"), {"run_id": run_id})
    ]


def list_runs(engine: Engine) -> list[RunSummary]:
    """Every run, newest first."""
    with connect(engine) as conn:
        check_ready(conn)
        return _summaries(driver(conn), None)


def get_run(pg: psycopg.Connection, run_id: int) -> RunSummary:
    found = _summaries(pg, run_id)
    if not found:
        raise NotFound(f"no model run {run_id}; `asmdb runs list` lists them")
    return found[0]


def show_run(engine: Engine, run_id: int) -> RunSummary:
    with connect(engine) as conn:
        check_ready(conn)
        return get_run(driver(conn), run_id)


def compare_runs(engine: Engine, first: int, second: int) -> RunComparison:
    """Two runs' metrics, and how much their maps (each on its own feature set) differ tile by
    tile."""
    from asm_db.maps.registry import resolve_map

    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        a, b = get_run(pg, first), get_run(pg, second)
        map_ids = []
        for run_id in (first, second):
            try:
                map_ids.append(resolve_map(pg, run_id=run_id).map_id)
            except NotFound:
                map_ids.append(None)
        with pg.cursor(row_factory=psycopg.rows.dict_row) as cur:
            maps = cur.execute(
                load_sql("runs/runs_compare_maps"),
                {"a": map_ids[0], "b": map_ids[1], **classes.sql_params()},
            ).fetchone()
    return RunComparison(a, b, {k: (float(v) if v is not None else None) for k, v in maps.items()})


def reproduce_command(run: RunSummary) -> str:
    """The `asmdb train` command line that re-runs this run's protocol on the same data.

    Every argument is shell-quoted (a feature-set name or mine type is data, never shell
    syntax), and numbers are printed exactly (`repr`), so pasting it reproduces the run.
    """
    p = run.parameters
    protocol, filters = p.get("protocol", {}), p.get("filters", {})
    # Runs recorded before an option existed ran with its default.
    default, default_filters = Protocol(), LabelFilters()
    args = ["asmdb", "train", "--feature-set", str(p.get("feature_set"))]
    args += ["--cv", run.protocol, "--model", run.model]
    if run.protocol == "spatial":
        args += ["--block-size", _exact(protocol.get("block_size", LEGACY_BLOCK_SIZE))]
    else:
        args += ["--test-size", _exact(protocol.get("test_size", default.test_size))]
    # Runs recorded before the choice of calibration were all isotonic.
    args += ["--calibration", str(protocol.get("calibration", "isotonic"))]
    args += ["--folds", str(protocol.get("folds", default.folds))]
    args += ["--seed", str(protocol.get("random_state", default.random_state))]
    if run.model == "ridge":
        args += ["--alphas", ",".join(_exact(a) for a in protocol.get("alphas", []))]
    if "bootstrap" in protocol:
        args += ["--bootstrap", str(protocol["bootstrap"])]
    args += [
        "--min-proportion-inspected",
        _exact(filters.get("min_proportion_inspected", default_filters.min_proportion_inspected)),
        "--min-confidence",
        _exact(filters.get("min_confidence", default_filters.min_confidence)),
    ]
    for mine_type in filters.get("exclude_mine_types", []):
        args += ["--exclude-mine-type", str(mine_type)]
    if filters.get("observed_within") is not None:
        args += ["--observed-within", str(filters["observed_within"])]
    return shlex.join(args)


def _exact(value) -> str:
    """A number as the shortest text that reads back to the same float (0.1, 3, 0.123456789)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)
