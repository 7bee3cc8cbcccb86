"""Stored models as `asmdb-model/1`: every run's joblib pickle becomes plain arrays.

Each run whose `model_format` is one of the joblib formats asmdb wrote is read with the
restricted unpickler of `asm_db.migrations.legacy_pickle` (only the numpy and scikit-learn classes
these models are made of, and asmdb's model class under each path it ever had; nothing else is
imported or called) and written again by `asm_db.runs.model_store`; runs already in the new
format are checked. A run whose pickle names anything else, or whose format asmdb never wrote,
stops the upgrade with a message naming the run, and the transaction leaves the database as it
was. Downgrade writes each run back as the joblib pickle of
`asm_db.modeling.protocols.CalibratedClassifier`, with scikit-learn estimators rebuilt from the
arrays (their predictions are the stored model's; what prediction does not use, such as the
trees' impurities, is not kept). joblib, which scikit-learn itself requires, writes them; asmdb
imports it nowhere else.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from alembic import op
from sqlalchemy import text

from asm_db.errors import AsmdbError

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

RUN_IDS = "SELECT run_id FROM asmdb.model_runs ORDER BY run_id"
RUN_MODEL = (
    "SELECT r.model, r.model_format, fs.feature_names FROM asmdb.model_runs r "
    "JOIN asmdb.feature_sets fs USING (feature_set_id) WHERE r.run_id = :run_id"
)
SAVE_MODEL = (
    "UPDATE asmdb.model_runs SET model = :model, model_format = :format WHERE run_id = :run_id"
)
JOBLIB_FORMAT = "joblib:asm_db.modeling.protocols.CalibratedClassifier"


def _runs(bind):
    """Each run's id, model bytes, format and feature names, one run in memory at a time."""
    for run_id in list(bind.execute(text(RUN_IDS)).scalars()):
        model, model_format, names = bind.execute(text(RUN_MODEL), {"run_id": run_id}).one()
        yield run_id, bytes(model), model_format, list(names)


def upgrade() -> None:
    from asm_db.migrations import legacy_pickle
    from asm_db.runs import model_store

    bind = op.get_bind()
    for run_id, data, model_format, feature_names in _runs(bind):
        if model_format == model_store.FORMAT:
            try:
                model_store.decode(data, model_format)
            except model_store.ModelFormatError as exc:
                raise AsmdbError(f"run {run_id}: its stored model is refused: {exc}") from None
            continue
        if model_format not in legacy_pickle.LEGACY_FORMATS:
            raise AsmdbError(
                f"run {run_id}: model_format {model_format!r} is not one asmdb wrote; "
                "its model is not read"
            )
        try:
            legacy = legacy_pickle.load_legacy_model(data)
            legacy.feature_names = list(legacy.feature_names or feature_names)
            converted = model_store.encode(legacy)
        except (legacy_pickle.LegacyPickleRefused, model_store.ModelFormatError) as exc:
            raise AsmdbError(
                f"run {run_id}: its stored pickle is refused, nothing was run: {exc}"
            ) from None
        bind.execute(
            text(SAVE_MODEL), {"model": converted, "format": model_store.FORMAT, "run_id": run_id}
        )


def downgrade() -> None:
    from asm_db.migrations import legacy_pickle
    from asm_db.runs import model_store

    bind = op.get_bind()
    for run_id, data, model_format, _ in _runs(bind):
        if model_format != model_store.FORMAT:
            continue
        try:
            stored = model_store.decode(data, model_format)
        except model_store.ModelFormatError as exc:
            raise AsmdbError(f"run {run_id}: its stored model is refused: {exc}") from None
        bind.execute(
            text(SAVE_MODEL),
            {
                "model": legacy_pickle.dump_legacy_model(stored),
                "format": JOBLIB_FORMAT,
                "run_id": run_id,
            },
        )
