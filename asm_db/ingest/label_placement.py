"""Labels that miss every feature set: caught before they replace good labels.

Swapped lat and lon columns give coordinates that pass every range check yet put the labels
somewhere else (often in the sea); when most of a file's labels lie on no tile of any feature
set, the file is refused, saying whether swapping the columns would put them on the tiles.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from asm_db.db.sqlfiles import load_sql
from asm_db.errors import InputError


def check_placement(cur: psycopg.Cursor, path: Path) -> None:
    """Refuse the staged labels (table `labels_stage`) when feature sets have tiles and more
    than half of the labels lie on none of them."""
    tiled, labels, inside, inside_swapped = cur.execute(
        load_sql("ingest/labels_stage_placement")
    ).fetchone()
    outside = labels - inside
    if not tiled or outside * 2 <= labels:
        return
    if inside_swapped * 2 > labels:
        hint = (
            f"swapping lat and lon would put {inside_swapped} on them: are the two columns swapped?"
        )
    else:
        hint = "swapping lat and lon would not put them on the tiles either"
    raise InputError(
        path,
        f"{outside} of {labels} labels lie outside every feature set's tiles; {hint} "
        "(--force loads the file as it is)",
    )
