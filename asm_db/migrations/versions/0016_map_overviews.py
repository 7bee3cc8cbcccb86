"""Map overviews: each map's predictions aggregated into blocks of 2 x 2 up to 32 x 32 grid
cells, for the web map's country zooms (see asm_db/maps/overviews.py).

`map_overviews` holds one set of blocks per map, written with the map; the views
`latest_overviews` and `overviews_by_period` (from sql/schema/, re-created at head) show the promoted
map's, and the promoted map of every period's. Upgrading builds
the blocks of every existing map; downgrading drops them (they are derived data).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25
"""

from alembic import op
from sqlalchemy import text

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
# The block sizes of this revision (asm_db.maps.overviews.LEVELS when it was written).
CELLS = (32, 16, 8, 4, 2)
# sql/maps/map_overviews_insert.sql as this revision wrote it.
INSERT_BLOCKS = f"""
INSERT INTO {SCHEMA}.map_overviews
    (map_id, cells, tiles, tiles_at_least_half, probability, probability_mean, geom)
SELECT p.map_id, b.cells, count(*), count(*) FILTER (WHERE p.probability >= 0.5),
       max(p.probability), avg(p.probability),
       ST_MakeEnvelope(
           g.origin_lon + b.block_col * b.cells * g.cell_size,
           g.origin_lat + b.block_row * b.cells * g.cell_size,
           g.origin_lon + (b.block_col + 1) * b.cells * g.cell_size,
           g.origin_lat + (b.block_row + 1) * b.cells * g.cell_size,
           4326)
FROM {SCHEMA}.predictions AS p
JOIN {SCHEMA}.grids AS g ON g.grid_id = (p.tile_id >> 40) + 1
CROSS JOIN LATERAL (
    SELECT p.tile_id - ((g.grid_id - 1)::bigint << 40) AS local,
           round((180 - g.origin_lon) / g.cell_size)::bigint + 1 AS n_cols
) AS c
CROSS JOIN LATERAL (
    SELECT s.cells, (c.local / c.n_cols) / s.cells AS block_row,
           mod(c.local, c.n_cols) / s.cells AS block_col
    FROM unnest(CAST(:cells AS integer[])) AS s (cells)
) AS b
WHERE p.map_id = :map_id
GROUP BY p.map_id, g.grid_id, g.origin_lon, g.origin_lat, g.cell_size,
         b.cells, b.block_row, b.block_col
"""


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.map_overviews (
            overview_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            map_id integer NOT NULL REFERENCES {SCHEMA}.maps (map_id) ON DELETE CASCADE,
            cells integer NOT NULL CHECK (cells > 1),
            tiles integer NOT NULL,
            tiles_at_least_half integer NOT NULL,
            probability double precision NOT NULL,
            probability_mean double precision NOT NULL,
            geom geometry(Polygon, 4326) NOT NULL
        )
        """
    )
    op.execute(f"CREATE INDEX map_overviews_map_idx ON {SCHEMA}.map_overviews (map_id, cells)")
    op.execute(f"CREATE INDEX map_overviews_geom_idx ON {SCHEMA}.map_overviews USING gist (geom)")
    op.execute(
        f"COMMENT ON TABLE {SCHEMA}.map_overviews IS "
        "'Each map''s predictions aggregated into blocks of cells x cells grid cells, for "
        "the web map''s low zooms; written with the map.'"
    )
    bind = op.get_bind()
    maps = bind.execute(text(f"SELECT map_id FROM {SCHEMA}.maps ORDER BY map_id")).scalars()
    for map_id in list(maps):
        bind.execute(text(INSERT_BLOCKS), {"map_id": map_id, "cells": list(CELLS)})


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.latest_overviews")
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.overviews_by_period")
    op.drop_table("map_overviews", schema=SCHEMA)
