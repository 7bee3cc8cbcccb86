"""Model runs: recording a fitted model with its parameters and metrics, and loading it again."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata

import joblib
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.database import check_ready, connect, driver
from asm_db.errors import NotFound
from asm_db.model import CalibratedRidge
from asm_db.sqlfiles import load_sql

MODEL_FORMAT = "joblib:asm_db.model.CalibratedRidge"


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    created_at: datetime
    feature_set: str
    parameters: dict
    metrics: dict
    counts: dict


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("asmdb", "scikit-learn", "numpy")}


def dump_model(model: CalibratedRidge) -> bytes:
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
    model: CalibratedRidge,
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
        },
    ).fetchone()
    return row[0], row[1]


def load_model(engine: Engine, run_id: int) -> CalibratedRidge:
    """The fitted model of a run, ready to score new feature vectors."""
    with connect(engine) as conn:
        check_ready(conn)
        row = (
            driver(conn)
            .execute("SELECT model FROM asmdb.model_runs WHERE run_id = %s", (run_id,))
            .fetchone()
        )
    if row is None:
        raise NotFound(f"no model run {run_id}; `asmdb runs` lists them")
    return joblib.load(io.BytesIO(row[0]))


def list_runs(engine: Engine) -> list[RunSummary]:
    """Every run, newest first."""
    with connect(engine) as conn:
        check_ready(conn)
        rows = driver(conn).execute(load_sql("model_runs_list")).fetchall()
    return [RunSummary(*row) for row in rows]
