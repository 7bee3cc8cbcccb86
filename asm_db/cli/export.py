"""`asmdb export`: results as files for people without database access."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl
from asm_db.db.engine import create_engine

app = typer.Typer(help="Write results to files.", no_args_is_help=True)


@app.command("predictions")
def export_predictions_command(
    out: Annotated[Path, typer.Argument(help="OUT.gpkg (style embedded) or OUT.parquet.")],
    run: Annotated[
        int | None,
        typer.Option(help="Export the map this run made on its own feature set."),
    ] = None,
    map_id: Annotated[
        int | None, typer.Option("--map", help="Map to export (default: the promoted one).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write a probability map to a GeoPackage or GeoParquet file, styled for QGIS."""
    from asm_db.publish.export import export_predictions

    result = export_predictions(create_engine(database_url), out, run, map_id)
    print(
        f"{result.path}: map {result.map_id} (run {result.run_id}), {result.rows} tiles, "
        f"style {result.style}"
    )


@app.command("change")
def export_change_command(
    out: Annotated[Path, typer.Argument(help="OUT.gpkg (style embedded) or OUT.parquet.")],
    change_id: Annotated[
        int | None, typer.Option("--change", help="Change to export (default: the newest).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write a change map to a GeoPackage or GeoParquet file, one styled polygon per tile:
    tile_id, p_from, p_to, delta, class (new, gone, persistent, absent, no_data)."""
    from asm_db.publish.export import export_change

    result = export_change(create_engine(database_url), out, change_id)
    print(f"{result.path}: change {result.change_id}, {result.rows} tiles, style {result.style}")


@app.command("zones")
def export_zones_command(
    out: Annotated[Path, typer.Argument(help="OUT.csv.")],
    change_id: Annotated[
        int | None,
        typer.Option(
            "--change", help="Change whose zones to export (default: the newest with zones)."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write a change's estimates by zone (from `asmdb review estimate --zones`) to CSV, one row
    per zone and class: zone, class, area_km2, low, high (the 95% interval; empty where the
    zone has too few reviews), mapped_km2, reviewed."""
    from asm_db.publish.export import export_zones

    result = export_zones(create_engine(database_url), out, change_id)
    print(
        f"{result.path}: change {result.change_id}, {result.zones} zones, {result.rows} rows "
        "(zone x class)"
    )
