"""Labels carry the date they were observed (`observed_at`), so a model for one period can be
trained on the labels seen near it (`asmdb train --observed-within DAYS`).

`asmdb.filtered_labels()` gains the window of dates (`observed_from`, `observed_to`, both
NULL by default) in its replaceable file, which drops the three-argument function; the
downgrade restores that function.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"

# filtered_labels() of revisions 0001-0012, restored on downgrade.
FILTERED_LABELS_0012 = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.filtered_labels(
    min_proportion_inspected double precision DEFAULT 0.2,
    exclude_mine_types text[] DEFAULT ARRAY['commercial'],
    min_confidence double precision DEFAULT 3
)
RETURNS SETOF {SCHEMA}.labels
LANGUAGE sql STABLE
AS $$
    SELECT *
    FROM {SCHEMA}.labels AS l
    WHERE (coalesce(l.proportion_inspected >= min_proportion_inspected, false) OR l.label = 1)
      AND (l.mine_type IS NULL OR l.mine_type <> ALL (exclude_mine_types))
      AND coalesce(l.confidence >= min_confidence, false)
$$
"""


def upgrade() -> None:
    op.add_column("labels", sa.Column("observed_at", sa.Date), schema=SCHEMA)
    op.execute(
        f"COMMENT ON COLUMN {SCHEMA}.labels.observed_at IS "
        "'When the label was observed in the field or on imagery (NULL: unknown).'"
    )


def downgrade() -> None:
    op.execute(
        f"DROP FUNCTION IF EXISTS {SCHEMA}.filtered_labels("
        "double precision, text[], double precision, date, date)"
    )
    op.drop_column("labels", "observed_at", schema=SCHEMA)
    op.execute(FILTERED_LABELS_0012)
