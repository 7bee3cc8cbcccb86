"""Overviews of a map for the country zooms of a web map: its predictions aggregated into
square blocks of grid cells (2 x 2 up to 32 x 32), written with the map.

At zoom 6 one vector tile covers a whole country: tens of thousands of tile polygons, each under
a pixel wide, megabytes of MVT that take PostGIS seconds to build. A block of cells holds the
highest probability of its tiles (so a hotspot stays visible), their mean and their count; each
zoom shows the blocks that make about 20 x 20 features per tile at the 0.01-degree grid. The
blocks live in `asmdb.map_overviews` (one set per map, like its predictions) and the promoted
map's are `asmdb.latest_overviews`, an OGC collection like `latest_predictions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from asm_db.db.sqlfiles import load_sql
from asm_db.probability_classes import MAP_THRESHOLD


@dataclass(frozen=True)
class OverviewLevel:
    """Blocks of `cells` x `cells` grid cells, shown at zooms minzoom <= z < maxzoom."""

    cells: int
    minzoom: int
    maxzoom: int


LEVELS = (
    OverviewLevel(32, 0, 7),
    OverviewLevel(16, 7, 8),
    OverviewLevel(8, 8, 9),
    OverviewLevel(4, 9, 10),
    OverviewLevel(2, 10, 11),
)
# Memory for the grouping of one map's tiles into blocks (about 270 bytes a tile and level).
OVERVIEW_WORK_MEM = "128MB"
# From this zoom on the page draws the map's own tiles (`latest_predictions`).
FULL_RESOLUTION_ZOOM = LEVELS[-1].maxzoom


def level_for_zoom(zoom: int) -> OverviewLevel | None:
    """The overview the web map shows at this zoom, or None for the map's own tiles."""
    return next((lv for lv in LEVELS if lv.minzoom <= zoom < lv.maxzoom), None)


def write_overviews(pg: psycopg.Connection, map_id: int) -> int:
    """Aggregate a written map's predictions into its overview blocks (every level), in the
    caller's transaction. Returns the number of blocks."""
    # Every level groups every tile (five rows a tile): with the default work_mem (4 MB) the
    # grouping sorts on disk, 0.5 s at 75,000 tiles; hashed in memory it takes 0.2 s. The
    # setting is the transaction's, put back after (a failure rolls it back with the rest).
    work_mem, smaller = pg.execute(
        "SELECT current_setting('work_mem'), "
        "pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%s)",
        (OVERVIEW_WORK_MEM,),
    ).fetchone()
    if smaller:  # never less than the session's own
        pg.execute("SELECT set_config('work_mem', %s, true)", (OVERVIEW_WORK_MEM,))
    cursor = pg.execute(
        load_sql("maps/map_overviews_insert"),
        {"map_id": map_id, "cells": [lv.cells for lv in LEVELS], "map_threshold": MAP_THRESHOLD},
    )
    written = cursor.rowcount
    if smaller:
        pg.execute("SELECT set_config('work_mem', %s, true)", (work_mem,))
    # Statistics for the planner's choice of a map's blocks at a zoom; the geometry's histogram
    # (twice the time) is left to autovacuum.
    pg.execute("ANALYZE asmdb.map_overviews (map_id, cells)")
    return written
