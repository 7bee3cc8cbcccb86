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
        str | None,
        typer.Option("--name", help="Name of the role (default asmdb_reader, or asmdb_reviewer)."),
    ] = None,
    reviewer: Annotated[
        bool,
        typer.Option(
            "--reviewer",
            help="A reviewer: reads like the reader and may answer the review queue "
            "(status, reviewer, reviewed_at, notes; answer_from, answer_to for a change's "
            "sample), e.g. in the web page.",
        ),
    ] = False,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="ASMDB_READER_PASSWORD",
            help="Login password (default: none set; the server's other methods apply).",
            show_envvar=True,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Give asmdb's grants to an existing role asmdb did not make (or that is a "
            "member of other roles); its other rights stay.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a read-only login role: reads asmdb's data, styles and project, writes nothing
    (with --reviewer: may also answer the review queue)."""
    from asm_db.publish.roles import (
        DEFAULT_READER,
        DEFAULT_REVIEWER,
        create_reader,
        create_reviewer,
    )

    engine = create_engine(database_url)
    if reviewer:
        role = create_reviewer(engine, name or DEFAULT_REVIEWER, password, force)
        rights = "reads asmdb, answers the review queue"
    else:
        role = create_reader(engine, name or DEFAULT_READER, password, force)
        rights = "read-only"
    verb = "created" if role.created else "updated"
    print(f"role {role.name} {verb}: {rights} on database {role.database}")
    if role.public_role:
        print(f"role {role.public_role}: the public map layers only (anonymous web visitors)")
    if role.password_set and not role.created:
        print(f"role {role.name}: its password was changed")
    if not role.password_set:
        err.print(
            "note: no password given (--password or ASMDB_READER_PASSWORD); the role logs in "
            "only where the server trusts it without one",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
