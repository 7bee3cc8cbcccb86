"""Review loop: the queue of tiles to check, and area estimates stored with each run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
STATUSES = ("pending", "confirmed", "rejected", "unclear")


def upgrade() -> None:
    # Imported here: every command loads the revision files to check the schema's revision,
    # and geoalchemy2 takes a fifth of a second to import.
    from geoalchemy2 import Geometry

    op.create_table(
        "review_queue",
        sa.Column("review_id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.model_runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tile_id", sa.Integer, nullable=False),
        sa.Column("stratum", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("probability", sa.Float(53), nullable=False),
        # For the stratified sample: the chance this tile had of being drawn (n_h / N_h).
        sa.Column("inclusion_probability", sa.Float(53)),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("reviewer", sa.Text),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("notes", sa.Text),
        sa.Column(
            "label_id", sa.Integer, sa.ForeignKey(f"{SCHEMA}.labels.label_id", ondelete="SET NULL")
        ),
        sa.Column(
            "geom",
            Geometry("POLYGON", srid=4326, spatial_index=False, nullable=False),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
            name="review_queue_status",
        ),
        sa.UniqueConstraint("run_id", "tile_id", "reason", name="review_queue_tile_once"),
        schema=SCHEMA,
    )
    op.create_index(
        "review_queue_geom_idx", "review_queue", ["geom"], schema=SCHEMA, postgresql_using="gist"
    )
    op.add_column("model_runs", sa.Column("area_estimate", pg.JSONB), schema=SCHEMA)


def downgrade() -> None:
    op.execute(
        "DELETE FROM public.layer_styles WHERE f_table_schema = 'asmdb' "
        "AND f_table_name = 'review_queue' AND stylename = 'asmdb'"
    )
    op.drop_column("model_runs", "area_estimate", schema=SCHEMA)
    op.drop_table("review_queue", schema=SCHEMA)
