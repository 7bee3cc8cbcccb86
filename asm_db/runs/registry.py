"""Model runs: recording a run with its evidence, listing, showing, comparing and promoting runs,
and loading a run's model again."""

from __future__ import annotations

import io
import shlex
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING

import joblib
import numpy as np
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.db import copy as pgcopy
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import NotFound

if TYPE_CHECKING:
    from asm_db.modeling.protocols import CalibratedClassifier, FitResult

MODEL_FORMAT = "joblib:asm_db.modeling.protocols.CalibratedClassifier"


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
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


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
    promote: bool = True,
) -> tuple[int, datetime]:
    """Insert a run; the caller's transaction decides whether it is ever seen."""
    row = pg.execute(
        load_sql("model_run_insert"),
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
            "promote": promote,
        },
    ).fetchone()
    return row[0], row[1]


def write_evaluations(pg: psycopg.Connection, run_id: int, fit: FitResult) -> None:
    """COPY the rows a run was scored on, with their fold and predictions."""
    columns = [
        ("run_id", "int4"),
        ("label_id", "int4"),
        ("tile_id", "int4"),
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
    with pg.cursor() as cur, cur.copy(load_sql("run_evaluations_copy")) as copy:
        copy.write(pgcopy.HEADER)
        copy.write(pgcopy.encode_rows(columns, values))
        copy.write(pgcopy.TRAILER)


def resolve_run(pg: psycopg.Connection, run_id: int | None) -> int:
    """The run asked for, or the promoted one; NotFound if there is none."""
    row = pg.execute(load_sql("run_to_export"), {"run_id": run_id}).fetchone()
    if row is None:
        wanted = f"no model run {run_id}" if run_id is not None else "no model runs yet"
        raise NotFound(f"{wanted}; `asmdb runs` lists them")
    return row[0]


def load_model(engine: Engine, run_id: int) -> CalibratedClassifier:
    """The fitted model of a run, ready to score new feature vectors."""
    with connect(engine) as conn:
        check_ready(conn)
        row = (
            driver(conn)
            .execute("SELECT model FROM asmdb.model_runs WHERE run_id = %s", (run_id,))
            .fetchone()
        )
    if row is None:
        raise NotFound(f"no model run {run_id}; `asmdb runs list` lists them")
    return joblib.load(io.BytesIO(row[0]))


def _summaries(pg: psycopg.Connection, run_id: int | None) -> list[RunSummary]:
    return [RunSummary(*row) for row in pg.execute(load_sql("model_runs_list"), {"run_id": run_id})]


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
    """Two runs' metrics, and how much their probability maps differ tile by tile."""
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        a, b = get_run(pg, first), get_run(pg, second)
        with pg.cursor(row_factory=psycopg.rows.dict_row) as cur:
            maps = cur.execute(load_sql("runs_compare_maps"), {"a": first, "b": second}).fetchone()
    return RunComparison(a, b, {k: (float(v) if v is not None else None) for k, v in maps.items()})


def promote_run(engine: Engine, run_id: int) -> RunSummary:
    """Make `run_id` the run `asmdb.latest_predictions` shows."""
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        if pg.execute(load_sql("run_promote"), {"run_id": run_id}).fetchone() is None:
            raise NotFound(f"no model run {run_id}; `asmdb runs list` lists them")
        return get_run(pg, run_id)


def reproduce_command(run: RunSummary) -> str:
    """The `asmdb train` command line that re-runs this run's protocol on the same data.

    Every argument is shell-quoted (a feature-set name or mine type is data, never shell
    syntax), and numbers are printed exactly (`repr`), so pasting it reproduces the run.
    """
    p = run.parameters
    protocol, filters = p.get("protocol", {}), p.get("filters", {})
    args = ["asmdb", "train", "--feature-set", str(p.get("feature_set"))]
    args += ["--cv", run.protocol, "--model", run.model]
    if run.protocol == "spatial":
        args += ["--block-size", _exact(protocol.get("block_size", 0.5))]
    else:
        args += ["--test-size", _exact(protocol.get("test_size", 0.2))]
    args += ["--folds", str(protocol.get("folds", 5))]
    args += ["--random-state", str(protocol.get("random_state", 1991))]
    if run.model == "ridge":
        args += ["--alphas", ",".join(_exact(a) for a in protocol.get("alphas", []))]
    if "bootstrap" in protocol:
        args += ["--bootstrap", str(protocol["bootstrap"])]
    args += [
        "--min-proportion-inspected",
        _exact(filters.get("min_proportion_inspected", 0.2)),
        "--min-confidence",
        _exact(filters.get("min_confidence", 3)),
    ]
    for mine_type in filters.get("exclude_mine_types", []):
        args += ["--exclude-mine-type", str(mine_type)]
    return shlex.join(args)


def _exact(value) -> str:
    """A number as the shortest text that reads back to the same float (0.1, 3, 0.123456789)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)
