"""`asmdb runs` and `asmdb report`: the run history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, Yes, confirmation, notify, print_table
from asm_db.cli.train import calibration_line, print_metrics
from asm_db.db.engine import create_engine
from asm_db.runs.counts import count_rows

app = typer.Typer(
    help="Model runs: list, show, compare, promote, delete.", invoke_without_command=True
)


RUNS_HEADER = (
    "run (* shown)\tcreated\tfeature set\tprotocol\tmodel\tcalibration\t"
    "ROC AUC before -> after calibration\ttiles mapped"
)
NO_RUNS = (
    "no runs yet: `asmdb train` makes one (after `asmdb ingest labels FILE` and "
    "`asmdb ingest features FILE`)"
)


def _run_line(run) -> str:
    m = run.metrics
    return (
        f"{run.run_id}{' *' if run.shown else '  '}\t{run.created_at:%Y-%m-%d %H:%M}\t"
        f"{run.feature_set}\t{run.protocol}\t{run.model}\t{_calibration(run)}\t"
        f"{m['auc_uncalibrated']:.3f} -> {m['auc_calibrated']:.3f}\t"
        f"{run.counts['tiles_predicted']}"
    )


def _calibration(run) -> str:
    return (run.metrics.get("calibration") or {}).get("method", "isotonic")


@app.callback()
def runs(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """List model runs, newest first (* marks the run of the map latest_predictions shows)."""
    if ctx.invoked_subcommand is None:
        runs_list(database_url)


@app.command("list")
def runs_list(database_url: DatabaseUrl = None) -> None:
    """List model runs, newest first (* marks the run of the map latest_predictions shows)."""
    from asm_db.runs.registry import list_runs

    found = list_runs(create_engine(database_url))
    if not found:
        print(NO_RUNS)
        return
    print(RUNS_HEADER)
    for run in found:
        print(_run_line(run))


@app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="Run to show.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A run's protocol, data counts, metrics with intervals, its stored model (read and
    checked), and how to reproduce it."""
    from dataclasses import asdict

    from asm_db.runs.registry import load_model, reproduce_command, show_run

    engine = create_engine(database_url)
    run = show_run(engine, run_id)
    model = load_model(engine, run_id)  # a model that does not read back intact stops here
    stored = {"format": model.header["format"], "kind": model.kind, "features": model.n_features}
    if as_json:
        print(json.dumps({**asdict(run), "stored_model": stored}, default=str))
        return
    print(
        f"run {run.run_id}: {run.model} on feature set '{run.feature_set}', "
        f"{run.protocol} protocol, made {run.created_at:%Y-%m-%d %H:%M}"
    )
    print(f"promoted at: {run.promoted_at or 'never'}; shown: {'yes' if run.shown else 'no'}")
    filters = run.parameters.get("filters", {})
    print("counts:")
    print_table(
        [(f"  {name}", str(value)) for name, value in count_rows(run.counts, run.protocol, filters)]
    )
    if filters.get("observed_within") is not None:
        start, end = (d or "open" for d in filters.get("observed_between", [None, None]))
        print(
            f"labels observed within {filters['observed_within']} days of the feature set's "
            f"period: {start} to {end}"
        )
    print(calibration_line(run.metrics))
    print_metrics(run.metrics, run.protocol)
    top = run.metrics.get("top_features", [])[:5]
    if top:
        print("top features: " + ", ".join(f"{f['feature']} ({f['importance']:.3g})" for f in top))
    print(f"data fingerprint: {run.data_fingerprint or '-'}; code: {run.code_version or '-'}")
    print(
        f"stored model: {stored['format']}, {stored['kind']}, {stored['features']} features; "
        "read back and checked"
    )
    print(f"reproduce: {reproduce_command(run)}")


@app.command("compare")
def runs_compare(
    first: Annotated[int, typer.Argument(help="A run.")],
    second: Annotated[int, typer.Argument(help="Another run.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Two runs' metrics side by side, and how much their probability maps differ."""
    from asm_db.modeling.metrics import metric_rows
    from asm_db.runs.registry import compare_runs

    comparison = compare_runs(create_engine(database_url), first, second)
    a, b = comparison.first, comparison.second
    rows = [("", f"run {a.run_id}", f"run {b.run_id}")]
    rows += [("protocol", a.protocol, b.protocol), ("model", a.model, b.model)]
    rows += [("feature set", a.feature_set, b.feature_set)]
    rows += [("calibration", _calibration(a), _calibration(b))]
    for (name, a_before, a_after), (_, b_before, b_after) in zip(
        metric_rows(a.metrics), metric_rows(b.metrics), strict=False
    ):
        rows.append((f"{name}, before calibration", a_before, b_before))
        rows.append((f"{name}, after calibration", a_after, b_after))
    rows.append(("training rows", str(a.counts["training_rows"]), str(b.counts["training_rows"])))
    rows.append(("same data", "yes" if a.data_fingerprint == b.data_fingerprint else "no", ""))
    print_table(rows)
    m = comparison.maps
    if m["common_tiles"]:
        print(
            f"maps: {m['common_tiles']:.0f} tiles in both ({m['only_first']:.0f} only in run "
            f"{a.run_id}, {m['only_second']:.0f} only in run {b.run_id}); probability differs by "
            f"{m['mean_abs_difference']:.3f} on average, {m['max_abs_difference']:.3f} at most; "
            f"correlation {m['correlation'] if m['correlation'] is not None else float('nan'):.3f}; "
            f"{m['tiles_changing_class']:.0f} tiles change map class"
        )
    else:
        print("maps: the two runs share no tile")


@app.command("promote")
def runs_promote(
    run_id: Annotated[int, typer.Argument(help="Run whose map to show.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Promote the map a run made on its own feature set (the newest): `maps promote` by run."""
    from asm_db.cli.maps import promoted_line
    from asm_db.maps.registry import promote_map

    print(promoted_line(promote_map(create_engine(database_url), run_id=run_id)))


@app.command("delete")
def runs_delete(
    run_id: Annotated[int, typer.Argument(help="Run to delete.")],
    with_reviews: Annotated[
        bool,
        typer.Option(
            "--with-reviews", help="Also delete its answered reviews (otherwise it is refused)."
        ),
    ] = False,
    yes: Yes = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a run with its maps (and their predictions) and its review rows, in one
    transaction."""
    from asm_db.runs.delete import delete_run

    done = delete_run(
        create_engine(database_url),
        run_id,
        with_reviews=with_reviews,
        confirm=confirmation(yes),
        notify=notify,
    )
    shown = (
        "; asmdb.latest_predictions shows the map promoted before it, if any"
        if done.promoted
        else ""
    )
    print(f"deleted run {done.run_id}, {done.maps} map(s), {done.reviews} review row(s){shown}")


def report(
    run_id: Annotated[int, typer.Argument(help="Run to report on.")],
    out: Annotated[Path, typer.Argument(help="HTML file to write.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Write a one-page, self-contained HTML report of a run."""
    from asm_db.publish.report import write_report

    print(write_report(create_engine(database_url), run_id, out))
