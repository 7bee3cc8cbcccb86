"""`asmdb review`: the review loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, notify
from asm_db.db.engine import create_engine
from asm_db.review.options import MAP_THRESHOLD, QueueOptions

QUEUE = QueueOptions()  # option defaults come from the library's own dataclass

app = typer.Typer(
    help="The review loop: queue tiles, take reviews back, estimate area.", no_args_is_help=True
)
RunOption = Annotated[
    int | None,
    typer.Option(
        "--run", help="Run, by the map it made on its own feature set (default: the promoted map)."
    ),
]


@app.command("queue")
def review_queue(
    run: RunOption = None,
    hotspots: Annotated[
        int, typer.Option(help="Most likely tiles with no label nearby.", min=0)
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
    seed: Annotated[int, typer.Option(help="Seed of the random sample.")] = QUEUE.seed,
    database_url: DatabaseUrl = None,
) -> None:
    """Choose tiles to review and add them to asmdb.review_queue (a QGIS layer)."""
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
    )
    sample = ", ".join(f"{k}: {v}" for k, v in q.sampled.items())
    print(
        f"run {q.run_id}: {q.hotspots} hotspots, {q.uncertain} uncertain, stratified sample "
        f"({sample}); {q.added} new rows in asmdb.review_queue"
    )


@app.command("export")
def review_export(
    out: Annotated[Path, typer.Argument(help="OUT.gpkg for offline review.")],
    run: RunOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the review queue to a GeoPackage, styled by status, to review offline."""
    from asm_db.review.queue import export_queue

    print(f"{out}: {export_queue(create_engine(database_url), out, run)} tiles to review")


@app.command("import")
def review_import(
    file: Annotated[Path, typer.Argument(help="GeoPackage (from `review export`) or CSV.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Take reviews back by review_id and turn confirmed/rejected ones into labels."""
    from asm_db.review.queue import import_reviews

    r = import_reviews(create_engine(database_url), file, notify=notify)
    print(f"{r.path}: {r.updated} reviews; labels {r.labels_added} new, {r.labels_updated} updated")
    for review_id, unique_id in r.contradictions:
        print(f"contradiction: review {review_id} disagrees with label {unique_id}; left as is")


@app.command("labels")
def review_labels(database_url: DatabaseUrl = None) -> None:
    """Turn confirmed/rejected reviews made in QGIS into labels (idempotent)."""
    from asm_db.review.queue import reviews_to_labels

    added, updated, contradictions = reviews_to_labels(create_engine(database_url), notify=notify)
    print(f"labels from reviews: {added} new, {updated} updated")
    for review_id, unique_id in contradictions:
        print(f"contradiction: review {review_id} disagrees with label {unique_id}; left as is")


@app.command("estimate")
def review_estimate(
    run: RunOption = None,
    threshold: Annotated[
        float, typer.Option(help="Probability the map calls ASM.")
    ] = MAP_THRESHOLD,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Area of ASM and map accuracy with 95% intervals, from the reviewed stratified sample."""
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
        return f"{entry['value']:.{digits}f} ({entry['low']:.{digits}f}-{entry['high']:.{digits}f})"

    print(f"run {run_id}, map threshold {threshold:g}; {e['reviewed']} sample tiles reviewed")
    print(
        f"ASM area: {fmt(e['asm_area_km2'], 1)} km2 of {e['total_area_km2']:.1f} km2 "
        f"(the map shows {e['mapped_area_km2']:.1f} km2)"
    )
    print(f"user's accuracy: {fmt(e['users_accuracy'])}")
    print(f"producer's accuracy: {fmt(e['producers_accuracy'])}")
    print(f"overall accuracy: {fmt(e['overall_accuracy'])}")
