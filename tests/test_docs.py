"""The README and the pages under docs/: short enough to read, and every test they cite exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

# `tests/sub/test_x.py`, `tests/sub/test_x.py::test_name`, a bare `test_x.py`, and `::test_name`
# after a file in the same line.
CITATION = re.compile(r"`((?:[\w.-]+/)*test_\w+\.py)(?:::(test_\w+))?`|`::(test_\w+)`")


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


def cited_files(cited: str) -> list[Path]:
    """The test files a citation names: the file at a path from the root (`tests/sub/test_x.py`),
    or every file of a bare name anywhere under tests/."""
    if "/" in cited:
        path = ROOT / cited
        return [path] if path.is_file() else []
    return sorted(TESTS.rglob(cited))


def test_every_test_a_page_cites_exists():
    cited = 0
    for page in PAGES:
        if not page.exists():
            continue
        for line, file_name, test_name in citations(page.read_text()):
            where = f"{page.relative_to(ROOT)}:{line}"
            files = cited_files(file_name)
            assert files, f"{where} cites {file_name}, which is not a test file"
            assert len(files) == 1, (
                f"{where} cites {file_name}, found {len(files)} times: give its path"
            )
            if test_name:
                assert _defines(files, test_name), (
                    f"{where} cites {file_name}::{test_name}, which {file_name} does not define"
                )
            cited += 1
    assert cited > 50  # the guarantees alone cite more: the pages were read


def test_a_citation_of_a_missing_test_is_found():
    page = (
        "`tests/cli/test_app.py::test_no_such_test`, `::test_bad_option_is_a_usage_error`; "
        "`tests/test_nope.py`, `test_search.py`"
    )
    assert citations(page) == [
        (1, "tests/cli/test_app.py", "test_no_such_test"),
        (1, "tests/cli/test_app.py", "test_bad_option_is_a_usage_error"),
        (1, "tests/test_nope.py", None),
        (1, "test_search.py", None),
    ]
    app = cited_files("tests/cli/test_app.py")
    assert not _defines(app, "test_no_such_test")
    assert _defines(app, "test_bad_option_is_a_usage_error")
    assert cited_files("tests/test_nope.py") == []
    assert len(cited_files("test_search.py")) == 2  # modeling's and similar's: a path is needed


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
