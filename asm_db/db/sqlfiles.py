"""Loads the SQL statements shipped in `sql/` (installed as the `asm_db.sql` package)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from asm_db import layers


@cache
def load_sql(name: str) -> str:
    """Return the text of `sql/<name>.sql`; placeholders are psycopg's `%(name)s`."""
    return resources.files("asm_db.sql").joinpath(f"{name}.sql").read_text(encoding="utf-8")


# Replaceable objects (CREATE OR REPLACE), re-applied after every upgrade, in dependency order:
# the functions the layers read, then the published layers' views (`asm_db.layers`).
REPLACEABLE_FILES = (
    "filtered_labels",
    "label_tiles",
    "promoted_map",
    "promoted_run",
    *layers.sql_files(),
)
