"""Writing a feature set's row: created (by ingest or featurize), its files recorded, finished."""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg.types.json import Jsonb

from asm_db.db.sqlfiles import load_sql
from asm_db.grid import Grid


def create_feature_set(
    pg: psycopg.Connection,
    name: str,
    feature_names: list[str],
    grid: Grid,
    *,
    provenance: dict | None = None,
    source: str | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    complete: bool = True,
) -> int:
    """A new feature set on `grid` (in the caller's transaction); returns its id. A set that
    `asmdb featurize` fills batch by batch starts with `complete` false."""
    return pg.execute(
        load_sql("features/feature_set_create"),
        {
            "name": name,
            "n_features": len(feature_names),
            "feature_names": feature_names,
            "half": grid.half_size,
            "grid_id": grid.grid_id,
            "provenance": Jsonb(provenance or {}),
            "source": source,
            "period_start": period_start,
            "period_end": period_end,
            "complete": complete,
        },
    ).fetchone()[0]


def record_file(
    pg: psycopg.Connection,
    feature_set_id: int,
    file: dict,
    *,
    source: str | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
) -> None:
    """Add an ingested file (path, size, sha256) to the set's provenance, with the product it
    comes from and the period it shows when given."""
    pg.execute(
        load_sql("features/feature_set_record_file"),
        {
            "feature_set_id": feature_set_id,
            "file": Jsonb(file),
            "source": source,
            "period_start": period_start,
            "period_end": period_end,
        },
    )


def finish_feature_set(pg: psycopg.Connection, feature_set_id: int, tiles: dict) -> None:
    """Mark a featurized set complete, with its final count of tiles done and skipped."""
    pg.execute(
        load_sql("features/feature_set_finish"),
        {"feature_set_id": feature_set_id, "tiles": Jsonb(tiles)},
    )


def tiles_with_vectors(pg: psycopg.Connection, feature_set_id: int) -> set[int]:
    """The tiles the set already has a vector for (what a resumed featurize skips)."""
    params = {"feature_set_id": feature_set_id}
    return {row[0] for row in pg.execute(load_sql("features/feature_set_tile_ids"), params)}


def get_provenance(pg: psycopg.Connection, name: str) -> tuple[int, bool, dict] | None:
    """(id, complete, provenance) of the set named `name`, or None."""
    row = pg.execute(load_sql("features/feature_set_get"), {"name": name}).fetchone()
    if row is None:
        return None
    feature_set_id, _, _, _, complete, provenance = row
    return feature_set_id, complete, provenance
