"""Run history: promotion, protocol and model, data fingerprint, evaluation rows, importances.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
# The view as revisions 0001-0002 had it, restored on downgrade.
LATEST_BY_RUN_ID = f"""
CREATE OR REPLACE VIEW {SCHEMA}.latest_predictions AS
SELECT p.tile_id, p.run_id, p.score, p.probability, p.geom
FROM {SCHEMA}.predictions AS p
WHERE p.run_id = (SELECT max(run_id) FROM {SCHEMA}.model_runs)
"""


def upgrade() -> None:
    # label_tiles gains a unique key as its first column (QGIS needs one on every layer); a
    # view's columns cannot be reordered in place, so `asmdb db upgrade` makes it anew.
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.label_tiles")
    # The run latest_predictions shows is the one promoted last; a new run is promoted by
    # default, `asmdb runs promote ID` promotes an older one again.
    op.add_column("model_runs", sa.Column("promoted_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.model_runs SET promoted_at = created_at")
    op.create_index(
        "model_runs_promoted_idx",
        "model_runs",
        [sa.text("promoted_at DESC NULLS LAST"), sa.text("run_id DESC")],
        schema=SCHEMA,
    )
    op.add_column("model_runs", sa.Column("protocol", sa.Text), schema=SCHEMA)
    op.add_column("model_runs", sa.Column("model_name", sa.Text), schema=SCHEMA)
    op.add_column("model_runs", sa.Column("data_fingerprint", sa.Text), schema=SCHEMA)
    op.add_column("model_runs", sa.Column("code_version", sa.Text), schema=SCHEMA)
    op.add_column("model_runs", sa.Column("feature_importance", pg.ARRAY(sa.REAL)), schema=SCHEMA)
    op.add_column("model_runs", sa.Column("importance_method", sa.Text), schema=SCHEMA)
    op.execute(
        f"UPDATE {SCHEMA}.model_runs SET protocol = 'seed', model_name = 'ridge' "
        "WHERE protocol IS NULL"
    )

    # The rows each run was scored on, with the fold that held them out: the evidence behind
    # its metrics, and what its report's curves are drawn from.
    op.create_table(
        "run_evaluations",
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.model_runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("label_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tile_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("fold", sa.SmallInteger, nullable=False),
        sa.Column("label", sa.SmallInteger, nullable=False),
        sa.Column("score", sa.Float(53), nullable=False),
        sa.Column("raw_probability", sa.Float(53), nullable=False),
        sa.Column("probability", sa.Float(53), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("run_evaluations", schema=SCHEMA)
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.latest_predictions")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.promoted_run()")
    for column in (
        "importance_method",
        "feature_importance",
        "code_version",
        "data_fingerprint",
        "model_name",
        "protocol",
    ):
        op.drop_column("model_runs", column, schema=SCHEMA)
    op.drop_index("model_runs_promoted_idx", "model_runs", schema=SCHEMA)
    op.drop_column("model_runs", "promoted_at", schema=SCHEMA)
    op.execute(LATEST_BY_RUN_ID)
