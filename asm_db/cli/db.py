"""`asmdb db`: create, migrate or remove the schema."""

from __future__ import annotations

from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, Yes, confirmation
from asm_db.db.engine import create_engine, downgrade, redacted

app = typer.Typer(help="Create or migrate the asmdb schema (Alembic).", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Install PostGIS (if needed), migrate the schema to the latest revision and write the
    layers' default QGIS styles."""
    from asm_db.publish.workflows import upgrade_database

    engine = create_engine(database_url)
    now = upgrade_database(engine, revision)
    print(f"database {redacted(engine.url)} at revision {now}")


@app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes asmdb.")],
    yes: Yes = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Migrate the schema down (each revision has a working downgrade); 'base' asks first."""
    engine = create_engine(database_url)
    if revision == "base":
        confirmation(yes)(
            f"remove everything asmdb made in {redacted(engine.url)} (labels, feature sets, "
            "runs, maps, reviews)?"
        )
    now = downgrade(engine, revision)
    print(f"database {redacted(engine.url)} at revision {now}")
