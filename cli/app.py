"""The `asmdb` command: turns options into one library call and its result into output.

Results go to stdout; progress and errors to stderr. A user's mistake is one line and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from asm_db.database import URL_ENV, create_engine, downgrade, redacted, upgrade
from asm_db.errors import AsmdbError
from asm_db.options import MODEL_NAMES, PROTOCOLS

app = typer.Typer(
    help="asmdb: map artisanal and small-scale mining from satellite features in PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create or migrate the asmdb schema (Alembic).", no_args_is_help=True)
ingest_app = typer.Typer(help="Load labels or features into the database.", no_args_is_help=True)
qgis_app = typer.Typer(
    help="Default QGIS styles and the stored QGIS project.", no_args_is_help=True
)
roles_app = typer.Typer(help="Database roles for people who use asmdb.", no_args_is_help=True)
export_app = typer.Typer(help="Write results to files.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(qgis_app, name="qgis")
app.add_typer(roles_app, name="roles")
app.add_typer(export_app, name="export")

err = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar=URL_ENV,
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host:5432/db "
        "(default: libpq's PGHOST, PGDATABASE, ...).",
        show_envvar=True,
    ),
]


def _notify(message: str) -> None:
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def _progress(description: str) -> Progress:
    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # no bar in logs and pipes
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Install PostGIS (if needed) and migrate the schema to the latest revision."""
    engine = create_engine(database_url)
    now = upgrade(engine, revision)
    print(f"database {redacted(engine.url)} at revision {now}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes asmdb.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Migrate the schema down (each revision has a working downgrade)."""
    engine = create_engine(database_url)
    now = downgrade(engine, revision)
    print(f"database {redacted(engine.url)} at revision {now}")


@ingest_app.command("labels")
def ingest_labels_command(
    file: Annotated[Path, typer.Argument(help="CSV, GeoPackage, GeoJSON or Parquet of labels.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Load field labels (upsert by unique_id); quality filters apply at training time."""
    from asm_db.labels import ingest_labels

    result = ingest_labels(create_engine(database_url), file, notify=_notify)
    print(
        f"{result.path}: {result.rows} labels ({result.added} new, {result.updated} updated) "
        f"in {result.seconds:.1f} s"
    )


@ingest_app.command("features")
def ingest_features_command(
    file: Annotated[Path, typer.Argument(help="Feather, Parquet or CSV of MOSAIKS features.")],
    feature_set: Annotated[
        str, typer.Option(help="Name of the feature set to load into.")
    ] = "default",
    tile_size: Annotated[float, typer.Option(help="Tile edge in degrees.")] = 0.01,
    batch_rows: Annotated[
        int, typer.Option(help="Rows per COPY batch (bounds memory).", min=1)
    ] = 1000,
    database_url: DatabaseUrl = None,
) -> None:
    """Load a feature file as tiles and feature vectors (binary COPY in batches, upsert)."""
    from asm_db.features import ingest_features

    with _progress(f"ingest {file.name}") as progress:
        task = progress.add_task("rows", total=None)

        def report(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        result = ingest_features(
            create_engine(database_url),
            file,
            feature_set=feature_set,
            tile_size=tile_size,
            batch_rows=batch_rows,
            progress=report,
            notify=_notify,
        )
    print(
        f"{result.path}: {result.rows} tiles x {result.n_features} features into feature set "
        f"'{result.feature_set}' ({result.tiles_added} new tiles) in {result.seconds:.1f} s"
    )


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected numbers separated by commas, got {text!r}") from None


CrossValidation = Enum("CrossValidation", {name: name for name in PROTOCOLS}, type=str)
ModelName = Enum("ModelName", {name.replace("-", "_"): name for name in MODEL_NAMES}, type=str)


@app.command()
def train(
    plots: Annotated[Path | None, typer.Option(help="Write PNG figures of the run here.")] = None,
    feature_set: Annotated[
        str | None, typer.Option(help="Feature set (default: the only one).")
    ] = None,
    cv: Annotated[
        CrossValidation,
        typer.Option(
            help="Evaluation protocol: 'spatial' (blocked CV, honest) or 'seed' (the notebook's "
            "random split, calibrated on its own test rows).",
        ),
    ] = CrossValidation.spatial,
    model: Annotated[ModelName, typer.Option(help="Classifier to fit.")] = ModelName.ridge,
    block_size: Annotated[
        float, typer.Option(help="Spatial CV block edge in degrees.", min=0.0001)
    ] = 0.5,
    min_proportion_inspected: Annotated[
        float,
        typer.Option(help="Keep labels inspected at least this much (positives always kept)."),
    ] = 0.2,
    exclude_mine_type: Annotated[
        list[str] | None,
        typer.Option(help="Drop labels of this mine_type (repeatable; default commercial)."),
    ] = None,
    min_confidence: Annotated[
        float, typer.Option(help="Keep labels with at least this confidence.")
    ] = 3,
    test_size: Annotated[
        float, typer.Option(help="Seed protocol: share of joined rows held out for testing.")
    ] = 0.2,
    random_state: Annotated[int, typer.Option(help="Seed of splits, models and bootstrap.")] = 1991,
    alphas: Annotated[
        str, typer.Option(help="Ridge alphas to search, comma-separated.")
    ] = "0.01,0.1,1,10",
    folds: Annotated[int, typer.Option(help="Cross-validation folds.", min=2)] = 5,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples for the 95% intervals (0: none).", min=0)
    ] = 200,
    promote: Annotated[
        bool,
        typer.Option(help="Make this run the one asmdb.latest_predictions shows."),
    ] = True,
    readers: Annotated[
        int,
        typer.Option(
            help="Connections streaming tiles to score at once (about one per core).", min=1
        ),
    ] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Join labels to tiles in SQL, fit and evaluate a calibrated model, predict every tile."""
    from asm_db.model import Protocol
    from asm_db.training import LabelFilters, train_run

    filters = LabelFilters(
        min_proportion_inspected=min_proportion_inspected,
        exclude_mine_types=tuple(exclude_mine_type)
        if exclude_mine_type is not None
        else ("commercial",),
        min_confidence=min_confidence,
    )
    protocol = Protocol(
        cv=cv.value,
        model=model.value,
        block_size=block_size,
        test_size=test_size,
        random_state=random_state,
        alphas=_floats(alphas),
        folds=folds,
        bootstrap=bootstrap,
    )
    with _progress("predict tiles") as progress:
        task = progress.add_task("tiles", total=None)
        result = train_run(
            create_engine(database_url),
            feature_set=feature_set,
            filters=filters,
            protocol=protocol,
            promote=promote,
            readers=readers,
            plots_dir=plots,
            progress=lambda _stage, done, total: progress.update(task, completed=done, total=total),
            notify=_notify,
        )
    fit = result.fit
    if as_json:
        print(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "feature_set": result.feature_set,
                    "protocol": fit.protocol,
                    "model": protocol.model,
                    "best_params": fit.best_params,
                    "best_alpha": fit.best_alpha,
                    "auc_uncalibrated": fit.auc_uncalibrated,
                    "auc_calibrated": fit.auc_calibrated,
                    "metrics": result.metrics,
                    "counts": result.counts,
                    "promoted": promote,
                    "plots": [str(p) for p in result.plots],
                    "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
                }
            )
        )
        return
    print(f"run {result.run_id} (feature set '{result.feature_set}', model {protocol.model})")
    if fit.protocol == "seed":
        print(
            "protocol: seed (random 80/20 split; calibration fitted on the test rows it is "
            "scored on: optimistic)"
        )
    else:
        print(
            f"protocol: spatial ({protocol.folds}-fold blocked CV, "
            f"{result.counts['spatial_blocks']} blocks of {protocol.block_size:g} degrees; "
            "out-of-fold scores, calibration fitted on training blocks only)"
        )
    c = result.counts
    print(
        f"labels: {c['labels']} -> {c['after_proportion_inspected']} (inspected) -> "
        f"{c['after_mine_type']} (mine type) -> {c['after_confidence']} (confidence); "
        f"{c['labels_joined']} joined to {c['training_rows']} rows, {c['positives']} positive"
    )
    if fit.best_alpha is not None:
        print(f"Best alpha: {fit.best_alpha}")
    else:
        print(f"Best parameters: {fit.best_params}")
    print(f"AUC before calibration: {fit.auc_uncalibrated:.3f}")
    print(f"AUC after calibration: {fit.auc_calibrated:.3f}")
    _print_metrics(result.metrics, fit.protocol)
    shown = "view asmdb.latest_predictions" if promote else "not promoted"
    print(f"tiles predicted: {c['tiles_predicted']} -> asmdb.predictions, {shown}")
    for path in result.plots:
        print(f"plot: {path}")


def _print_metrics(metrics: dict, protocol: str) -> None:
    from asm_db.metrics import interval_note, metric_rows

    _print_table([("metric", "before calibration", "after calibration"), *metric_rows(metrics)])
    print(interval_note(metrics, protocol))


def _print_table(rows: list[tuple[str, ...]]) -> None:
    """Rows as aligned columns of plain text (stdout stays readable by scripts)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


runs_app = typer.Typer(
    help="Model runs: list, show, compare, promote.", invoke_without_command=True
)
app.add_typer(runs_app, name="runs")


def _run_line(run) -> str:
    m = run.metrics
    return (
        f"{run.run_id}{' *' if run.shown else '  '}\t{run.created_at:%Y-%m-%d %H:%M}\t"
        f"{run.feature_set}\t{run.protocol}\t{run.model}\t"
        f"auc={m['auc_uncalibrated']:.3f}/{m['auc_calibrated']:.3f}\t"
        f"tiles={run.counts['tiles_predicted']}"
    )


@runs_app.callback()
def runs(ctx: typer.Context, database_url: DatabaseUrl = None) -> None:
    """List model runs, newest first (* marks the run latest_predictions shows)."""
    if ctx.invoked_subcommand is None:
        runs_list(database_url)


@runs_app.command("list")
def runs_list(database_url: DatabaseUrl = None) -> None:
    """List model runs, newest first (* marks the run latest_predictions shows)."""
    from asm_db.runs import list_runs

    for run in list_runs(create_engine(database_url)):
        print(_run_line(run))


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="Run to show.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A run's protocol, data counts, metrics with intervals, and how to reproduce it."""
    from dataclasses import asdict

    from asm_db.runs import reproduce_command, show_run

    run = show_run(create_engine(database_url), run_id)
    if as_json:
        print(json.dumps(asdict(run), default=str))
        return
    print(_run_line(run))
    print(f"promoted at: {run.promoted_at or 'never'}; shown: {'yes' if run.shown else 'no'}")
    print(
        "counts: " + ", ".join(f"{k}={v}" for k, v in run.counts.items() if not isinstance(v, dict))
    )
    _print_metrics(run.metrics, run.protocol)
    top = run.metrics.get("top_features", [])[:5]
    if top:
        print("top features: " + ", ".join(f"{f['feature']} ({f['importance']:.3g})" for f in top))
    print(f"data fingerprint: {run.data_fingerprint or '-'}; code: {run.code_version or '-'}")
    print(f"reproduce: {reproduce_command(run)}")


@runs_app.command("compare")
def runs_compare(
    first: Annotated[int, typer.Argument(help="A run.")],
    second: Annotated[int, typer.Argument(help="Another run.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Two runs' metrics side by side, and how much their probability maps differ."""
    from asm_db.metrics import metric_rows
    from asm_db.runs import compare_runs

    comparison = compare_runs(create_engine(database_url), first, second)
    a, b = comparison.first, comparison.second
    rows = [("", f"run {a.run_id}", f"run {b.run_id}")]
    rows += [("protocol", a.protocol, b.protocol), ("model", a.model, b.model)]
    rows += [("feature set", a.feature_set, b.feature_set)]
    for (name, a_before, a_after), (_, b_before, b_after) in zip(
        metric_rows(a.metrics), metric_rows(b.metrics), strict=False
    ):
        rows.append((f"{name}, before calibration", a_before, b_before))
        rows.append((f"{name}, after calibration", a_after, b_after))
    rows.append(("training rows", str(a.counts["training_rows"]), str(b.counts["training_rows"])))
    rows.append(("same data", "yes" if a.data_fingerprint == b.data_fingerprint else "no", ""))
    _print_table(rows)
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


@runs_app.command("promote")
def runs_promote(
    run_id: Annotated[int, typer.Argument(help="Run to show in asmdb.latest_predictions.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Make a run the one asmdb.latest_predictions (and so QGIS) shows."""
    from asm_db.runs import promote_run

    run = promote_run(create_engine(database_url), run_id)
    print(
        f"run {run.run_id} promoted: asmdb.latest_predictions shows its {run.counts['tiles_predicted']} tiles"
    )


@app.command()
def report(
    run_id: Annotated[int, typer.Argument(help="Run to report on.")],
    out: Annotated[Path, typer.Argument(help="HTML file to write.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Write a one-page, self-contained HTML report of a run."""
    from asm_db.report import write_report

    print(write_report(create_engine(database_url), run_id, out))


@app.command("sample-data")
def sample_data(
    out_dir: Annotated[
        Path, typer.Argument(help="Folder for SLE_mines.csv and SLE_features.feather.")
    ],
    tiles_per_side: Annotated[int, typer.Option(help="Grid of N x N tiles.", min=4)] = 40,
    features: Annotated[int, typer.Option(help="Features per tile.", min=1)] = 4000,
    labels: Annotated[int, typer.Option(help="Number of labels.", min=10)] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Write a small realistic data set in the seed's two file formats."""
    from asm_db.sample import write_sample_data

    data = write_sample_data(
        out_dir,
        n_lat=tiles_per_side,
        n_lon=tiles_per_side,
        n_features=features,
        n_labels=labels,
        seed=seed,
    )
    print(f"{data.labels}: {data.n_labels} labels")
    print(f"{data.features}: {data.n_tiles} tiles x {data.n_features} features")


Service = Annotated[
    str | None,
    typer.Option(
        help="pg_service.conf service the project's layers connect through (recommended); "
        "default: this database's host, port and name, each user's own credentials."
    ),
]
ProjectName = Annotated[str, typer.Option("--name", help="Name of the stored project.")]


def _print_project(project) -> None:
    xmin, ymin, xmax, ymax = project.extent
    print(
        f"project '{project.name}' in asmdb.qgis_projects: {', '.join(project.layers)}; "
        f"extent {xmin:.3f},{ymin:.3f} {xmax:.3f},{ymax:.3f}"
    )


@qgis_app.command("install")
def qgis_install(
    service: Service = None, name: ProjectName = "asmdb", database_url: DatabaseUrl = None
) -> None:
    """Write the default layer styles and the stored project (Open From > PostgreSQL)."""
    from asm_db.project import install_qgis

    styled, project = install_qgis(create_engine(database_url), service=service, name=name)
    print(f"default styles in public.layer_styles: {', '.join(styled)}")
    _print_project(project)


@qgis_app.command("project")
def qgis_project(
    service: Service = None, name: ProjectName = "asmdb", database_url: DatabaseUrl = None
) -> None:
    """Rebuild the stored QGIS project from the data now in the database."""
    from asm_db.project import build_project

    _print_project(build_project(create_engine(database_url), service=service, name=name))


@roles_app.command("create")
def roles_create(
    name: Annotated[
        str, typer.Option("--name", help="Name of the read-only role.")
    ] = "asmdb_reader",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="ASMDB_READER_PASSWORD",
            help="Login password (default: none set; the server's other methods apply).",
            show_envvar=True,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a read-only login role: reads asmdb's data, styles and project, writes nothing."""
    from asm_db.roles import create_reader

    role = create_reader(create_engine(database_url), name, password)
    verb = "created" if role.created else "updated"
    print(f"role {role.name} {verb}: read-only on database {role.database}")
    if not role.password_set:
        err.print(
            "note: no password given (--password or ASMDB_READER_PASSWORD); the role logs in "
            "only where the server trusts it without one",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@export_app.command("predictions")
def export_predictions_command(
    out: Annotated[Path, typer.Argument(help="OUT.gpkg (style embedded) or OUT.parquet.")],
    run: Annotated[int | None, typer.Option(help="Run to export (default: the latest).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write a run's probability map to a GeoPackage or GeoParquet file, styled for QGIS."""
    from asm_db.export import export_predictions

    result = export_predictions(create_engine(database_url), out, run)
    print(f"{result.path}: run {result.run_id}, {result.rows} tiles, style {result.style}")


review_app = typer.Typer(
    help="The review loop: queue tiles, take reviews back, estimate area.", no_args_is_help=True
)
app.add_typer(review_app, name="review")
RunOption = Annotated[int | None, typer.Option("--run", help="Run (default: the promoted one).")]


@review_app.command("queue")
def review_queue(
    run: RunOption = None,
    hotspots: Annotated[
        int, typer.Option(help="Most likely tiles with no label nearby.", min=0)
    ] = 20,
    uncertain: Annotated[int, typer.Option(help="Tiles nearest the threshold.", min=0)] = 20,
    per_stratum: Annotated[
        int, typer.Option(help="Random tiles per probability class (for area estimates).", min=0)
    ] = 20,
    threshold: Annotated[float, typer.Option(help="Probability the map calls ASM.")] = 0.5,
    min_label_distance: Annotated[
        float, typer.Option(help="Hotspots/uncertain: no label within this (degrees).")
    ] = 0.02,
    spacing: Annotated[
        float, typer.Option(help="Hotspots/uncertain: at least this far apart (degrees).")
    ] = 0.03,
    seed: Annotated[int, typer.Option(help="Seed of the random sample.")] = 1991,
    database_url: DatabaseUrl = None,
) -> None:
    """Choose tiles to review and add them to asmdb.review_queue (a QGIS layer)."""
    from asm_db.review import make_queue

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


@review_app.command("export")
def review_export(
    out: Annotated[Path, typer.Argument(help="OUT.gpkg for offline review.")],
    run: RunOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the review queue to a GeoPackage, styled by status, to review offline."""
    from asm_db.review import export_queue

    print(f"{out}: {export_queue(create_engine(database_url), out, run)} tiles to review")


@review_app.command("import")
def review_import(
    file: Annotated[Path, typer.Argument(help="GeoPackage (from `review export`) or CSV.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Take reviews back by review_id and turn confirmed/rejected ones into labels."""
    from asm_db.review import import_reviews

    r = import_reviews(create_engine(database_url), file)
    print(f"{r.path}: {r.updated} reviews; labels {r.labels_added} new, {r.labels_updated} updated")
    for review_id, unique_id in r.contradictions:
        print(f"contradiction: review {review_id} disagrees with label {unique_id}; left as is")


@review_app.command("labels")
def review_labels(database_url: DatabaseUrl = None) -> None:
    """Turn confirmed/rejected reviews made in QGIS into labels (idempotent)."""
    from asm_db.review import reviews_to_labels

    added, updated, contradictions = reviews_to_labels(create_engine(database_url))
    print(f"labels from reviews: {added} new, {updated} updated")
    for review_id, unique_id in contradictions:
        print(f"contradiction: review {review_id} disagrees with label {unique_id}; left as is")


@review_app.command("estimate")
def review_estimate(
    run: RunOption = None,
    threshold: Annotated[float, typer.Option(help="Probability the map calls ASM.")] = 0.5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Area of ASM and map accuracy with 95% intervals, from the reviewed stratified sample."""
    from asm_db.area import estimate_area
    from asm_db.database import connect, driver
    from asm_db.runs import resolve_run

    engine = create_engine(database_url)
    with connect(engine) as conn:
        run_id = resolve_run(driver(conn), run)
    e = estimate_area(engine, run_id, threshold)
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


def main() -> None:
    """Entry point: AsmdbError becomes one line on stderr and exit status 1."""
    try:
        app()
    except AsmdbError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
