""" "Find more like this" results kept for QGIS: one set of rows per search.

`similarity_queries` records each search (feature set, query tiles, where they came from, who
ran it); `similar_tiles` holds its results, best first, with each tile's polygon so QGIS shows
them as a layer (`similar_tile_id` is the int4 key; filter on `query_id`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"


def upgrade() -> None:
    # Imported here: every command loads the revision files to check the schema's revision,
    # and geoalchemy2 takes a fifth of a second to import.
    from geoalchemy2 import Geometry

    op.create_table(
        "similarity_queries",
        sa.Column("query_id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("created_by", sa.Text, nullable=False, server_default=sa.text("current_user")),
        sa.Column(
            "feature_set_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.feature_sets.feature_set_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("query_tiles", pg.ARRAY(sa.BigInteger), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("top", sa.Integer, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.CheckConstraint("source IN ('tiles', 'confirmed')", name="similarity_queries_source"),
        schema=SCHEMA,
    )
    op.create_table(
        "similar_tiles",
        sa.Column("similar_tile_id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column(
            "query_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.similarity_queries.query_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("tile_id", sa.BigInteger, nullable=False),
        sa.Column("similarity", sa.Float(53), nullable=False),
        sa.Column(
            "geom",
            Geometry("POLYGON", srid=4326, spatial_index=False, nullable=False),
            nullable=False,
        ),
        sa.UniqueConstraint("query_id", "rank", name="similar_tiles_rank_once"),
        schema=SCHEMA,
    )
    op.create_index(
        "similar_tiles_geom_idx", "similar_tiles", ["geom"], schema=SCHEMA, postgresql_using="gist"
    )


def downgrade() -> None:
    op.drop_table("similar_tiles", schema=SCHEMA)
    op.drop_table("similarity_queries", schema=SCHEMA)
