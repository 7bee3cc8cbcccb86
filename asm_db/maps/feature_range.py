"""Whether a feature set's values look like the features a run was trained on, before its
model scores them: vectors on another scale (pixels scaled wrongly, another sensor) pass the
identity check (`asm_db.maps.identity`) yet make every probability meaningless."""

from __future__ import annotations

import psycopg

from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.features.record import FeatureSet
from asm_db.features.summary import SAMPLE_TILES, Summary, distance, summarize
from asm_db.features.vectors import sample_vectors


class FeaturesOutOfRange(AsmdbError):
    """A feature set's values lie far outside those a run was trained on."""


def check_feature_range(
    pg: psycopg.Connection,
    run_id: int,
    trained: FeatureSet,
    target: FeatureSet,
    *,
    force: bool = False,
) -> str | None:
    """Refuse `target` when a sample of its vectors lies far from run `run_id`'s training
    features (`asm_db.features.summary`), unless `force`; returns a note to show when the
    check could not be made or was overridden, else None."""
    row = pg.execute(load_sql("runs/model_run_feature_summary"), {"run_id": run_id}).fetchone()
    stored, code_version = row if row is not None else (None, None)
    if stored is None:
        return (
            f"run {run_id} has no feature summary (made by {code_version or 'asmdb'}, before "
            "runs recorded one): not checked"
        )
    vectors = sample_vectors(pg, target.feature_set_id, target.n_features, SAMPLE_TILES)
    far = distance(Summary.from_json(stored), summarize(vectors))
    if not far.far:
        return None
    why = (
        f"feature set '{target.name}' does not look like run {run_id}'s training features "
        f"(feature set '{trained.name}'): {far.describe()}; likely its pixels were scaled "
        "otherwise (`asmdb featurize --scale/--offset`) or come from another sensor"
    )
    if force:
        return f"{why}; mapped anyway (--force)"
    raise FeaturesOutOfRange(f"{why}; --force maps it anyway")
