"""`asmdb imagery`: make a period's composite from a STAC API, register, list, show, delete."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, Yes, confirmation, print_table, progress_bar
from asm_db.db.engine import create_engine
from asm_db.imagery.hosts import ENV as HOSTS_ENV

app = typer.Typer(
    help="Make, register, list, show or delete imagery (featurize --imagery NAME reads it).",
    no_args_is_help=True,
)

AllowHosts = Annotated[
    str | None,
    typer.Option(
        help="Fetch only from these hosts, HOST[,HOST...]: a URL naming another host is "
        "refused before anything is read (default: any host).",
        envvar=HOSTS_ENV,
    ),
]


@app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="Name to register the imagery under.")],
    files: Annotated[list[str], typer.Argument(help="Raster files (GeoTIFF/COG/VRT) or folders.")],
    period: Annotated[str, typer.Option(help="Dates the imagery shows, START/END.")],
    allow_hosts: AllowHosts = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register imagery made elsewhere (a composite, a basemap, embedding rasters)."""
    from asm_db.imagery.hosts import parse_hosts
    from asm_db.imagery.registry import add_imagery

    record = add_imagery(
        create_engine(database_url),
        name,
        files,
        period=period,
        allowed_hosts=parse_hosts(allow_hosts),
    )
    print(
        f"registered imagery '{record.name}': {len(record.files)} file(s), "
        f"bands {','.join(record.bands)}, {record.period_start}/{record.period_end}"
    )


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Every registered imagery: period, bounds, bands, files."""
    from asm_db.imagery.registry import list_imagery

    records = list_imagery(create_engine(database_url))
    if as_json:
        print(json.dumps([r.as_json() for r in records], indent=2))
        return
    table = [("name", "period", "bands", "files", "empty", "W,S,E,N")]
    for r in records:
        empty = "" if r.empty_fraction is None else f"{r.empty_fraction:.1%}"
        table.append(
            (
                r.name,
                f"{r.period_start or ''}/{r.period_end or ''}",
                ",".join(r.bands),
                str(len(r.files)),
                empty,
                ",".join(f"{v:.4f}" for v in r.bounds),
            )
        )
    print_table(table)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Imagery name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """One imagery's record: period, bands, files, scale, stretch and provenance."""
    from asm_db.imagery.registry import get_imagery

    record = get_imagery(create_engine(database_url), name).as_json()
    if as_json:
        print(json.dumps(record, indent=2))
        return
    for key, value in record.items():
        shown = (
            value if isinstance(value, str | int | float) or value is None else json.dumps(value)
        )
        print(f"{key}: {shown}")


@app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="Imagery name.")],
    yes: Yes = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Unregister an imagery and remove the files asmdb wrote for it; feature sets made from
    it stay, their provenance saying it was deleted."""
    from asm_db.imagery.registry import delete_imagery

    removed, marked = delete_imagery(create_engine(database_url), name, confirm=confirmation(yes))
    kept = f"; feature sets kept: {', '.join(marked)}" if marked else ""
    print(f"deleted imagery '{name}' ({len(removed)} file(s) removed{kept})")


@app.command("composite")
def composite_command(
    name: Annotated[str, typer.Argument(help="Name to register the composite under.")],
    stac_api: Annotated[str, typer.Option(help="Root URL of a STAC API to search.")],
    collection: Annotated[str, typer.Option(help="Collection id, e.g. sentinel-2-l2a.")],
    period: Annotated[str, typer.Option(help="Dates to composite, START/END.")],
    assets: Annotated[str, typer.Option(help="Assets to composite as bands, e.g. red,green,blue.")],
    bbox: Annotated[str | None, typer.Option(help="Area W,S,E,N (degrees).")] = None,
    aoi: Annotated[str | None, typer.Option(help="Area: the bounds of this vector file.")] = None,
    mask_asset: Annotated[
        str | None, typer.Option(help="Asset of a class mask, e.g. scl (its nodata is left out).")
    ] = None,
    mask_values: Annotated[
        str | None, typer.Option(help="Mask classes to leave out, e.g. 3,8,9,10 (SCL).")
    ] = None,
    max_cloud: Annotated[
        float | None, typer.Option(help="Skip items whose eo:cloud_cover is above this (%).")
    ] = None,
    stat: Annotated[str, typer.Option(help="Per-pixel statistic: median or mean.")] = "median",
    tile_size: Annotated[float, typer.Option(help="Grid cell edge in degrees.")] = 0.01,
    tile_pixels: Annotated[
        int | None,
        typer.Option(help="Pixels per cell edge (default: the finest asset's native resolution)."),
    ] = None,
    out: Annotated[
        str | None, typer.Option(help="Folder of the COGs (default: asmdb-imagery/NAME).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes of a local Dask cluster (default 0: this process).", min=0
        ),
    ] = 0,
    scheduler: Annotated[
        str | None, typer.Option(help="An existing Dask scheduler, e.g. tcp://HOST:8786.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    allow_hosts: AllowHosts = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Composite a period's items of a STAC collection over an area into cloud-free COGs on the
    grid's pixels, and register them; a stopped run resumes with the same command."""
    from asm_db.cli.featurize import _numbers
    from asm_db.errors import AsmdbError
    from asm_db.imagery.composite import make_composite
    from asm_db.imagery.hosts import parse_hosts

    box = _numbers("--bbox", bbox)
    if box is not None and len(box) != 4:
        raise AsmdbError(f"--bbox {bbox!r}: expected W,S,E,N")
    with progress_bar(f"composite {name}") as bar:
        task = bar.add_task("blocks", total=None)
        result = make_composite(
            create_engine(database_url),
            name,
            stac_api=stac_api,
            collection=collection,
            period=period,
            assets=[a.strip() for a in assets.split(",")],
            bbox=box,
            aoi=aoi,
            mask_asset=mask_asset,
            mask_values=tuple(_numbers("--mask-values", mask_values) or ()),
            max_cloud=max_cloud,
            stat=stat,
            tile_size=tile_size,
            tile_pixels=tile_pixels,
            out=out,
            workers=workers,
            scheduler=scheduler,
            allowed_hosts=parse_hosts(allow_hosts),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        print(json.dumps(result.as_json(), indent=2))
        return
    resumed = f", {result.blocks_resumed} resumed" if result.blocks_resumed else ""
    print(
        f"imagery '{result.name}': {result.items} items ({result.skipped_items} skipped for "
        f"cloud), {len(result.files)} COGs{resumed}, {result.empty_fraction:.1%} empty, "
        f"in {result.seconds:.1f} s"
    )
