"""`asmdb change`: the change between two maps (new, gone, persistent, absent, no data), with
tile counts and areas in km² per class, and per zone with --zones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from asm_db.change.classes import CLASSES, DEFAULT_MIN_DELTA, DEFAULT_THRESHOLD
from asm_db.cli.common import DatabaseUrl, notify, print_table
from asm_db.db.engine import create_engine


def change_json(c) -> dict:
    """A change as the command-line contract prints it (`asmdb change --json`)."""
    out = {
        "change_id": c.change_id,
        "from_map": c.from_map,
        "to_map": c.to_map,
        "threshold": c.threshold,
        "min_delta": c.min_delta,
        "min_delta_rule": c.min_delta_rule,
        "held_back": c.held_back,
        "classes": {
            name: {"tiles": c.classes[name]["tiles"], "km2": c.classes[name]["km2"]}
            for name in CLASSES
        },
    }
    if c.zones is not None:
        out["zones"] = c.zones
    if c.seconds:
        out["seconds"] = {k: round(v, 3) for k, v in c.seconds.items()}
    return out


def _period(period) -> str:
    start, end = period
    if start is None and end is None:
        return "no period"
    return f"{start or '?'}/{end or '?'}"


def class_rows(classes: dict) -> list[tuple[str, ...]]:
    rows = [("class", "tiles", "km2")]
    for name in CLASSES:
        rows.append((name, str(classes[name]["tiles"]), f"{classes[name]['km2']:.2f}"))
    return rows


def print_change(c) -> None:
    print(
        f"change {c.change_id}: map {c.from_map} ({_period(c.from_period)}) -> map {c.to_map} "
        f"({_period(c.to_period)}), threshold {c.threshold:g}, min delta {c.min_delta:g} "
        "-> asmdb.change_tiles, view asmdb.latest_change"
    )
    if c.min_delta_rule:
        print(f"min delta {c.min_delta_rule}; {c.held_back} tile(s) held back")
    print_table(class_rows(c.classes))
    if c.zones:
        print()
        rows = [("zone", "new tiles", "new km2", "gone tiles", "gone km2", "persistent km2")]
        for z in c.zones:
            k = z["classes"]
            rows.append(
                (
                    z["zone"],
                    str(k["new"]["tiles"]),
                    f"{k['new']['km2']:.2f}",
                    str(k["gone"]["tiles"]),
                    f"{k['gone']['km2']:.2f}",
                    f"{k['persistent']['km2']:.2f}",
                )
            )
        print_table(rows)


def change(
    from_map: Annotated[int, typer.Option("--from", help="Map of the earlier period.")],
    to_map: Annotated[int, typer.Option("--to", help="Map of the later period.")],
    threshold: Annotated[
        float, typer.Option(help="Probability at or above which a tile is mapped as mining.")
    ] = DEFAULT_THRESHOLD,
    min_delta: Annotated[
        str,
        typer.Option(
            "--min-delta",
            help="Smallest rise (new) or drop (gone) across the threshold that counts as change: "
            "a number from 0 to 1, or auto (from the noise of the two maps). A tile that crosses "
            "by less keeps its earlier class (persistent or absent).",
        ),
    ] = DEFAULT_MIN_DELTA,
    zones: Annotated[
        Path | None,
        typer.Option(
            help="Vector file of zones (districts, concessions, protected areas) for a "
            "per-zone table.",
        ),
    ] = None,
    zone_field: Annotated[
        str | None, typer.Option("--zone-field", help="The zones' name column.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the change as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Map where mining started (new) and stopped (gone) between two maps, with km² per class.

    Classes, with threshold t: new when p_from < t <= p_to (and the rise is at least
    --min-delta); gone when p_to < t <= p_from (and the drop is at least --min-delta);
    persistent when p_from is at or above t otherwise; absent when it is below otherwise;
    no_data when a tile is missing from either map. --min-delta auto (the default) is 1.96 times
    the robust spread of p_to - p_from over the tiles whose p_from is within 0.25 of t: a
    crossing smaller than that is as likely noise. --min-delta 0 counts every crossing. Areas
    are on the WGS 84 ellipsoid.
    """
    from asm_db.change.compute import make_change

    result = make_change(
        create_engine(database_url),
        from_map,
        to_map,
        threshold=threshold,
        min_delta=min_delta,
        zones=zones,
        zone_field=zone_field,
        notify=notify,
    )
    if as_json:
        print(json.dumps(change_json(result)))
        return
    print_change(result)
