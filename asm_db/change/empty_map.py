"""A warning for a change between a map with no mining and one with much: more often a period
featurized otherwise (pixels scaled differently) than all mining starting or stopping."""

from __future__ import annotations

import psycopg

from asm_db.db import locks
from asm_db.db.sqlfiles import load_sql

# The other map has "many" tiles at or above the threshold: this many, or this share of its tiles.
MANY_TILES = 10
MANY_SHARE = 0.01


def warn_if_one_map_empty(
    pg: psycopg.Connection,
    from_map: int,
    to_map: int,
    threshold: float,
    notify: locks.Notify | None,
) -> None:
    """Warn (one line) when one map has no tile at or above `threshold` and the other many."""
    if notify is None:
        return
    counts = {
        map_id: (tiles, mining)
        for map_id, tiles, mining in pg.execute(
            load_sql("change/map_mining_counts"),
            {"from_map": from_map, "to_map": to_map, "threshold": threshold},
        )
    }
    for empty, other in ((from_map, to_map), (to_map, from_map)):
        tiles, mining = counts.get(other, (0, 0))
        if counts.get(empty, (0, 0))[1] == 0 and (
            mining >= MANY_TILES or (tiles and mining >= MANY_SHARE * tiles)
        ):
            notify(
                f"warning: map {empty} has no tile at or above {threshold:g}, map {other} has "
                f"{mining:,} ({mining / tiles:.0%} of its tiles): check that both periods were "
                "featurized alike (`asmdb featurize --like`, --scale, --offset) before trusting "
                "the change"
            )
