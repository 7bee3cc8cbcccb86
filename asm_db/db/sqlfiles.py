"""Loads the SQL shipped in `sql/` (installed as the `asm_db.sql` package).

`sql/schema/` holds the replaceable objects (views and functions made with CREATE OR REPLACE),
numbered so that file order is apply order; the other folders, one per package, hold the
statements the code runs, loaded by their path: `load_sql("review/queue_insert")`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

SCHEMA_FOLDER = "schema"


def _sql_root() -> Traversable:
    return resources.files("asm_db.sql")


@cache
def load_sql(name: str) -> str:
    """Return the text of `sql/<name>.sql` (`name` as "folder/stem"); placeholders are `%(x)s`."""
    folder, _, stem = name.partition("/")
    if not stem or "/" in stem or folder == SCHEMA_FOLDER:
        raise ValueError(f"an SQL statement is named folder/stem, outside schema/: {name!r}")
    return _sql_root().joinpath(folder, f"{stem}.sql").read_text(encoding="utf-8")


def replaceable_files() -> list[tuple[str, str]]:
    """(file name, text) of every file in `sql/schema/`, in apply order (by file name)."""
    folder = _sql_root().joinpath(SCHEMA_FOLDER)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name, f.read_text(encoding="utf-8")) for f in files]
