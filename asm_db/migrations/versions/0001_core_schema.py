"""Core schema: labels, tiles, feature sets, model runs, predictions.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "asmdb"


def _timestamp() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    # Imported here: every command loads the revision files to check the schema's revision,
    # and geoalchemy2 takes a fifth of a second to import.
    from geoalchemy2 import Geometry

    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    # The grid cell of a 0.01-degree tile centre, as a stable int4 (QGIS's feature id equals an
    # int4 key). Centres are rounded to a thousandth of a degree first so 8.125 and
    # 8.125000000001 name the same cell; 36001 columns leave room for lon = 180.
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.tile_id(lat double precision, lon double precision)
        RETURNS integer LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN ((round((lat + 90) * 1000)::bigint / 10) * 36001
                + round((lon + 180) * 1000)::bigint / 10)::integer
        """
    )

    op.create_table(
        "labels",
        sa.Column("label_id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("unique_id", sa.Text, nullable=False, unique=True),
        sa.Column("lon", sa.Float(53), nullable=False),
        sa.Column("lat", sa.Float(53), nullable=False),
        sa.Column("country", sa.Text),
        sa.Column("sample_type", sa.Text),
        sa.Column("mine_type", sa.Text),
        sa.Column("confidence", sa.Float(53)),
        sa.Column("label", sa.SmallInteger, nullable=False),
        sa.Column("proportion_inspected", sa.Float(53)),
        sa.Column("extra", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("source_file", sa.Text),
        sa.Column(
            "ingested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "geom",
            Geometry("POINT", srid=4326, spatial_index=False, nullable=False),
            nullable=False,
        ),
        sa.CheckConstraint("label IN (0, 1)", name="labels_label_binary"),
        sa.CheckConstraint(
            "lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="labels_lonlat"
        ),
        schema=SCHEMA,
    )
    op.create_index("labels_geom_idx", "labels", ["geom"], schema=SCHEMA, postgresql_using="gist")

    op.create_table(
        "feature_sets",
        sa.Column("feature_set_id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("n_features", sa.Integer, nullable=False),
        sa.Column("feature_names", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("tile_half_size", sa.Float(53), nullable=False),
        _timestamp(),
        sa.CheckConstraint("n_features > 0 AND cardinality(feature_names) = n_features"),
        sa.CheckConstraint("tile_half_size > 0"),
        schema=SCHEMA,
    )

    op.create_table(
        "tiles",
        sa.Column("tile_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("image_id", sa.Text),
        sa.Column("lat", sa.Float(53), nullable=False),
        sa.Column("lon", sa.Float(53), nullable=False),
        sa.Column(
            "geom",
            Geometry("POLYGON", srid=4326, spatial_index=False, nullable=False),
            nullable=False,
        ),
        schema=SCHEMA,
    )
    op.create_index("tiles_geom_idx", "tiles", ["geom"], schema=SCHEMA, postgresql_using="gist")

    op.create_table(
        "tile_features",
        sa.Column(
            "feature_set_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.feature_sets.feature_set_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "tile_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.tiles.tile_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("features", pg.ARRAY(sa.REAL), nullable=False),
        schema=SCHEMA,
    )
    # Random convolutional features do not compress: skip pglz, keep them out of line.
    op.execute(f"ALTER TABLE {SCHEMA}.tile_features ALTER COLUMN features SET STORAGE EXTERNAL")
    op.create_index("tile_features_tile_idx", "tile_features", ["tile_id"], schema=SCHEMA)

    op.create_table(
        "model_runs",
        sa.Column("run_id", sa.Integer, sa.Identity(), primary_key=True),
        _timestamp(),
        sa.Column(
            "feature_set_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.feature_sets.feature_set_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("parameters", pg.JSONB, nullable=False),
        sa.Column("metrics", pg.JSONB, nullable=False),
        sa.Column("counts", pg.JSONB, nullable=False),
        sa.Column("model", sa.LargeBinary, nullable=False),
        sa.Column("model_format", sa.Text, nullable=False),
        sa.Column("library_versions", pg.JSONB, nullable=False),
        schema=SCHEMA,
    )

    op.create_table(
        "predictions",
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.model_runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tile_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("score", sa.Float(53), nullable=False),
        sa.Column("probability", sa.Float(53), nullable=False),
        sa.Column(
            "geom",
            Geometry("POLYGON", srid=4326, spatial_index=False, nullable=False),
            nullable=False,
        ),
        sa.CheckConstraint("probability BETWEEN 0 AND 1", name="predictions_probability_range"),
        schema=SCHEMA,
    )
    op.create_index(
        "predictions_geom_idx", "predictions", ["geom"], schema=SCHEMA, postgresql_using="gist"
    )

    # The views and functions of sql/ are (re)applied by `asmdb db upgrade` once at the head
    # revision, from their current files; a revision never runs today's file of a later schema.


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.latest_predictions")
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.label_tiles")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.filtered_labels")
    for table in ("predictions", "model_runs", "tile_features", "tiles", "feature_sets", "labels"):
        op.drop_table(table, schema=SCHEMA)
    op.execute(f"DROP FUNCTION {SCHEMA}.tile_id(double precision, double precision)")
    # The schema goes only when nothing else lives in it; PostGIS stays (others may use it).
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} RESTRICT")
