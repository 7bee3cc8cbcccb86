"""A feature set's record, and how each command finds the one it works on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import psycopg

from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound

# The featurize parameters (asm_db.imagery.featurize.parameters) a tile's vector depends on.
IDENTITY_PARAMETERS = ("method", "features", "seed", "filters", "stats", "tile_size", "tile_pixels")

# How a command chooses a feature set when none is named: "only", the only set with vectors
# (`asmdb train`); "promoted", the promoted run's set, else the newest with vectors
# (`asmdb similar`); "named", none: a name is needed (`asmdb predict`).
Default = Literal["only", "promoted", "named"]


@dataclass(frozen=True)
class FeatureSet:
    """What a feature set's vectors are, as stored with the set: K and the feature names, its
    grid, its period and its origin (the featurize parameters and filter bank, or the product an
    ingested file comes from)."""

    feature_set_id: int
    name: str
    n_features: int
    feature_names: list[str]
    source: str | None = None
    parameters: dict | None = None  # asmdb featurize's; None: ingested from a file
    filters_digest: str | None = None  # sha256 of the filter bank (featurize, rcf)
    cell_size: float | None = None
    grid_id: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    complete: bool = True  # false while `asmdb featurize` is still committing batches

    @property
    def featurized(self) -> bool:
        return self.parameters is not None

    def identity_parameters(self) -> dict:
        """The featurize parameters compared between sets (none for an ingested set)."""
        if self.parameters is None:
            return {}
        out = {k: self.parameters[k] for k in IDENTITY_PARAMETERS if k in self.parameters}
        out["bands"] = len(self.parameters.get("bands", []))
        return out


@dataclass(frozen=True)
class _Found:
    feature_set: FeatureSet
    has_vectors: bool
    promoted: bool


def _read(
    pg: psycopg.Connection,
    *,
    name: str | None = None,
    feature_set_id: int | None = None,
    run_id: int | None = None,
) -> list[_Found]:
    params = {"name": name, "feature_set_id": feature_set_id, "run_id": run_id}
    return [
        _Found(FeatureSet(*row[:12]), row[12], row[13])
        for row in pg.execute(load_sql("features/feature_set_records"), params)
    ]


def find_feature_set(pg: psycopg.Connection, name: str) -> FeatureSet | None:
    """The feature set named `name`, or None."""
    found = _read(pg, name=name)
    return found[0].feature_set if found else None


def run_feature_set(pg: psycopg.Connection, run_id: int) -> FeatureSet:
    """The feature set run `run_id` was trained on."""
    found = _read(pg, run_id=run_id)
    if not found:
        raise NotFound(f"no model run {run_id}; `asmdb runs` lists them")
    return found[0].feature_set


def check_complete(feature_set: FeatureSet) -> None:
    """Refuse a set `asmdb featurize` is still writing (or was stopped writing)."""
    if not feature_set.complete:
        raise AsmdbError(
            f"feature set '{feature_set.name}' is incomplete (its `asmdb featurize` was stopped "
            "or is still running); run the same featurize command again to finish it"
        )


def resolve_feature_set(
    pg: psycopg.Connection,
    name: str | None,
    *,
    default: Default,
    complete: bool = True,
) -> FeatureSet:
    """The feature set a command works on: the one named, else the one `default` chooses;
    it must have vectors and (with `complete`) be complete. NotFound says which sets there are."""
    everything = _read(pg)
    with_vectors = [f for f in everything if f.has_vectors]
    if name is not None:
        named = [f for f in everything if f.feature_set.name == name]
        if not named:
            have = ", ".join(f.feature_set.name for f in reversed(everything)) or "none"
            raise NotFound(f"no feature set named '{name}' (have: {have})")
        if not named[0].has_vectors:
            raise NotFound(f"feature set '{name}' has no tiles; `asmdb ingest features` loads them")
        chosen = named[0].feature_set
    elif default == "named":
        raise AsmdbError("name the feature set (--feature-set)")
    elif not with_vectors:
        raise NotFound("no features in the database; run `asmdb ingest features FILE` first")
    elif default == "only":
        if len(with_vectors) > 1:
            names = ", ".join(f.feature_set.name for f in with_vectors)
            raise NotFound(f"several feature sets ({names}); choose one with --feature-set")
        chosen = with_vectors[0].feature_set
    else:  # "promoted": the promoted run's set first, then newest first
        chosen = sorted(with_vectors, key=lambda f: not f.promoted)[0].feature_set
    if complete:
        check_complete(chosen)
    return chosen


def tile_count(pg: psycopg.Connection, feature_set_id: int) -> int:
    """How many tiles have a vector in the feature set."""
    params = {"feature_set_id": feature_set_id}
    return pg.execute(load_sql("features/feature_set_tile_count"), params).fetchone()[0]
