"""The command reference, docs/commands.md, made from every command's `--help`.

    python -m asm_db.cli.reference > docs/commands.md

Each command and sub-command of `asmdb`, in the order `asmdb --help` lists them, gets a heading
and its help as plain text at a fixed width of 80 columns, whatever the terminal, so the page
changes only when a help text does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

WIDTH = 80
REGENERATE = "python -m asm_db.cli.reference > docs/commands.md"

HEADER = f"""\
# Command reference

Every `asmdb` command's `--help`, in the order `asmdb --help` lists them. Generated, do not edit:
after changing a command, run `{REGENERATE}`
(`tests/cli/test_reference.py` fails while this page is stale).

Every command takes `--database-url` or reads `ASMDB_DATABASE_URL`; see the
[README](../README.md) for the workflows these commands make up.
"""


def command_helps() -> Iterator[tuple[str, str]]:
    """Each command's name (`asmdb ingest labels`) and its help text: the root first, then each
    command, a group followed by its sub-commands, in the order the help lists them."""
    from asm_db.cli.app import command

    root = command()

    def walk(cmd, parent, name: str):
        ctx = cmd.context_class(
            cmd, info_name=name, parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
        )
        yield ctx.command_path, cmd.get_help(ctx)
        for sub_name, sub in getattr(cmd, "commands", {}).items():
            if not sub.hidden:
                yield from walk(sub, ctx, sub_name)

    yield from walk(root, None, "asmdb")


def section(name: str, help_text: str) -> str:
    """One command's part of the page: a heading and its help in a code block."""
    return f"## `{name}`\n\n```text\n{help_text.rstrip()}\n```\n"


def render() -> str:
    """The whole page, as docs/commands.md holds it."""
    return "\n".join([HEADER, *(section(name, text) for name, text in command_helps())])


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
