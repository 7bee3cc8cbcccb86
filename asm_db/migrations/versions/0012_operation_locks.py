"""Operation locks only writers can take: one row per operation, locked FOR UPDATE.

Advisory locks, which any role that can connect may take, let a read-only user stall every
ingest and train; a row lock needs UPDATE rights on this table, which readers never get.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
OPERATIONS = ("ingest labels", "ingest features", "write run", "write map")


def upgrade() -> None:
    table = op.create_table(
        "operation_locks",
        sa.Column("name", sa.Text, primary_key=True),
        schema=SCHEMA,
    )
    op.bulk_insert(table, [{"name": name} for name in OPERATIONS])
    op.execute(
        f"COMMENT ON TABLE {SCHEMA}.operation_locks IS "
        "'One row per asmdb operation that must not overlap; writers lock it FOR UPDATE.'"
    )


def downgrade() -> None:
    op.drop_table("operation_locks", schema=SCHEMA)
