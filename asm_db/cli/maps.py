"""`asmdb maps` and `asmdb predict`: maps (a run's model applied to a feature set), the one
`latest_predictions` shows, and making new ones."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, Readers, notify, print_table, progress_bar
from asm_db.db.engine import create_engine
from asm_db.maps import READERS
from asm_db.probability_classes import mapped_label

app = typer.Typer(
    help="Maps (a run's probabilities for every tile of a feature set): list, show, promote.",
    invoke_without_command=True,
)


def _date(value) -> str | None:
    return value.isoformat() if value is not None else None


def map_json(m) -> dict:
    """A map as the command-line contract prints it (`maps list --json`, `maps show --json`)."""
    return {
        "map_id": m.map_id,
        "run_id": m.run_id,
        "feature_set": m.feature_set,
        "period_start": _date(m.period_start),
        "period_end": _date(m.period_end),
        "promoted": m.promoted,
        "shown": m.shown,
        "created_at": m.created_at.isoformat(),
        "promoted_at": m.promoted_at.isoformat() if m.promoted_at else None,
        "tiles": m.tiles,
        "counts": m.counts,
    }


def _period(m) -> str:
    if m.period_start is None and m.period_end is None:
        return "-"
    return f"{_date(m.period_start) or '?'}/{_date(m.period_end) or '?'}"


@app.callback()
def maps(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """List maps, newest first (* marks the promoted map of each period)."""
    if ctx.invoked_subcommand is None:
        maps_list(False, database_url)


@app.command("list")
def maps_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the maps as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List maps, newest first (* marks the promoted map of each period; the newest period's
    is the one asmdb.latest_predictions shows)."""
    from asm_db.maps.registry import list_maps

    found = list_maps(create_engine(database_url))
    if as_json:
        print(json.dumps([map_json(m) for m in found]))
        return
    rows = [("map", "run", "feature set", "period", "created", "tiles", mapped_label())]
    for m in found:
        rows.append(
            (
                f"{m.map_id}{' *' if m.promoted else ''}",
                str(m.run_id),
                m.feature_set,
                _period(m),
                f"{m.created_at:%Y-%m-%d %H:%M}",
                str(m.tiles),
                str(m.counts.get("tiles_at_least_half", "-")),
            )
        )
    print_table(rows)


@app.command("show")
def maps_show(
    map_id: Annotated[int, typer.Argument(help="Map to show.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the map as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A map: its run, feature set, period, counts, and whether latest_predictions shows it."""
    from asm_db.maps.registry import show_map

    m = show_map(create_engine(database_url), map_id)
    if as_json:
        print(json.dumps(map_json(m)))
        return
    own = "the run's own feature set" if m.own_feature_set else "not the run's own feature set"
    print(f"map {m.map_id}: run {m.run_id} ({m.model}) on feature set '{m.feature_set}' ({own})")
    print(f"period: {_period(m)}; created at: {m.created_at:%Y-%m-%d %H:%M:%S %Z}")
    print(f"tiles: {m.tiles}; {mapped_label()}: {m.counts.get('tiles_at_least_half', '-')}")
    print(
        f"promoted at: {m.promoted_at or 'never'}; "
        f"promoted for its period: {'yes' if m.promoted else 'no'}; "
        f"shown by asmdb.latest_predictions: {'yes' if m.shown else 'no'}"
    )


@app.command("promote")
def maps_promote(
    map_id: Annotated[int, typer.Argument(help="Map to show in asmdb.latest_predictions.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Promote a map within its period: asmdb.maps_by_period shows it, and so does
    asmdb.latest_predictions when its period is the newest."""
    from asm_db.maps.registry import promote_map

    print(promoted_line(promote_map(create_engine(database_url), map_id)))


def promoted_line(m) -> str:
    where = (
        f"asmdb.latest_predictions shows its {m.tiles} tiles"
        if m.shown
        else "asmdb.maps_by_period shows it; asmdb.latest_predictions shows the map of a "
        "newer period"
    )
    return (
        f"map {m.map_id} (run {m.run_id}, feature set '{m.feature_set}', period "
        f"{_period(m)}) promoted: {where}"
    )


def predict(
    run: Annotated[int, typer.Option("--run", help="Run whose stored model to apply.")],
    feature_set: Annotated[
        str, typer.Option("--feature-set", help="Feature set whose tiles to score.")
    ],
    promote: Annotated[
        bool, typer.Option(help="Make the new map the one asmdb.latest_predictions shows.")
    ] = True,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Map a feature set whose features lie far from the run's training features.",
        ),
    ] = False,
    readers: Readers = READERS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the map as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Apply a run's stored model to every tile of a feature set, recorded as a new map.

    A feature set whose features lie far from those the run was trained on (pixels scaled
    otherwise, another sensor) is refused unless --force."""
    from asm_db.runs.apply import predict_map

    with progress_bar("predict tiles") as progress:
        task = progress.add_task("tiles", total=None)
        result = predict_map(
            create_engine(database_url),
            run,
            feature_set,
            promote=promote,
            force=force,
            readers=readers,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            notify=notify,
        )
    m = result.summary
    if as_json:
        print(
            json.dumps(
                {
                    "map_id": m.map_id,
                    "run_id": m.run_id,
                    "feature_set": result.feature_set,
                    "tiles": m.tiles,
                    "promoted": m.promoted,
                    "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
                }
            )
        )
        return
    shown = (
        "view asmdb.latest_predictions"
        if m.shown
        else "promoted for its period (asmdb.maps_by_period)"
        if m.promoted
        else "not promoted"
    )
    print(
        f"map {m.map_id}: run {m.run_id} (trained on '{result.trained_on}') applied to "
        f"{m.tiles} tiles of '{result.feature_set}' -> asmdb.predictions, {shown}"
    )
