"""`asmdb labels`: remove labels (`asmdb ingest labels` loads them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, Yes, confirmation, notify
from asm_db.db.engine import create_engine

app = typer.Typer(help="Labels: delete (`asmdb ingest labels` loads them).", no_args_is_help=True)


@app.command("delete")
def labels_delete(
    unique_ids: Annotated[
        list[str] | None, typer.Argument(help="unique_id of each label to delete.")
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            help="Delete the labels whose unique_id this file lists (a label file, or one id "
            "per line in a .txt file)."
        ),
    ] = None,
    source_file: Annotated[
        str | None,
        typer.Option(help="Delete every label ingested from the file of this name."),
    ] = None,
    yes: Yes = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete labels by unique_id or by the file they came from, in one transaction; an id
    that matches no label deletes nothing."""
    from asm_db.ingest.label_removal import delete_labels, unique_ids_from_file

    ids = list(unique_ids or [])
    if from_file is not None:
        ids += unique_ids_from_file(from_file)
    if not ids and source_file is None:
        raise typer.BadParameter("give unique_ids, --from-file or --source-file")
    deleted = delete_labels(
        create_engine(database_url),
        ids,
        source_file=source_file,
        confirm=confirmation(yes),
        notify=notify,
    )
    print(f"deleted {deleted} label(s)")
