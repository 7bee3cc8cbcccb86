"""`asmdb ingest`: labels and feature files into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, notify, progress_bar
from asm_db.db.engine import create_engine

app = typer.Typer(help="Load labels or features into the database.", no_args_is_help=True)


@app.command("labels")
def ingest_labels_command(
    file: Annotated[Path, typer.Argument(help="CSV, GeoPackage, GeoJSON or Parquet of labels.")],
    date_column: Annotated[
        str | None,
        typer.Option(
            help="Column holding the date each label was observed, as ISO 8601 YYYY-MM-DD "
            "(default: observed_at, when the file has it).",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Load field labels (upsert by unique_id); quality filters apply at training time."""
    from asm_db.publish.workflows import ingest_labels_styled

    result = ingest_labels_styled(
        create_engine(database_url), file, notify=notify, date_column=date_column
    )
    dated = f", {result.dated} with an observation date" if result.dated else ""
    print(
        f"{result.path}: {result.rows} labels ({result.added} new, {result.updated} updated"
        f"{dated}) in {result.seconds:.1f} s"
    )


@app.command("features")
def ingest_features_command(
    file: Annotated[Path, typer.Argument(help="Feather, Parquet or CSV of MOSAIKS features.")],
    feature_set: Annotated[
        str, typer.Option(help="Name of the feature set to load into.")
    ] = "default",
    tile_size: Annotated[
        float,
        typer.Option(
            help="Tile edge in degrees: the feature set is on the grid of that cell size "
            "from (-180, -90), recorded when new.",
        ),
    ] = 0.01,
    batch_rows: Annotated[
        int, typer.Option(help="Rows per COPY batch (bounds memory).", min=1)
    ] = 1000,
    source: Annotated[
        str | None, typer.Option(help="Name of the product, e.g. mosaiks-planet-2019q3.")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(help="Dates the imagery shows, START/END, e.g. 2019-07-01/2019-09-30."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Load a feature file as tiles and feature vectors (binary COPY in batches, upsert)."""
    from asm_db.ingest.features import ingest_features

    with progress_bar(f"ingest {file.name}") as progress:
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
            notify=notify,
            source=source,
            period=period,
        )
    print(
        f"{result.path}: {result.rows} tiles x {result.n_features} features into feature set "
        f"'{result.feature_set}' ({result.tiles_added} new tiles) in {result.seconds:.1f} s"
    )
