"""What every command shares: the database option, stderr, progress bars, plain tables."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from asm_db.db.engine import URL_ENV
from asm_db.errors import AsmdbError

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


def notify(message: str) -> None:
    err.print(message, markup=False, highlight=False, soft_wrap=True)


def progress_bar(description: str) -> Progress:
    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # no bar in logs and pipes
    )


def print_table(rows: list[tuple[str, ...]]) -> None:
    """Rows as aligned columns of plain text (stdout stays readable by scripts)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


# Connections a command may open to stream tiles (far below PostgreSQL's max_connections).
MAX_READERS = 64
Readers = Annotated[
    int,
    typer.Option(
        help="Connections streaming tiles to score at once (about two per core).",
        min=1,
        max=MAX_READERS,
    ),
]
# A random seed: what numpy and scikit-learn take.
SEED_MIN, SEED_MAX = 0, 2**32 - 1


def confirmation(yes: bool) -> Callable[[str], None]:
    """What a deleting command asks before it commits: nothing with --yes; at a terminal, the
    question (no keeps everything); elsewhere (a script) it stops, asking for --yes."""

    def confirm(question: str) -> None:
        if yes:
            return
        if sys.stdin.isatty() and sys.stderr.isatty():
            if typer.confirm(question, err=True):
                return
            raise AsmdbError("not confirmed: nothing changed")
        raise AsmdbError(f"{question[:-1]}: add --yes to do it (nothing changed)")

    return confirm


Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking.")]
