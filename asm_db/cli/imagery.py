"""`asmdb imagery`: make a period's composite from a STAC API, register, list, show, delete."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, Yes, confirmation, print_table
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
