"""Grids: the tile grid is a record, and every tile and feature set belongs to one.

`asmdb.grids` holds each grid's cell size and origin in EPSG:4326; grid 1 is the 0.01-degree
MOSAIKS grid from (-180, -90) every existing tile is on. A tile id names one cell of one grid:
the cells of grid g are numbered row by row from its origin and offset by (g - 1) * 2**40, so
grid 1 keeps the ids `asmdb.tile_id(lat, lon)` always gave, and `tile_id` becomes bigint in
every table that holds it (values unchanged). `asmdb.grid_tile_id(...)` is that formula in
SQL, the same as `asm_db.grid.Grid.tile_ids` in Python.

A tile's grid is read from its id (`grid_id`, a stored generated column of `tiles` and
`tile_features`), and each vector's (feature set, grid) must be a feature set's own pair, so
a feature set's vectors are on tiles of its grid by declaration, not by convention.

Changing `tile_id` to bigint rewrites `tile_features` (the vectors too): about as long as
loading them took.

Downgrade refuses while feature sets, tiles or maps of grids other than grid 1 exist (their ids
do not fit the old int4 keys); it says what to delete.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op
from sqlalchemy import text

from asm_db.errors import AsmdbError

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
GRID_ID_SHIFT = 2**40  # asm_db.grid.GRID_ID_SHIFT, fixed here as this revision made it
GRID_OF_TILE = "((tile_id >> 40) + 1)"
# Every column holding a tile id, besides tiles and tile_features (partitions follow their
# parent `predictions`).
OTHER_TILE_ID_TABLES = ("predictions", "run_evaluations", "review_queue")

# The views as revision 0006 had them (at head they come from sql/), restored on downgrade.
LABEL_TILES_0006 = f"""
CREATE VIEW {SCHEMA}.label_tiles AS
SELECT
    (l.label_id::bigint << 32) | t.tile_id::bigint AS label_tile_id,
    l.label_id, t.tile_id, l.unique_id, t.image_id, l.label, l.mine_type, l.confidence,
    l.proportion_inspected, l.sample_type, l.country, l.geom
FROM {SCHEMA}.labels AS l
CROSS JOIN LATERAL (
    SELECT t.tile_id, t.image_id FROM {SCHEMA}.tiles AS t
    WHERE ST_Intersects(l.geom, t.geom) OFFSET 0
) AS t
"""
LATEST_PREDICTIONS_0006 = f"""
CREATE VIEW {SCHEMA}.latest_predictions AS
SELECT p.tile_id, p.run_id, p.score, p.probability, p.geom
FROM {SCHEMA}.predictions AS p
WHERE p.run_id = {SCHEMA}.promoted_run()
"""
TILE_FEATURE_ARRAYS = f"""
CREATE VIEW {SCHEMA}.tile_feature_arrays AS
SELECT feature_set_id, tile_id, {SCHEMA}.feature_array(features) AS features
FROM {SCHEMA}.tile_features
"""


def _drop_views() -> None:
    # Views on tile_id pin its type. label_tiles and latest_predictions come back from sql/
    # when `asmdb db upgrade` reaches the head revision.
    for view in ("latest_predictions", "label_tiles", "tile_feature_arrays"):
        op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.{view}")


def upgrade() -> None:
    _drop_views()
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.grids (
            grid_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            cell_size double precision NOT NULL,
            origin_lon double precision NOT NULL,
            origin_lat double precision NOT NULL,
            srid integer NOT NULL DEFAULT 4326,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT grids_definition_once UNIQUE (cell_size, origin_lon, origin_lat, srid),
            -- NaN sorts above infinity in PostgreSQL, so this refuses NaN and infinity too.
            CONSTRAINT grids_cell_size_positive_finite
                CHECK (cell_size > 0 AND cell_size < 'Infinity'::float8),
            -- Every longitude and latitude is east and north of the origin: no negative cell.
            CONSTRAINT grids_origin CHECK (
                origin_lon <= -180 AND origin_lon > -540 AND origin_lat <= -90 AND origin_lat > -270
            ),
            CONSTRAINT grids_srid CHECK (srid = 4326),
            -- The cells of a grid fit in its 2**40 ids, and its ids in a bigint.
            CONSTRAINT grids_cells_fit CHECK (
                (round((90 - origin_lat) / cell_size) + 1)
                    * (round((180 - origin_lon) / cell_size) + 1) <= {GRID_ID_SHIFT}::float8
            ),
            CONSTRAINT grids_id_fits CHECK (grid_id BETWEEN 1 AND 8388607)
        )
        """
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.grids (cell_size, origin_lon, origin_lat) VALUES (0.01, -180, -90)"
    )
    op.execute(f"COMMENT ON TABLE {SCHEMA}.grids IS 'Tile grids: square cells in EPSG:4326.'")

    # The one formula (asm_db.grid.Grid.tile_ids): coordinates rounded to a tenth of a cell,
    # then the cell's row and column from the origin, row by row, offset by the grid's id.
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.grid_tile_id(
            grid_id integer, cell_size double precision, origin_lon double precision,
            origin_lat double precision, lat double precision, lon double precision
        ) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN (grid_id - 1)::bigint * {GRID_ID_SHIFT}
            + floor(round((lat - origin_lat) * (10 / cell_size)) / 10)::bigint
              * (round((180 - origin_lon) / cell_size)::bigint + 1)
            + floor(round((lon - origin_lon) * (10 / cell_size)) / 10)::bigint
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.grid_tile_id(grid integer, lat double precision,
                                              lon double precision)
        RETURNS bigint LANGUAGE sql STABLE STRICT PARALLEL SAFE
        RETURN (SELECT {SCHEMA}.grid_tile_id(g.grid_id, g.cell_size, g.origin_lon, g.origin_lat,
                                              lat, lon)
                FROM {SCHEMA}.grids AS g WHERE g.grid_id = grid)
        """
    )
    op.execute(f"DROP FUNCTION {SCHEMA}.tile_id(double precision, double precision)")
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.tile_id(lat double precision, lon double precision)
        RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN {SCHEMA}.grid_tile_id(1, 0.01, -180, -90, lat, lon)
        """
    )

    op.execute(
        f"""
        ALTER TABLE {SCHEMA}.feature_sets
            ADD COLUMN grid_id integer NOT NULL DEFAULT 1
                REFERENCES {SCHEMA}.grids (grid_id),
            ADD CONSTRAINT feature_sets_grid UNIQUE (feature_set_id, grid_id)
        """
    )
    op.execute(f"ALTER TABLE {SCHEMA}.feature_sets ALTER COLUMN grid_id DROP DEFAULT")
    op.execute(
        f"""
        ALTER TABLE {SCHEMA}.tiles
            ALTER COLUMN tile_id TYPE bigint,
            ADD COLUMN grid_id integer NOT NULL GENERATED ALWAYS AS {GRID_OF_TILE} STORED
        """
    )
    op.execute(
        f"ALTER TABLE {SCHEMA}.tiles ADD CONSTRAINT tiles_grid_id_fkey "
        f"FOREIGN KEY (grid_id) REFERENCES {SCHEMA}.grids (grid_id)"
    )
    # One rewrite of tile_features for both changes.
    op.execute(
        f"""
        ALTER TABLE {SCHEMA}.tile_features
            ALTER COLUMN tile_id TYPE bigint,
            ADD COLUMN grid_id integer NOT NULL GENERATED ALWAYS AS {GRID_OF_TILE} STORED,
            DROP CONSTRAINT tile_features_feature_set_id_fkey
        """
    )
    op.execute(
        f"""
        ALTER TABLE {SCHEMA}.tile_features ADD CONSTRAINT tile_features_feature_set_grid_fkey
            FOREIGN KEY (feature_set_id, grid_id)
            REFERENCES {SCHEMA}.feature_sets (feature_set_id, grid_id) ON DELETE CASCADE
        """
    )
    for table in OTHER_TILE_ID_TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ALTER COLUMN tile_id TYPE bigint")
    op.execute(TILE_FEATURE_ARRAYS)


def _refuse_other_grids() -> None:
    bind = op.get_bind()
    counts = bind.execute(
        text(
            f"""
            SELECT (SELECT count(*) FROM {SCHEMA}.feature_sets WHERE grid_id <> 1),
                   (SELECT count(*) FROM {SCHEMA}.tiles WHERE grid_id <> 1),
                   (SELECT count(*) FROM {SCHEMA}.predictions WHERE tile_id > 2147483647)
                 + (SELECT count(*) FROM {SCHEMA}.run_evaluations WHERE tile_id > 2147483647)
                 + (SELECT count(*) FROM {SCHEMA}.review_queue WHERE tile_id > 2147483647)
            """
        )
    ).one()
    if any(counts):
        feature_sets, tiles, rows = counts
        raise AsmdbError(
            f"cannot downgrade below revision 0007: {feature_sets} feature sets, {tiles} tiles "
            f"and {rows} prediction, evaluation or review rows are on grids other than grid 1 "
            "(0.01 degrees), whose tile ids the older schema cannot hold; delete them first "
            "(DELETE FROM asmdb.feature_sets WHERE grid_id <> 1; "
            "DELETE FROM asmdb.tiles WHERE grid_id <> 1)"
        )


def downgrade() -> None:
    _refuse_other_grids()
    _drop_views()
    for table in OTHER_TILE_ID_TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ALTER COLUMN tile_id TYPE integer")
    op.execute(
        f"""
        ALTER TABLE {SCHEMA}.tile_features
            DROP CONSTRAINT tile_features_feature_set_grid_fkey,
            DROP COLUMN grid_id,
            ALTER COLUMN tile_id TYPE integer,
            ADD CONSTRAINT tile_features_feature_set_id_fkey FOREIGN KEY (feature_set_id)
                REFERENCES {SCHEMA}.feature_sets (feature_set_id) ON DELETE CASCADE
        """
    )
    op.execute(f"ALTER TABLE {SCHEMA}.tiles DROP COLUMN grid_id, ALTER COLUMN tile_id TYPE integer")
    op.execute(
        f"ALTER TABLE {SCHEMA}.feature_sets DROP CONSTRAINT feature_sets_grid, DROP COLUMN grid_id"
    )
    op.execute(f"DROP FUNCTION {SCHEMA}.tile_id(double precision, double precision)")
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.tile_id(lat double precision, lon double precision)
        RETURNS integer LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN ((round((lat + 90) * 1000)::bigint / 10) * 36001
                + round((lon + 180) * 1000)::bigint / 10)::integer
        """
    )
    op.execute(f"DROP FUNCTION {SCHEMA}.grid_tile_id(integer, double precision, double precision)")
    op.execute(
        f"DROP FUNCTION {SCHEMA}.grid_tile_id(integer, double precision, double precision, "
        "double precision, double precision, double precision)"
    )
    op.execute(f"DROP TABLE {SCHEMA}.grids")
    op.execute(TILE_FEATURE_ARRAYS)
    op.execute(LABEL_TILES_0006)
    op.execute(LATEST_PREDICTIONS_0006)
