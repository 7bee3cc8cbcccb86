"""docs/sql.md, the reference of the asmdb schema, generated from its COMMENT ON text.

`python -m asm_db.db.sql_reference --database-url URL` prints it for a database at head
(`scripts/schema` rewrites it from a throwaway one); tests/test_schema_docs.py fails when
docs/sql.md is stale or an object has no comment.
"""

from __future__ import annotations

import argparse

from asm_db.db.engine import connect, create_engine, driver
from asm_db.db.sqlfiles import load_sql

KINDS = {"r": "Tables", "p": "Tables", "v": "Views"}


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def sql_reference(pg) -> str:
    """The Markdown reference of the asmdb schema on connection `pg` (psycopg)."""
    relations = pg.execute(load_sql("db/schema_relations")).fetchall()
    columns: dict[str, list[tuple]] = {}
    for relation, column, kind, comment in pg.execute(load_sql("db/schema_columns")):
        columns.setdefault(relation, []).append((column, kind, comment))
    out = [
        "# The asmdb schema",
        "",
        "Generated from the schema's `COMMENT ON` text by `scripts/schema` (do not edit by hand).",
        "The whole schema as SQL is [schema.sql](schema.sql).",
    ]
    for heading in ("Tables", "Views"):
        out += ["", f"## {heading}"]
        for name, relkind, comment in relations:
            if KINDS[relkind] != heading:
                continue
            out += ["", f"### asmdb.{name}", "", _cell(comment), ""]
            out += ["| column | type | description |", "| --- | --- | --- |"]
            out += [f"| {c} | {_cell(t)} | {_cell(d)} |" for c, t, d in columns.get(name, [])]
    out += ["", "## Functions", "", "| function | returns | description |", "| --- | --- | --- |"]
    for signature, returns, comment in pg.execute(load_sql("db/schema_functions")):
        out.append(f"| `asmdb.{_cell(signature)}` | {_cell(returns)} | {_cell(comment)} |")
    return "\n".join(out) + "\n"


def uncommented(pg) -> list[str]:
    """Tables, views, columns and functions of the asmdb schema that have no comment."""
    return [row[0] for row in pg.execute(load_sql("db/schema_uncommented"))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: ASMDB_DATABASE_URL")
    args = parser.parse_args(argv)
    with connect(create_engine(args.database_url)) as conn:
        print(sql_reference(driver(conn)), end="")


if __name__ == "__main__":
    main()
