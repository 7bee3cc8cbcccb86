"""Labels carry the date they were observed (`observed_at`), so a model for one period can be
trained on the labels seen near it (`asmdb train --observed-within DAYS`).

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


def upgrade() -> None:
    op.add_column("labels", sa.Column("observed_at", sa.Date), schema=SCHEMA)
    op.execute(
        f"COMMENT ON COLUMN {SCHEMA}.labels.observed_at IS "
        "'When the label was observed in the field or on imagery (NULL: unknown).'"
    )


def downgrade() -> None:
    op.drop_column("labels", "observed_at", schema=SCHEMA)
