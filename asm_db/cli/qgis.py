"""`asmdb qgis`: default styles and the stored project."""

from __future__ import annotations

from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, notify
from asm_db.db.engine import create_engine

app = typer.Typer(help="Default QGIS styles and the stored QGIS project.", no_args_is_help=True)

Service = Annotated[
    str | None,
    typer.Option(
        help="pg_service.conf service the project's layers connect through (recommended); "
        "default: this database's host, port and name, each user's own credentials."
    ),
]
ProjectName = Annotated[str, typer.Option("--name", help="Name of the stored project.")]
ImageryUrl = Annotated[
    str | None,
    typer.Option(
        help="Base URL of an `asmdb serve --public` (http or https): the project's imagery "
        "layers are its XYZ tiles (QGIS cannot log in to a server without --public); default: "
        "the imagery's files, for QGIS running where they are."
    ),
]
# QGIS sends no session cookie: a tile of a server without --public answers 401.
PUBLIC_ONLY = (
    "warning: QGIS cannot log in to asmdb serve: these imagery layers load only from a server "
    "started with --public, and imagery whose licence forbids redistribution must not be "
    "served so (docs/qgis.md)"
)


def _print_project(project, imagery_url: str | None) -> None:
    xmin, ymin, xmax, ymax = project.extent
    print(
        f"project '{project.name}' in asmdb.qgis_projects: {', '.join(project.layers)}; "
        f"extent {xmin:.3f},{ymin:.3f} {xmax:.3f},{ymax:.3f}"
    )
    if project.imagery:
        print(f"imagery, newest first: {', '.join(project.imagery)}")
    for line in project.imagery_left_out:
        notify(f"warning: {line}; left out of the project")
    if project.imagery and imagery_url is not None:
        notify(PUBLIC_ONLY)


@app.command("install")
def qgis_install(
    service: Service = None,
    name: ProjectName = "asmdb",
    imagery_url: ImageryUrl = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the default layer styles and the stored project (Open From > PostgreSQL)."""
    from asm_db.publish.project import install_qgis

    styled, project = install_qgis(
        create_engine(database_url), service=service, name=name, imagery_url=imagery_url
    )
    print(f"default styles in public.layer_styles: {', '.join(styled)}")
    _print_project(project, imagery_url)


@app.command("project")
def qgis_project(
    service: Service = None,
    name: ProjectName = "asmdb",
    imagery_url: ImageryUrl = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rebuild the stored QGIS project from the data now in the database."""
    from asm_db.publish.project import build_project

    engine = create_engine(database_url)
    project = build_project(engine, service=service, name=name, imagery_url=imagery_url)
    _print_project(project, imagery_url)
