"""Change review: a stratified sample of a change map's classes in the review queue, and the
change's area estimate.

- `asmdb.review_queue.change_id` names the change of a change sample row (reason
  'change sample', stratum its change class); map rows have none. A change row is answered
  for each period: `answer_from` and `answer_to` (confirmed = mined in that period, rejected =
  not mined, unclear); `reference_class` (new, gone, persistent, absent) follows from the two.
- A queue row is unique per run, tile, reason and change (a map row has no change).
- `asmdb.changes.area_estimate`: the last `asmdb review estimate --change` of the change.

Downgrading removes the change sample rows with their answers.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
ANSWERS = "('confirmed', 'rejected', 'unclear')"
CHANGE_SAMPLE = "change sample"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE {SCHEMA}.review_queue
            ADD COLUMN change_id integer
                REFERENCES {SCHEMA}.changes (change_id) ON DELETE CASCADE,
            ADD COLUMN answer_from text,
            ADD COLUMN answer_to text,
            ADD COLUMN reference_class text GENERATED ALWAYS AS (
                CASE
                    WHEN answer_from = 'rejected' AND answer_to = 'confirmed' THEN 'new'
                    WHEN answer_from = 'confirmed' AND answer_to = 'rejected' THEN 'gone'
                    WHEN answer_from = 'confirmed' AND answer_to = 'confirmed' THEN 'persistent'
                    WHEN answer_from = 'rejected' AND answer_to = 'rejected' THEN 'absent'
                END
            ) STORED,
            ADD CONSTRAINT review_queue_answer_from CHECK (answer_from IN {ANSWERS}),
            ADD CONSTRAINT review_queue_answer_to CHECK (answer_to IN {ANSWERS}),
            ADD CONSTRAINT review_queue_change_rows CHECK (
                (change_id IS NOT NULL) = (reason = '{CHANGE_SAMPLE}')
                AND (change_id IS NOT NULL OR (answer_from IS NULL AND answer_to IS NULL))
            )
        """
    )
    op.execute(f"CREATE INDEX review_queue_change_idx ON {SCHEMA}.review_queue (change_id)")
    op.execute(f"ALTER TABLE {SCHEMA}.review_queue DROP CONSTRAINT review_queue_tile_once")
    op.execute(
        f"ALTER TABLE {SCHEMA}.review_queue ADD CONSTRAINT review_queue_tile_once "
        "UNIQUE NULLS NOT DISTINCT (run_id, tile_id, reason, change_id)"
    )
    op.execute(
        f"COMMENT ON COLUMN {SCHEMA}.review_queue.reference_class IS "
        "'A change sample row''s class in the imagery of both periods: new, gone, persistent, "
        "absent (from answer_from and answer_to).'"
    )
    op.execute(f"ALTER TABLE {SCHEMA}.changes ADD COLUMN area_estimate jsonb")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.changes DROP COLUMN area_estimate")
    op.execute(f"DELETE FROM {SCHEMA}.review_queue WHERE change_id IS NOT NULL")
    op.execute(f"ALTER TABLE {SCHEMA}.review_queue DROP CONSTRAINT review_queue_tile_once")
    op.execute(
        f"ALTER TABLE {SCHEMA}.review_queue ADD CONSTRAINT review_queue_tile_once "
        "UNIQUE (run_id, tile_id, reason)"
    )
    op.execute(
        f"ALTER TABLE {SCHEMA}.review_queue DROP CONSTRAINT review_queue_change_rows, "
        "DROP CONSTRAINT review_queue_answer_from, DROP CONSTRAINT review_queue_answer_to, "
        "DROP COLUMN reference_class, "
        "DROP COLUMN answer_from, DROP COLUMN answer_to, DROP COLUMN change_id"
    )
