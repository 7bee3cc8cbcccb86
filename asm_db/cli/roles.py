"""`asmdb roles`: database roles for the people who use asmdb."""

from __future__ import annotations

from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, err
from asm_db.db.engine import create_engine

app = typer.Typer(help="Database roles for people who use asmdb.", no_args_is_help=True)


@app.command("create")
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
    from asm_db.publish.roles import create_reader

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
