"""Registered imagery: composites `asmdb imagery composite` made and rasters `imagery add` named.

One row per imagery: its period, footprint, bands, files, what its stored numbers mean (scale
and offset), a display stretch, the share of its pixels left empty, and where it came from (the
STAC query and the ids of the items used). `featurize --imagery NAME` reads it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-14
"""

from alembic import op
from psycopg import sql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"

TABLE = (
    "Imagery asmdb can featurize by name: composites made by asmdb imagery composite and "
    "rasters registered by asmdb imagery add."
)
COLUMNS = {
    "imagery_id": "Key of the imagery.",
    "name": "Unique name users give the imagery (featurize --imagery NAME).",
    "period_start": "First day the imagery shows.",
    "period_end": "Last day the imagery shows.",
    "footprint": "Area the imagery covers (EPSG:4326).",
    "bands": "Band names, in the files' band order.",
    "files": "Paths or URLs of the raster files, in mosaic order.",
    "files_owned": "True when asmdb wrote the files (imagery delete removes them).",
    "scale": "Per band: the scale of the stored numbers (value = stored * scale + offset).",
    "offset": "Per band: the offset of the stored numbers (value = stored * scale + offset).",
    "stretch": "Display stretch for true colour: per band the 2nd and 98th percentile of "
    "the values, as {band: [low, high]}.",
    "empty_fraction": "Share of the imagery's pixels with no valid observation (0 to 1).",
    "source": "How it was made: the STAC API, collection and query, or imagery add.",
    "item_ids": "Ids of the STAC items the composite used (provenance).",
    "parameters": "Composite parameters: statistic, mask, cloud limit, grid and block size.",
    "created_at": "When the imagery was registered.",
}


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.imagery (
            imagery_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE,
            period_start date,
            period_end date,
            footprint geometry(MultiPolygon, 4326) NOT NULL,
            bands text[] NOT NULL,
            files text[] NOT NULL,
            files_owned boolean NOT NULL DEFAULT false,
            scale double precision[] NOT NULL,
            "offset" double precision[] NOT NULL,
            stretch jsonb,
            empty_fraction double precision
                CHECK (empty_fraction IS NULL OR empty_fraction BETWEEN 0 AND 1),
            source jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            item_ids text[] NOT NULL DEFAULT '{{}}',
            parameters jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            CHECK (period_start IS NULL OR period_end IS NULL OR period_start <= period_end)
        )
        """
    )
    op.execute(f"CREATE INDEX imagery_footprint_idx ON {SCHEMA}.imagery USING gist (footprint)")
    raw = op.get_bind().connection.driver_connection
    table = sql.Identifier(SCHEMA, "imagery")
    statements = [sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(TABLE))]
    statements += [
        sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
            table, sql.Identifier(column), sql.Literal(text)
        )
        for column, text in COLUMNS.items()
    ]
    for statement in statements:
        op.execute(statement.as_string(raw))


def downgrade() -> None:
    op.execute(f"DROP TABLE {SCHEMA}.imagery")
