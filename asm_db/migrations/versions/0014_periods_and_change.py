"""Monitoring: one promoted map per period, and change maps between two maps.

- A map's period is its feature set's (`period_start`, `period_end`). `asmdb maps promote`
  promotes a map within its period: `asmdb.promoted_maps()` is the promoted map of every
  period, `asmdb.promoted_map()` the one of the newest period (dated periods before undated
  ones), which `latest_predictions` shows; `asmdb.maps_by_period` shows them all.
- `asmdb.predictions.map_tile_id` (int8, from a sequence) is a key unique across maps, the
  key of `maps_by_period` for QGIS and tipg.
- `asmdb.changes` records each change map (`asmdb change --from A --to B`): its maps, threshold,
  minimum difference and per-class counts; `asmdb.change_tiles`, partitioned by change
  (`change_tiles_N`), holds one row per tile with both probabilities, their difference, the
  class and the tile's area on the ellipsoid. `asmdb.latest_change` shows the newest change.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
CHANGE_CLASSES = ("new", "gone", "persistent", "absent", "no_data")

# promoted_map() of revisions 0009-0013, restored on downgrade.
PROMOTED_LAST = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.promoted_map()
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT map_id FROM {SCHEMA}.maps
    WHERE promoted_at IS NOT NULL
    ORDER BY promoted_at DESC, map_id DESC
    LIMIT 1
$$
"""


def upgrade() -> None:
    op.execute(f"CREATE SEQUENCE {SCHEMA}.map_tile_id_seq AS bigint")
    # Every partition gets its keys here (a rewrite); new partitions take the default through
    # CREATE TABLE ... (LIKE asmdb.predictions INCLUDING DEFAULTS).
    op.execute(
        f"ALTER TABLE {SCHEMA}.predictions ADD COLUMN map_tile_id bigint NOT NULL "
        f"DEFAULT nextval('{SCHEMA}.map_tile_id_seq')"
    )
    op.execute(f"ALTER SEQUENCE {SCHEMA}.map_tile_id_seq OWNED BY {SCHEMA}.predictions.map_tile_id")
    # QGIS and tipg fetch maps_by_period's features by this key.
    op.execute(f"CREATE INDEX predictions_map_tile_id_idx ON {SCHEMA}.predictions (map_tile_id)")
    op.execute(
        f"COMMENT ON COLUMN {SCHEMA}.predictions.map_tile_id IS "
        "'Unique across maps: the key of asmdb.maps_by_period.'"
    )
    classes = ", ".join(f"'{c}'" for c in CHANGE_CLASSES)
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.changes (
            change_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            from_map integer NOT NULL REFERENCES {SCHEMA}.maps (map_id) ON DELETE CASCADE,
            to_map integer NOT NULL REFERENCES {SCHEMA}.maps (map_id) ON DELETE CASCADE,
            threshold double precision NOT NULL,
            min_delta double precision NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            classes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            zones jsonb,
            CONSTRAINT changes_threshold_range CHECK (threshold > 0 AND threshold <= 1),
            CONSTRAINT changes_min_delta_range CHECK (min_delta >= 0 AND min_delta <= 1),
            CONSTRAINT changes_two_maps CHECK (from_map <> to_map)
        )
        """
    )
    op.execute(f"CREATE INDEX changes_from_idx ON {SCHEMA}.changes (from_map)")
    op.execute(f"CREATE INDEX changes_to_idx ON {SCHEMA}.changes (to_map)")
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.change_tiles (
            change_id integer NOT NULL
                REFERENCES {SCHEMA}.changes (change_id) ON DELETE CASCADE,
            tile_id bigint NOT NULL,
            p_from double precision,
            p_to double precision,
            delta double precision,
            class text NOT NULL,
            area_km2 double precision NOT NULL,
            geom geometry(Polygon, 4326) NOT NULL,
            CONSTRAINT change_tiles_class CHECK (class IN ({classes})),
            CONSTRAINT change_tiles_pkey PRIMARY KEY (change_id, tile_id)
        ) PARTITION BY LIST (change_id)
        """
    )
    op.execute(f"CREATE INDEX change_tiles_geom_idx ON {SCHEMA}.change_tiles USING gist (geom)")
    op.execute(
        f"COMMENT ON TABLE {SCHEMA}.change_tiles IS "
        "'Change maps, one partition per change (change_tiles_N); class: new, gone, "
        "persistent, absent, no_data; area_km2 on the ellipsoid.'"
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.latest_change")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.latest_change_id()")
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.maps_by_period")
    op.execute(PROMOTED_LAST)
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.promoted_maps()")
    op.execute(f"DROP TABLE {SCHEMA}.change_tiles")
    op.execute(f"DROP TABLE {SCHEMA}.changes")
    op.execute(f"ALTER TABLE {SCHEMA}.predictions DROP COLUMN map_tile_id")
