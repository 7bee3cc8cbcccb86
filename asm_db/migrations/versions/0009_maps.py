"""Maps apart from runs: a map is (run, feature set) -> a probability per tile.

A run is a fitted, evaluated model; a map applies a run's model to every tile of one feature
set. `asmdb.maps` records each map (its run, feature set, counts, when it was made and when it
was promoted); `asmdb.predictions` is partitioned by map (`predictions_map_N`), keyed by
(map_id, tile_id). Promotion moves from runs to maps: `latest_predictions` shows the map
promoted last, and only a promoted map.

Existing runs and predictions migrate intact: each run with predictions becomes one map with
map_id = run_id, on the run's feature set, promoted when the run was. A database that showed a
never-promoted run (the newest, before any promotion) gets that run's map promoted, so the map
shown does not change with the upgrade.

The downgrade goes back to predictions partitioned by run, keeping for each run the map it made
on its own feature set (the newest, if several); maps made on other feature sets are dropped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"

# The views and function of revisions 0003-0006, restored on downgrade (`asmdb db upgrade`
# re-applies the current ones from sql/ at head).
PROMOTED_RUN_BY_RUN = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.promoted_run()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT run_id FROM {SCHEMA}.model_runs
    ORDER BY promoted_at DESC NULLS LAST, run_id DESC
    LIMIT 1
$$
"""
LATEST_BY_RUN = f"""
CREATE OR REPLACE VIEW {SCHEMA}.latest_predictions AS
SELECT p.tile_id, p.run_id, p.score, p.probability, p.geom
FROM {SCHEMA}.predictions AS p
WHERE p.run_id = {SCHEMA}.promoted_run()
"""


def _tile_id_type(bind) -> str:
    """The type of tiles.tile_id (int4 here, int8 once the grid revision has run)."""
    return bind.execute(
        text(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            f"WHERE attrelid = '{SCHEMA}.tiles'::regclass AND attname = 'tile_id'"
        )
    ).scalar_one()


def _rename_old_predictions() -> None:
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.latest_predictions")
    op.execute(f"ALTER TABLE {SCHEMA}.predictions RENAME TO predictions_old")
    op.execute(f"ALTER INDEX {SCHEMA}.predictions_pkey RENAME TO predictions_old_pkey")
    op.execute(f"ALTER INDEX {SCHEMA}.predictions_geom_idx RENAME TO predictions_old_geom_idx")
    bind = op.get_bind()
    partitions = bind.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            f"WHERE i.inhparent = '{SCHEMA}.predictions_old'::regclass"
        )
    ).scalars()
    # The new partitions take the old names' pattern; free them.
    for name in list(partitions):
        op.execute(f'ALTER TABLE {SCHEMA}."{name}" RENAME TO "{name}_old"')


def upgrade() -> None:
    bind = op.get_bind()
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.maps (
            map_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id integer NOT NULL
                REFERENCES {SCHEMA}.model_runs (run_id) ON DELETE CASCADE,
            feature_set_id integer NOT NULL
                REFERENCES {SCHEMA}.feature_sets (feature_set_id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            promoted_at timestamptz,
            tiles integer NOT NULL,
            counts jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            CONSTRAINT maps_map_run UNIQUE (map_id, run_id)
        )
        """
    )
    op.execute(f"CREATE INDEX maps_run_idx ON {SCHEMA}.maps (run_id)")
    op.execute(
        f"CREATE INDEX maps_promoted_idx ON {SCHEMA}.maps (promoted_at DESC, map_id DESC) "
        "WHERE promoted_at IS NOT NULL"
    )

    # The run shown before: promoted last, or (none promoted) the newest.
    shown = bind.execute(
        text(
            f"SELECT run_id FROM {SCHEMA}.model_runs "
            "ORDER BY promoted_at DESC NULLS LAST, run_id DESC LIMIT 1"
        )
    ).scalar()
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.maps
            (map_id, run_id, feature_set_id, created_at, promoted_at, tiles, counts)
        OVERRIDING SYSTEM VALUE
        SELECT r.run_id, r.run_id, r.feature_set_id, r.created_at, r.promoted_at, p.tiles,
               jsonb_build_object('tiles', p.tiles)
        FROM {SCHEMA}.model_runs AS r
        JOIN (SELECT run_id, count(*)::integer AS tiles FROM {SCHEMA}.predictions
              GROUP BY run_id) AS p USING (run_id)
        """
    )
    if shown is not None:
        op.execute(
            text(
                f"UPDATE {SCHEMA}.maps SET promoted_at = created_at "
                f"WHERE map_id = :shown AND NOT EXISTS "
                f"(SELECT 1 FROM {SCHEMA}.maps WHERE promoted_at IS NOT NULL)"
            ).bindparams(shown=shown)
        )
    next_id = bind.execute(text(f"SELECT coalesce(max(map_id), 0) + 1 FROM {SCHEMA}.maps")).scalar()
    op.execute(f"ALTER TABLE {SCHEMA}.maps ALTER COLUMN map_id RESTART WITH {int(next_id):d}")

    _rename_old_predictions()
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.predictions (
            map_id integer NOT NULL,
            run_id integer NOT NULL,
            tile_id bigint NOT NULL,
            score double precision NOT NULL,
            probability double precision NOT NULL,
            geom geometry(Polygon, 4326) NOT NULL,
            CONSTRAINT predictions_probability_range CHECK (probability BETWEEN 0 AND 1),
            CONSTRAINT predictions_pkey PRIMARY KEY (map_id, tile_id),
            CONSTRAINT predictions_map_fkey FOREIGN KEY (map_id, run_id)
                REFERENCES {SCHEMA}.maps (map_id, run_id) ON DELETE CASCADE
        ) PARTITION BY LIST (map_id)
        """
    )
    op.execute(f"CREATE INDEX predictions_geom_idx ON {SCHEMA}.predictions USING gist (geom)")
    maps = bind.execute(text(f"SELECT map_id FROM {SCHEMA}.maps ORDER BY map_id")).scalars()
    for map_id in list(maps):
        op.execute(
            f"CREATE TABLE {SCHEMA}.predictions_map_{map_id:d} PARTITION OF {SCHEMA}.predictions "
            f"FOR VALUES IN ({map_id:d})"
        )
        op.execute(
            f"INSERT INTO {SCHEMA}.predictions (map_id, run_id, tile_id, score, probability, geom) "
            f"SELECT run_id, run_id, tile_id, score, probability, geom "
            f"FROM {SCHEMA}.predictions_old WHERE run_id = {map_id:d}"
        )
    op.execute(f"DROP TABLE {SCHEMA}.predictions_old")  # and its partitions

    # Promotion belongs to maps now; the run shown is the promoted map's run.
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.promoted_run()")
    op.execute(f"ALTER TABLE {SCHEMA}.model_runs DROP COLUMN promoted_at")  # and its index


def downgrade() -> None:
    bind = op.get_bind()
    tile_id = _tile_id_type(bind)
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.latest_predictions")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.promoted_map()")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.promoted_run()")
    op.execute(f"ALTER TABLE {SCHEMA}.model_runs ADD COLUMN promoted_at timestamptz")
    op.execute(
        f"UPDATE {SCHEMA}.model_runs AS r SET promoted_at = m.promoted_at "
        f"FROM (SELECT run_id, max(promoted_at) AS promoted_at FROM {SCHEMA}.maps "
        "GROUP BY run_id) AS m WHERE m.run_id = r.run_id"
    )
    op.execute(
        f"CREATE INDEX model_runs_promoted_idx ON {SCHEMA}.model_runs "
        "(promoted_at DESC NULLS LAST, run_id DESC)"
    )

    # Each run keeps the newest map it made on its own feature set.
    kept = bind.execute(
        text(
            f"SELECT DISTINCT ON (m.run_id) m.run_id, m.map_id FROM {SCHEMA}.maps AS m "
            f"JOIN {SCHEMA}.model_runs AS r ON r.run_id = m.run_id "
            "AND r.feature_set_id = m.feature_set_id "
            "ORDER BY m.run_id, m.map_id DESC"
        )
    ).all()
    _rename_old_predictions()
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.predictions (
            run_id integer NOT NULL,
            tile_id {tile_id} NOT NULL,
            score double precision NOT NULL,
            probability double precision NOT NULL,
            geom geometry(Polygon, 4326) NOT NULL,
            CONSTRAINT predictions_probability_range CHECK (probability BETWEEN 0 AND 1),
            CONSTRAINT predictions_pkey PRIMARY KEY (run_id, tile_id),
            CONSTRAINT predictions_run_id_fkey FOREIGN KEY (run_id)
                REFERENCES {SCHEMA}.model_runs (run_id) ON DELETE CASCADE
        ) PARTITION BY LIST (run_id)
        """
    )
    op.execute(f"CREATE INDEX predictions_geom_idx ON {SCHEMA}.predictions USING gist (geom)")
    for run_id, map_id in kept:
        op.execute(
            f"CREATE TABLE {SCHEMA}.predictions_run_{run_id:d} PARTITION OF {SCHEMA}.predictions "
            f"FOR VALUES IN ({run_id:d})"
        )
        op.execute(
            f"INSERT INTO {SCHEMA}.predictions (run_id, tile_id, score, probability, geom) "
            f"SELECT run_id, tile_id, score, probability, geom "
            f"FROM {SCHEMA}.predictions_old WHERE map_id = {map_id:d}"
        )
    op.execute(f"DROP TABLE {SCHEMA}.predictions_old")
    op.execute(f"DROP TABLE {SCHEMA}.maps")
    op.execute(PROMOTED_RUN_BY_RUN)
    op.execute(LATEST_BY_RUN)
