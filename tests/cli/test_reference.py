"""docs/commands.md is every command's `--help` as the code has it now (asm_db.cli.reference)."""

import re
from pathlib import Path

from asm_db.cli.reference import REGENERATE, command_helps, render, section

PAGE = Path(__file__).resolve().parents[2] / "docs" / "commands.md"


def _sections(text: str) -> dict[str, str]:
    """The page's sections by command name (`asmdb ingest labels`)."""
    parts = re.split(r"^## `([^`]+)`\n", text, flags=re.MULTILINE)
    return {
        name: f"## `{name}`\n{body}" for name, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def test_the_command_reference_holds_every_command_and_its_current_help():
    page = PAGE.read_text()
    written = _sections(page)
    helps = list(command_helps())
    for name, help_text in helps:
        assert name in written, f"docs/commands.md lacks `{name}`: run `{REGENERATE}`"
        expected = section(name, help_text)
        assert written[name].rstrip() == expected.rstrip(), (
            f"docs/commands.md is stale for `{name}`: run `{REGENERATE}`"
        )
    gone = sorted(set(written) - {name for name, _ in helps})
    assert not gone, f"docs/commands.md documents {gone}, which asmdb lacks: run `{REGENERATE}`"
    assert page == render(), f"docs/commands.md is stale: run `{REGENERATE}`"


def test_the_command_reference_covers_every_command_of_the_app():
    names = [name for name, _ in command_helps()]
    for expected in ("asmdb", "asmdb ingest labels", "asmdb review estimate", "asmdb serve"):
        assert expected in names
    assert len(names) == len(set(names))
    for name, help_text in command_helps():
        assert help_text.startswith(f"Usage: {name} "), name
        assert all(len(line) <= 80 for line in help_text.splitlines()), name
