"""`asmdb review`: the review loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import SEED_MAX, SEED_MIN, DatabaseUrl, notify
from asm_db.db.engine import create_engine
from asm_db.errors import AsmdbError
from asm_db.review.options import MAP_THRESHOLD, ChangeQueueOptions, PlanOptions, QueueOptions

QUEUE = QueueOptions()  # option defaults come from the library's own dataclass
CHANGE_QUEUE = ChangeQueueOptions()
PLAN = PlanOptions()

app = typer.Typer(
    help="The review loop: queue tiles, take reviews back, estimate area.", no_args_is_help=True
)
RunOption = Annotated[
    int | None,
    typer.Option(
        "--run", help="Run, by the map it made on its own feature set (default: the promoted map)."
    ),
]
ChangeOption = Annotated[
    int | None,
    typer.Option(
        "--change",
        help="A change map (`asmdb change`): its review sample, strata the change classes.",
    ),
]
MAP_QUEUE_OPTIONS = ("hotspots", "uncertain", "per_stratum", "threshold", "min_label_distance")
MAP_QUEUE_OPTIONS += ("spacing",)
CHANGE_QUEUE_OPTIONS = ("sample_size", "min_per_stratum")


def _given(ctx: typer.Context, names: tuple[str, ...]) -> list[str]:
    """The options among `names` that the command line set (by the source's name: Typer
    carries its own copy of click's ParameterSource)."""
    return [
        "--" + n.replace("_", "-")
        for n in names
        if getattr(ctx.get_parameter_source(n), "name", None) == "COMMANDLINE"
    ]


def _one_of(run: int | None, change: int | None) -> None:
    if run is not None and change is not None:
        raise AsmdbError("--run and --change: name one (a change names its maps itself)")


@app.command("queue")
def review_queue(
    ctx: typer.Context,
    run: RunOption = None,
    change: ChangeOption = None,
    hotspots: Annotated[
        int,
        typer.Option(
            help="Most likely tiles, at or above --threshold, with no label nearby.", min=0
        ),
    ] = QUEUE.hotspots,
    uncertain: Annotated[
        int, typer.Option(help="Tiles nearest the threshold.", min=0)
    ] = QUEUE.uncertain,
    per_stratum: Annotated[
        int, typer.Option(help="Random tiles per probability class (for area estimates).", min=0)
    ] = QUEUE.per_stratum,
    threshold: Annotated[
        float, typer.Option(help="Probability the map calls ASM.")
    ] = QUEUE.threshold,
    min_label_distance: Annotated[
        float, typer.Option(help="Hotspots/uncertain: no label within this (degrees).")
    ] = QUEUE.min_label_distance,
    spacing: Annotated[
        float, typer.Option(help="Hotspots/uncertain: at least this far apart (degrees).")
    ] = QUEUE.spacing,
    sample_size: Annotated[
        int,
        typer.Option(
            help="With --change: sample tiles in all; what the minimums leave is shared in "
            "proportion to the classes' sizes.",
            min=0,
        ),
    ] = CHANGE_QUEUE.sample_size,
    min_per_stratum: Annotated[
        int,
        typer.Option(
            help="With --change: at least this many per change class (all, where fewer).", min=0
        ),
    ] = CHANGE_QUEUE.min_per_stratum,
    seed: Annotated[
        int, typer.Option(help="Seed of the random sample.", min=SEED_MIN, max=SEED_MAX)
    ] = QUEUE.seed,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Draw the sample sizes of the last `asmdb review plan` of the map or change.",
        ),
    ] = False,
    extend: Annotated[
        int | None,
        typer.Option(
            "--extend",
            help="With --change: add N tiles to the change's sample (to the strata short of its "
            "plan, else those adding most to the variance); answers are kept.",
            min=1,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Choose tiles to review and add them to asmdb.review_queue (a QGIS layer), each tile
    once per run (a sample tile is not also a hotspot, a hotspot not also uncertain); with
    --change, draw the change's stratified sample (new, gone, persistent, absent), once; with
    --extend N, add to it."""
    _one_of(run, change)
    if extend is not None and change is None:
        raise AsmdbError("--extend: adding to a sample is for a change's (--change ID)")
    if change is not None:
        if wrong := _given(ctx, MAP_QUEUE_OPTIONS):
            raise AsmdbError(f"{', '.join(wrong)}: for a map's queue, not with --change")
        if (plan or extend is not None) and (wrong := _given(ctx, CHANGE_QUEUE_OPTIONS)):
            raise AsmdbError(f"{', '.join(wrong)}: the sizes come from the plan or from --extend")
        if plan and extend is not None:
            raise AsmdbError("--plan and --extend: name one (--extend fills the plan first)")
        from asm_db.review.change_queue import extend_change_queue, make_change_queue

        engine = create_engine(database_url)
        if extend is not None:
            c = extend_change_queue(engine, change, extend, seed=seed)
            added = ", ".join(
                f"{k}: {n} more, {c.inclusion[k]:.3g} of {c.tiles[k]} in all"
                for k, n in c.sampled.items()
                if n
            )
            print(
                f"change {c.change_id}: sample extended ({added}); {c.added} new rows in "
                f"asmdb.review_queue; `asmdb review export OUT.gpkg --change {c.change_id}`"
            )
            return
        c = make_change_queue(
            engine,
            change,
            sample_size=sample_size,
            min_per_stratum=min_per_stratum,
            seed=seed,
            plan=plan,
        )
        drawn = ", ".join(f"{k}: {n} of {c.tiles[k]}" for k, n in c.sampled.items())
        of_plan = f" of plan {c.plan_id}" if c.plan_id is not None else ""
        print(
            f"change {c.change_id}: stratified sample{of_plan} ({drawn}); {c.added} new rows in "
            f"asmdb.review_queue; `asmdb review export OUT.gpkg --change {c.change_id}`"
        )
        return
    if wrong := _given(ctx, CHANGE_QUEUE_OPTIONS):
        raise AsmdbError(f"{', '.join(wrong)}: for a change's sample, with --change ID")
    if plan and _given(ctx, ("per_stratum",)):
        raise AsmdbError("--per-stratum: with --plan, the sizes come from the plan")
    from asm_db.review.queue import make_queue

    q = make_queue(
        create_engine(database_url),
        run,
        hotspots=hotspots,
        uncertain=uncertain,
        per_stratum=per_stratum,
        threshold=threshold,
        min_label_distance=min_label_distance,
        spacing=spacing,
        seed=seed,
        plan=plan,
    )
    sample = ", ".join(f"{k}: {v}" for k, v in q.sampled.items())
    print(
        f"run {q.run_id}: {q.hotspots} hotspots, {q.uncertain} uncertain, stratified sample "
        f"({sample}); {q.added} new rows in asmdb.review_queue"
    )
    for note in q.notes:
        print(f"note: {note}")


def _accuracies(given: list[str]) -> dict[str, float]:
    """CLASS=VALUE options as {class: value}; one line on one that is not."""
    out = {}
    for text in given:
        name, sep, value = text.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise AsmdbError(f"--users-accuracy {text}: give CLASS=VALUE, e.g. new=0.7") from None
    return out


@app.command("plan")
def review_plan(
    run: RunOption = None,
    change: ChangeOption = None,
    klass: Annotated[
        str | None,
        typer.Option(
            "--class", help="The class whose area the target is for (default: new, or asm)."
        ),
    ] = None,
    target_se: Annotated[
        float | None,
        typer.Option("--target-se", help="Target standard error of the class's area, km2."),
    ] = None,
    target_moe: Annotated[
        float | None,
        typer.Option(
            "--target-moe",
            help="Target margin of error (95%) in per cent of the class's anticipated area.",
        ),
    ] = None,
    users_accuracy: Annotated[
        list[str] | None,
        typer.Option(
            "--users-accuracy",
            help="CLASS=VALUE: an anticipated user's accuracy (repeatable); a class not given "
            "takes the one the map's calibration implies.",
        ),
    ] = None,
    min_per_stratum: Annotated[
        int, typer.Option(help="At least this many per stratum (all, where fewer).", min=0)
    ] = PLAN.min_per_stratum,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Plan the review sample before anyone goes to the field: the tiles per stratum that
    reach a target standard error of one class's area, from anticipated user's accuracies
    (Olofsson et al. 2014); stored, and drawn by `review queue --plan`."""
    _one_of(run, change)
    from asm_db.review.planning import plan_sample

    p = plan_sample(
        create_engine(database_url),
        change_id=change,
        run_id=run,
        klass=klass,
        target_se_km2=target_se,
        target_moe=target_moe,
        users_accuracy=_accuracies(users_accuracy or []),
        min_per_stratum=min_per_stratum,
    )
    if as_json:
        print(json.dumps(p))
        return
    from asm_db.cli.common import print_table

    of = f"change {p['change_id']}" if p["change_id"] is not None else f"run {p['run_id']}"
    print(f"plan {p['plan_id']} of {of}: the area of {p['class']}")
    rows = [("stratum", "tiles", "sample", "user's accuracy", "share of " + p["class"])]
    for s in p["strata"]:
        u = s["users_accuracy"]
        rows.append(
            (
                s["name"],
                str(s["tiles"]),
                str(s["sample_size"]),
                f"{u:.3f}" if u is not None else "-",
                f"{s['share']:.3f}",
            )
        )
    rows.append(("total", str(sum(s["tiles"] for s in p["strata"])), str(p["sample_size"]), "", ""))
    print_table(rows)
    sources = sorted({s["source"] for s in p["strata"]})
    se = p["expected_se_km2"]
    print(
        f"expected standard error {se:.3g} km2 (target {p['target']['se_km2']:.3g} km2); "
        f"user's accuracies from {' and '.join(sources)}"
        if se is not None
        else "expected standard error: not defined (a stratum takes no tile)"
    )


@app.command("export")
def review_export(
    out: Annotated[Path, typer.Argument(help="OUT.gpkg for offline review.")],
    run: RunOption = None,
    change: ChangeOption = None,
    imagery: Annotated[
        bool,
        typer.Option(
            "--imagery",
            help="Add the registered imagery (`asmdb imagery add`) whose period best matches "
            "the map's (a change: each map's) around every queued tile, in true colour.",
        ),
    ] = False,
    imagery_name: Annotated[
        list[str] | None,
        typer.Option(
            "--imagery-name",
            metavar="NAME",
            help="Add this registered imagery rather than the best match (implies --imagery; "
            "a change: give it twice, from then to).",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write one run's review queue (default: the promoted map's run) to a GeoPackage, styled
    by status, to review offline; with --change, the change's sample, answered per period in
    answer_from and answer_to; with --imagery, the imagery to judge them by, one raster layer
    per period."""
    _one_of(run, change)
    if change is not None:
        from asm_db.review.change_queue import export_change_queue

        done = export_change_queue(
            create_engine(database_url),
            out,
            change,
            imagery=imagery,
            imagery_names=imagery_name,
        )
        print(f"{out}: {done.tiles} tiles to review for both periods (answer_from, answer_to)")
    else:
        from asm_db.review.queue import export_queue

        done = export_queue(
            create_engine(database_url), out, run, imagery=imagery, imagery_names=imagery_name
        )
        print(f"{out}: {done.tiles} tiles to review")
    for layer in done.imagery:
        print(layer.summary())


def _removed(n: int) -> str:
    return f", {n} removed" if n else ""


@app.command("import")
def review_import(
    file: Annotated[Path, typer.Argument(help="GeoPackage (from `review export`) or CSV.")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace answers given by another reviewer (or by no one named); without it, "
            "a file that would is refused.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Take reviews back by review_id (one row each) and turn confirmed/rejected ones into
    labels; a review label whose answer is now unclear or pending is removed."""
    from asm_db.review.queue import import_reviews

    r = import_reviews(create_engine(database_url), file, notify=notify, replace=replace)
    rows = f"{r.rows} row" + ("s" if r.rows != 1 else "")
    changed = f"{r.changed} review" + ("s" if r.changed != 1 else "")
    print(
        f"{r.path}: {rows}, {changed} changed; labels {r.labels_added} new, "
        f"{r.labels_updated} updated{_removed(r.labels_removed)}"
    )
    for review_id, unique_id in r.contradictions:
        print(f"contradiction: review {review_id} disagrees with label {unique_id}; left as is")


@app.command("labels")
def review_labels(database_url: DatabaseUrl = None) -> None:
    """Turn confirmed/rejected reviews made in QGIS into labels, and remove review labels
    whose answer is no longer confirmed or rejected (idempotent)."""
    from asm_db.review.queue import reviews_to_labels

    r = reviews_to_labels(create_engine(database_url), notify=notify)
    print(f"labels from reviews: {r.added} new, {r.updated} updated{_removed(r.removed)}")
    for review_id, unique_id in r.contradictions:
        print(f"contradiction: review {review_id} disagrees with label {unique_id}; left as is")


@app.command("estimate")
def review_estimate(
    ctx: typer.Context,
    run: RunOption = None,
    change: ChangeOption = None,
    threshold: Annotated[
        float, typer.Option(help="Probability the map calls ASM.")
    ] = MAP_THRESHOLD,
    zones: Annotated[
        Path | None,
        typer.Option(help="With --change: vector file of zones for a per-zone table."),
    ] = None,
    zone_field: Annotated[
        str | None, typer.Option("--zone-field", help="The zones' name column.")
    ] = None,
    sample_of: Annotated[
        int | None,
        typer.Option(
            "--sample-of",
            help="With --change: estimate from the reviewed sample of this other change (same "
            "periods; its strata differ from this change's classes).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Area of ASM and map accuracy with 95% intervals, from the reviewed stratified sample
    (stratified and model-assisted); with --change, the area of new and of gone mining and the
    change map's accuracy (and with --zones, per zone: the mapped areas, and estimates where a
    zone holds enough reviews; with --sample-of, from another change's sample)."""
    _one_of(run, change)
    if zones is not None and change is None:
        raise AsmdbError("--zones: per-zone estimates are for a change (--change ID)")
    if sample_of is not None and change is None:
        raise AsmdbError(
            "--sample-of: reusing another change's sample is for a change (--change ID)"
        )
    if change is not None:
        if _given(ctx, ("threshold",)):
            raise AsmdbError("--threshold: a change has its own (`asmdb change --threshold`)")
        from asm_db.review.change_area import estimate_change

        e = estimate_change(create_engine(database_url), change, zones, zone_field, sample_of)
        if as_json:
            print(json.dumps(e))
        else:
            _print_change_estimate(e)
        return
    from asm_db.db.engine import connect, driver
    from asm_db.maps.registry import resolve_map
    from asm_db.review.area import estimate_area

    engine = create_engine(database_url)
    with connect(engine) as conn:
        chosen = resolve_map(driver(conn), run_id=run)
    run_id = chosen.run_id
    e = estimate_area(engine, run_id, threshold, map_id=chosen.map_id)
    if as_json:
        print(json.dumps({"run_id": run_id, **e}))
        return

    def fmt(entry: dict, digits: int = 3) -> str:
        if entry["value"] is None:
            return "not defined (no tile in its denominator)"
        return f"{entry['value']:.{digits}f} ({entry['low']:.{digits}f}-{entry['high']:.{digits}f})"

    print(f"run {run_id}, map threshold {threshold:g}; {e['reviewed']} sample tiles reviewed")
    for note in e.get("collapsed", []):
        print(f"note: {note}")
    print(
        f"ASM area: {fmt(e['asm_area_km2'], 1)} km2 of {e['total_area_km2']:.1f} km2 "
        f"(the map shows {e['mapped_area_km2']:.1f} km2)"
    )
    if "asm_area_km2_model_assisted" in e:
        ratio = e["se_ratio"]
        print(
            f"ASM area, model-assisted: {fmt(e['asm_area_km2_model_assisted'], 1)} km2"
            + (f" (standard error {ratio:.2f} x the stratified one)" if ratio is not None else "")
        )
    print(f"user's accuracy: {fmt(e['users_accuracy'])}")
    print(f"producer's accuracy: {fmt(e['producers_accuracy'])}")
    print(f"overall accuracy: {fmt(e['overall_accuracy'])}")


def _interval(entry: dict, digits: int) -> str:
    if entry["value"] is None:
        return "-"
    return f"{entry['value']:.{digits}f} ({entry['low']:.{digits}f}-{entry['high']:.{digits}f})"


def _print_change_estimate(e: dict) -> None:
    from asm_db.cli.common import print_table

    not_yet = e["not_reviewed_in_sample"]
    print(
        f"change {e['change_id']}: map {e['from_map']} -> map {e['to_map']}; "
        f"{e['reviewed']} sample tiles reviewed for both periods"
        + (f", {not_yet} not (yet)" if not_yet else "")
    )
    if e.get("sample_of") is not None:
        print(
            f"estimated from the reviewed sample of change {e['sample_of']} (its strata, not "
            "this change's classes: Stehman 2014)"
        )
    rows = [("class", "mapped km2", "km2 (95%)", "model-assisted km2 (95%)", "SE ratio")]
    rows[0] += ("user's accuracy", "producer's accuracy")
    for name, c in e["classes"].items():
        ratio = c.get("se_ratio")
        rows.append(
            (
                name,
                f"{c['mapped_area_km2']:.1f}",
                _interval(c["area_km2"], 1),
                _interval(c.get("area_km2_model_assisted", {"value": None}), 1),
                f"{ratio:.2f}" if ratio is not None else "-",
                _interval(c["users_accuracy"], 3),
                _interval(c["producers_accuracy"], 3),
            )
        )
    print_table(rows)
    print(f"overall accuracy: {_interval(e['overall_accuracy'], 3)}")
    for c in e["collapsed"]:
        print(
            f"stratum {c['stratum']} has {c['reviewed']} reviewed tile(s): estimated together "
            f"with {c['into']}"
        )
    for z in e.get("zones", []):
        mapped = z["mapped"]
        line = (
            f"zone {z['zone']}: mapped new {mapped['new']['km2']:.1f} km2, gone "
            f"{mapped['gone']['km2']:.1f} km2; {z['reviewed']} reviewed sample tiles"
        )
        if z["estimated"]:
            line += (
                f"; estimated new {_interval(z['estimated']['new'], 1)} km2, gone "
                f"{_interval(z['estimated']['gone'], 1)} km2"
            )
        else:
            line += f" ({z['note']})"
        print(line)
