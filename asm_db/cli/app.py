"""The `asmdb` command: one module per command group; each turns options into one library call
and its result into output.

Results go to stdout; progress and errors to stderr. A user's mistake is one line and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from typing import Annotated

import typer

from asm_db.cli import (
    change,
    db,
    export,
    featurize,
    imagery,
    ingest,
    labels,
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
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from asm_db import __version__

        print(f"asmdb {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print asmdb's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """asmdb: map artisanal and small-scale mining from satellite features in PostGIS."""


app.add_typer(db.app, name="db")
app.add_typer(ingest.app, name="ingest")
app.add_typer(labels.app, name="labels")
app.command("featurize")(featurize.featurize)
app.add_typer(featurize.app, name="feature-sets")
app.add_typer(imagery.app, name="imagery")
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


# Typer's names for what an option takes, in click's plain words.
_VALUE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN"}


def _metavar(param) -> str:
    """What an option takes, as click names it (TEXT, FLOAT, PATH, [a|b])."""
    label = param.display_type(None).strip("<>")  # Typer's "<int range>", "<spatial|seed>"
    if "|" in label:
        return f"[{label.removeprefix('list[').removesuffix(']')}]"
    base = label.removeprefix("list[").removesuffix("]").split()[0]
    return _VALUE_NAMES.get(base, base.upper())


def _plain_argument(param) -> None:
    """An argument shown as FILE (or [FILE], IMAGERY...), without Typer's braces and type."""
    shown = param.name.upper() + ("..." if param.nargs != 1 else "")
    usage = shown if param.required else f"[{shown}]"
    help_record = param.get_help_record

    def plain_record(ctx):
        record = help_record(ctx)
        return None if record is None else (shown, record[1])

    param.metavar = shown  # also in errors: "Missing argument 'FILE'"
    param.get_usage_pieces = lambda ctx: [usage]
    param.get_help_record = plain_record


def plain_help(command):
    """`command` and its subcommands with click's plain help (one line per option, names never
    cut at 80 columns) and plain names for values instead of Typer's `<bool>`, `{file}`."""
    command.rich_markup_mode = None
    for param in command.params:
        if param.param_type_name == "argument":
            _plain_argument(param)
        elif param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = _metavar(param)
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    return command


def command():
    """The `asmdb` command as click runs it."""
    return plain_help(typer.main.get_command(app))


def run(args: list[str]) -> int:
    """Run `asmdb` with `args` in this process; return the status the command exits with.

    Typer prints usage errors (status 2) itself; a user's error (see `asm_db.cli.errors`)
    becomes one line on stderr and a non-zero status; a bug keeps its traceback.
    """
    try:
        command().main(args, prog_name="asmdb")
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


class Terminated(SystemExit):
    """SIGTERM: unwind like Ctrl-C, so open transactions roll back and local Dask workers
    are shut down by the code that started them, then exit 143 (128 + SIGTERM)."""


# Libraries that log (with tracebacks) the errors of cleaning up after an interrupted query.
CLEANUP_LOGGERS = ("psycopg", "sqlalchemy.pool", "sqlalchemy.engine", "distributed", "tornado")


def _terminate(signum, frame) -> None:
    # Unwinding may interrupt a query mid-protocol: the rollback that follows fails, and that is
    # expected; the user sees "terminated", not the cleanup's tracebacks.
    for name in CLEANUP_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    raise Terminated(128 + signum)


def main() -> None:
    """Entry point of the installed command."""
    signal.signal(signal.SIGTERM, _terminate)
    _exit(run(sys.argv[1:]))


def _exit(status: int) -> None:
    """End the process once the command is done. With no other thread left (worker pools
    have manager threads: those exit as usual, in order), the exit handlers run (logging) and
    the output is flushed, but the interpreter is not torn down module by module, which with
    scikit-learn, SciPy and SQLAlchemy loaded takes a quarter of a second or more after the
    work is over."""
    if threading.active_count() > 1:
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`asmdb ... | head`): nothing to flush to
            pass
    os._exit(status)
