"""The README and the pages under docs/: short enough to read, and every test they cite exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

# `test_x.py`, `tests/sub/test_x.py::test_name`, and `::test_name` after a file in the same line.
CITATION = re.compile(r"`(?:[\w./-]*/)?(test_\w+\.py)(?:::(test_\w+))?`|`::(test_\w+)`")


def citations(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, test file name, test name or None) for every test a page cites; a bare
    `::test_name` belongs to the file cited last before it on its line."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        last = None
        for match in CITATION.finditer(line):
            file_name, test_name, bare = match.groups()
            if file_name:
                last = file_name
                found.append((number, file_name, test_name))
            elif last is not None:
                found.append((number, last, bare))
    return found


def _defines(files: list[Path], test_name: str) -> bool:
    pattern = re.compile(rf"^\s*(?:async\s+)?def {re.escape(test_name)}\(", re.MULTILINE)
    return any(pattern.search(path.read_text()) for path in files)


def test_every_test_a_page_cites_exists():
    by_name: dict[str, list[Path]] = {}
    for path in TESTS.rglob("test_*.py"):
        by_name.setdefault(path.name, []).append(path)
    cited = 0
    for page in PAGES:
        if not page.exists():
            continue
        for line, file_name, test_name in citations(page.read_text()):
            where = f"{page.relative_to(ROOT)}:{line}"
            assert file_name in by_name, f"{where} cites {file_name}, found nowhere under tests/"
            if test_name:
                assert _defines(by_name[file_name], test_name), (
                    f"{where} cites {file_name}::{test_name}, which {file_name} does not define"
                )
            cited += 1
    assert cited > 50  # the guarantees alone cite more: the pages were read


def test_a_citation_of_a_missing_test_is_found():
    page = "`test_cli.py::test_no_such_test`, `::test_bad_option_is_a_usage_error`; `test_nope.py`"
    assert citations(page) == [
        (1, "test_cli.py", "test_no_such_test"),
        (1, "test_cli.py", "test_bad_option_is_a_usage_error"),
        (1, "test_nope.py", None),
    ]
    assert not _defines([TESTS / "test_cli.py"], "test_no_such_test")
    assert _defines([TESTS / "test_cli.py"], "test_bad_option_is_a_usage_error")


def test_the_readme_is_short_and_keeps_the_two_fresh_machine_commands():
    readme = (ROOT / "README.md").read_text()
    lines = len(readme.splitlines())
    assert lines < 250, f"README.md has {lines} lines: move details to a page under docs/"
    for block in ("```\nbash scripts/demo\n```", "```\nbash scripts/test\n```"):
        assert block in readme, block


def test_every_relative_link_of_a_page_points_at_a_file():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for page in PAGES:
        if not page.exists():
            continue
        for target in link.findall(page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links {target}"
