"""Review plans: the per-stratum sample sizes `asmdb review plan` computed to reach a target
standard error of one class's area, kept so that `asmdb review queue --plan` draws them and
`asmdb review queue --extend N` knows each stratum's shortfall.

A plan is of a change (change_id) or of a map (map_id), never both; it goes with its change or
map. The last plan made for a change or map is the one drawn.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-09
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"

TABLE = (
    "Sample plans (asmdb review plan): per-stratum sample sizes that reach a target standard "
    "error of one class's area; the last of a change or map is drawn by review queue --plan."
)
COLUMNS = {
    "plan_id": "The plan's number; the highest of a change or map is its last.",
    "change_id": "The change whose sample is planned (null for a map's plan).",
    "map_id": "The map whose sample is planned (null for a change's plan).",
    "class": "The class whose area the target is for (new, gone, ...; asm for a map).",
    "target_se_km2": "The standard error of that class's area the plan aims at, km2.",
    "expected_se_km2": "The standard error the planned sample sizes are expected to give, km2.",
    "sample_sizes": "Tiles to draw per stratum, as JSON {stratum: tiles}.",
    "plan": "The whole plan as `asmdb review plan --json` prints it: strata, anticipated "
    "user's accuracies and where each came from.",
    "created_at": "When the plan was made.",
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.review_plans (
            plan_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            change_id integer REFERENCES {SCHEMA}.changes (change_id) ON DELETE CASCADE,
            map_id integer REFERENCES {SCHEMA}.maps (map_id) ON DELETE CASCADE,
            class text NOT NULL,
            target_se_km2 double precision NOT NULL CHECK (target_se_km2 > 0),
            expected_se_km2 double precision,
            sample_sizes jsonb NOT NULL,
            plan jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT review_plans_of_one CHECK ((change_id IS NULL) <> (map_id IS NULL))
        )
        """
    )
    op.execute(f"CREATE INDEX review_plans_change_idx ON {SCHEMA}.review_plans (change_id)")
    op.execute(f"CREATE INDEX review_plans_map_idx ON {SCHEMA}.review_plans (map_id)")
    op.execute(f"COMMENT ON TABLE {SCHEMA}.review_plans IS {_literal(TABLE)}")
    for column, text in COLUMNS.items():
        op.execute(f"COMMENT ON COLUMN {SCHEMA}.review_plans.{column} IS {_literal(text)}")


def downgrade() -> None:
    op.execute(f"DROP TABLE {SCHEMA}.review_plans")
