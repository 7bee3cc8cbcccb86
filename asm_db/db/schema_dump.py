"""The asmdb schema at head as one readable SQL file (docs/schema.sql), from pg_dump.

`python -m asm_db.db.schema_dump --database-url URL` prints the normalised
`pg_dump --schema-only --schema=asmdb` of a database (freshly upgraded: `scripts/schema`
rewrites docs/schema.sql and docs/sql.md from a throwaway one); tests/test_schema_docs.py
fails when the migrations no longer make what docs/schema.sql says.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from asm_db.db.engine import database_url

SCHEMA = "asmdb"
PG_BIN_ENV = "ASMDB_PG_BIN"
DEFAULT_PG_BIN = "/usr/lib/postgresql/15/bin"

# What differs between two dumps of the same schema: pg_dump's comments (versions, object
# headers), session settings, and psql's per-dump \restrict keys.
_DROPPED = re.compile(r"^(--|SET |SELECT pg_catalog\.set_config\(|\\restrict |\\unrestrict )")


def pg_dump_path() -> str:
    """pg_dump from ASMDB_PG_BIN, else the PostgreSQL 15 of Debian, else the PATH."""
    candidate = Path(os.environ.get(PG_BIN_ENV, DEFAULT_PG_BIN)) / "pg_dump"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("pg_dump")
    if found is None:
        raise FileNotFoundError(f"no pg_dump in {candidate.parent} nor on the PATH")
    return found


def libpq_url(url: str | None = None) -> str:
    """The asmdb database URL as libpq reads it (no SQLAlchemy driver name)."""
    parsed = make_url(database_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def normalise(dump: str) -> str:
    """The dump without comments, settings and blank-line runs: equal for equal schemas."""
    lines = [line.rstrip() for line in dump.splitlines() if not _DROPPED.match(line)]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text + "\n"


def dump_schema(url: str | None = None) -> str:
    """The normalised schema-only dump of the asmdb schema, without owners."""
    out = subprocess.run(
        [
            pg_dump_path(),
            "--schema-only",
            f"--schema={SCHEMA}",
            "--no-owner",
            "--no-tablespaces",
            "--dbname",
            libpq_url(url),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return normalise(out.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: ASMDB_DATABASE_URL")
    args = parser.parse_args(argv)
    print(dump_schema(args.database_url), end="")


if __name__ == "__main__":
    main()
