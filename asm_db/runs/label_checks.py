"""Label filters that do nothing or too much, said plainly before and after the join: an
excluded mine type no label has (a typo excludes nothing), and which filter removed the last
labels, or, when labels pass but lie on no tile, where the labels and the tiles are."""

from __future__ import annotations

import difflib

import psycopg

from asm_db.db.sqlfiles import load_sql
from asm_db.modeling.options import LabelFilters


def unknown_mine_types(pg: psycopg.Connection, filters: LabelFilters) -> list[str]:
    """One warning per excluded mine type that no label has, listing the types labels have."""
    present = dict(pg.execute(load_sql("runs/label_mine_types")).fetchall())
    if not present:
        return []
    listed = ", ".join(f"{name} ({count})" for name, count in present.items())
    warnings = []
    for name in filters.exclude_mine_types:
        if name in present:
            continue
        close = difflib.get_close_matches(name, list(present), n=1)
        guess = f"did you mean '{close[0]}'? " if close else ""
        warnings.append(
            f"warning: no label has mine_type '{name}', so excluding it drops nothing; "
            f"{guess}mine types in the labels: {listed}"
        )
    return warnings


def _extent(box) -> str:
    xmin, ymin, xmax, ymax = box
    return f"lon {xmin:.4g} to {xmax:.4g}, lat {ymin:.4g} to {ymax:.4g}"


def no_rows_reason(
    pg: psycopg.Connection,
    filters: LabelFilters,
    counts: dict,
    feature_set_id: int,
    feature_set: str,
) -> str:
    """Why the join gave no training rows: the filter that removed the last labels (with the
    counts `label_filter_counts` gave), or where labels and tiles lie when none meet."""
    if counts["labels"] == 0:
        return "no labels in the database; run `asmdb ingest labels FILE` first"
    steps = (
        (
            "after_proportion_inspected",
            "--min-proportion-inspected",
            f"{filters.min_proportion_inspected:g}",
        ),
        ("after_mine_type", "--exclude-mine-type", ", ".join(filters.exclude_mine_types)),
        ("after_confidence", "--min-confidence", f"{filters.min_confidence:g}"),
    )
    before = counts["labels"]
    for key, option, value in steps:
        if counts[key] == 0:
            return (
                f"no training rows: {option} {value} removed the last labels "
                f"({before} before it, 0 after); relax it"
            )
        before = counts[key]
    params = {**filters.params(), "feature_set_id": feature_set_id}
    row = pg.execute(load_sql("runs/training_extents"), params).fetchone()
    labels, tiles = row[:4], row[4:]
    where = f"no training rows: none of the {before} labels passing the filters lies on a tile "
    where += f"of feature set '{feature_set}'"
    if None in tiles:
        return where
    apart = (
        labels[2] < tiles[0] or tiles[2] < labels[0] or labels[3] < tiles[1] or tiles[3] < labels[1]
    )
    if apart:
        return f"{where}: the labels span {_extent(labels)}, the tiles {_extent(tiles)}"
    return f"{where} (their extents overlap, but no label falls on a tile)"
