"""Predictions partitioned by run: one partition per run, written whole and attached.

A run's predictions are one partition (`asmdb.predictions_run_N`), loaded before its indexes
are built and attached in the run's transaction. Queries that name a run, and the promoted
run behind `latest_predictions`, read that partition only, so a map's bbox query does not
grow with the number of runs kept; dropping a run's partition frees its rows at once.
The keys (run_id, tile_id) keep tile_id, the distribution column of docs/scaling.md.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from alembic import op
from sqlalchemy import text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
COLUMNS = """
    run_id integer NOT NULL,
    tile_id integer NOT NULL,
    score double precision NOT NULL,
    probability double precision NOT NULL,
    geom geometry(Polygon, 4326) NOT NULL,
    CONSTRAINT predictions_probability_range CHECK (probability BETWEEN 0 AND 1)
"""


def _rename_old() -> None:
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.latest_predictions")  # re-created at head
    op.execute(f"ALTER TABLE {SCHEMA}.predictions RENAME TO predictions_old")
    op.execute(f"ALTER INDEX {SCHEMA}.predictions_pkey RENAME TO predictions_old_pkey")
    op.execute(f"ALTER INDEX {SCHEMA}.predictions_geom_idx RENAME TO predictions_old_geom_idx")


def _create(partitioning: str) -> None:
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.predictions ({COLUMNS},
            CONSTRAINT predictions_pkey PRIMARY KEY (run_id, tile_id),
            CONSTRAINT predictions_run_id_fkey FOREIGN KEY (run_id)
                REFERENCES {SCHEMA}.model_runs (run_id) ON DELETE CASCADE
        ) {partitioning}
        """
    )
    op.execute(f"CREATE INDEX predictions_geom_idx ON {SCHEMA}.predictions USING gist (geom)")


def upgrade() -> None:
    _rename_old()
    _create("PARTITION BY LIST (run_id)")
    bind = op.get_bind()
    runs = bind.execute(text(f"SELECT DISTINCT run_id FROM {SCHEMA}.predictions_old")).scalars()
    for run_id in list(runs):
        op.execute(
            f"CREATE TABLE {SCHEMA}.predictions_run_{run_id:d} PARTITION OF {SCHEMA}.predictions "
            f"FOR VALUES IN ({run_id:d})"
        )
        op.execute(
            f"INSERT INTO {SCHEMA}.predictions SELECT run_id, tile_id, score, probability, geom "
            f"FROM {SCHEMA}.predictions_old WHERE run_id = {run_id:d}"
        )
    op.execute(f"DROP TABLE {SCHEMA}.predictions_old")


def downgrade() -> None:
    _rename_old()
    _create("")
    op.execute(
        f"INSERT INTO {SCHEMA}.predictions SELECT run_id, tile_id, score, probability, geom "
        f"FROM {SCHEMA}.predictions_old"
    )
    op.execute(f"DROP TABLE {SCHEMA}.predictions_old")  # and every partition with it
