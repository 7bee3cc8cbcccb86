"""Feature set provenance: where a set's vectors came from, its period, and whether it is whole.

`provenance` (jsonb) holds the method and every parameter of `asmdb featurize`, the filter bank
itself (so the same filters can featurize another period), bands and scaling, the imagery read
and the tiles done and skipped; for an ingested file, the file and its sha256. `source` names
the product (e.g. mosaiks-planet-2019q3); `period_start`/`period_end` the dates the imagery
shows. `complete` is false while `asmdb featurize` is still committing batches: training and
prediction refuse such a set.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"


def upgrade() -> None:
    op.add_column(
        "feature_sets",
        sa.Column("provenance", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema=SCHEMA,
    )
    op.add_column("feature_sets", sa.Column("source", sa.Text), schema=SCHEMA)
    op.add_column("feature_sets", sa.Column("period_start", sa.Date), schema=SCHEMA)
    op.add_column("feature_sets", sa.Column("period_end", sa.Date), schema=SCHEMA)
    op.add_column(
        "feature_sets",
        sa.Column("complete", sa.Boolean, nullable=False, server_default=sa.true()),
        schema=SCHEMA,
    )
    op.create_check_constraint(
        "feature_sets_period_order",
        "feature_sets",
        "period_start IS NULL OR period_end IS NULL OR period_start <= period_end",
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_constraint("feature_sets_period_order", "feature_sets", schema=SCHEMA)
    for column in ("complete", "period_end", "period_start", "source", "provenance"):
        op.drop_column("feature_sets", column, schema=SCHEMA)
