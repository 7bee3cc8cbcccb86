"""The `asmdb` command: one module per command group; each turns options into one library call
and its result into output.

Results go to stdout; progress and errors to stderr. A user's mistake is one line and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from asm_db.cli import (
    change,
    db,
    export,
    featurize,
    ingest,
    maps,
    qgis,
    review,
    roles,
    runs,
    sample,
    serve,
    similar,
    train,
)
from asm_db.cli.common import err
from asm_db.cli.errors import one_line

app = typer.Typer(
    help="asmdb: map artisanal and small-scale mining from satellite features in PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(ingest.app, name="ingest")
app.command("featurize")(featurize.featurize)
app.add_typer(featurize.app, name="feature-sets")
app.command("train")(train.train)
app.add_typer(runs.app, name="runs")
app.command("predict")(maps.predict)
app.add_typer(maps.app, name="maps")
app.command("change")(change.change)
app.command("report")(runs.report)
app.add_typer(review.app, name="review")
app.add_typer(qgis.app, name="qgis")
app.add_typer(roles.app, name="roles")
app.add_typer(export.app, name="export")
app.command("sample-data")(sample.sample_data)
app.command("serve")(serve.serve)
app.command("similar")(similar.similar)


def run(args: list[str]) -> int:
    """Run `asmdb` with `args` in this process; return the status the command exits with.

    Typer prints usage errors (status 2) itself; a user's error (see `asm_db.cli.errors`)
    becomes one line on stderr and a non-zero status; a bug keeps its traceback.
    """
    try:
        app(args, prog_name="asmdb")
    except SystemExit as done:
        mapped = one_line(done)  # Typer ends a Ctrl-C with an exit of its own
        if mapped is not None:
            err.print(mapped[0], markup=False, highlight=False, soft_wrap=True)
            return mapped[1]
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        err.print(done.code, markup=False, highlight=False, soft_wrap=True)
        return 1
    except BaseException as exc:
        mapped = one_line(exc)
        if mapped is None:
            raise  # a bug: its traceback is what helps
        message, status = mapped
        err.print(message, markup=False, highlight=False, soft_wrap=True)
        return status
    return 0


def main() -> None:
    """Entry point of the installed command."""
    sys.exit(run(sys.argv[1:]))
