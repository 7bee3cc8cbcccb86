"""The `asmdb` command: one module per command group; each turns options into one library call
and its result into output.

Results go to stdout; progress and errors to stderr. A user's mistake is one line and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from asm_db.cli import db, export, ingest, qgis, review, roles, runs, sample, train
from asm_db.cli.common import err
from asm_db.errors import AsmdbError

app = typer.Typer(
    help="asmdb: map artisanal and small-scale mining from satellite features in PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(ingest.app, name="ingest")
app.command("train")(train.train)
app.add_typer(runs.app, name="runs")
app.command("report")(runs.report)
app.add_typer(review.app, name="review")
app.add_typer(qgis.app, name="qgis")
app.add_typer(roles.app, name="roles")
app.add_typer(export.app, name="export")
app.command("sample-data")(sample.sample_data)


def run(args: list[str]) -> int:
    """Run `asmdb` with `args` in this process; return the status the command exits with.

    Typer prints usage errors (status 2) itself; a user's error becomes one line on stderr.
    """
    try:
        app(args, prog_name="asmdb")
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        err.print(done.code, markup=False, highlight=False, soft_wrap=True)
        return 1
    except Exception as exc:
        status = report_error(exc)
        if status is None:
            raise  # a bug: its traceback is what helps
        return status
    return 0


def report_error(exc: Exception) -> int | None:
    """Print a user's error as one line on stderr and return the exit status; None for a bug."""
    if isinstance(exc, AsmdbError):
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    return None


def main() -> None:
    """Entry point of the installed command."""
    sys.exit(run(sys.argv[1:]))
