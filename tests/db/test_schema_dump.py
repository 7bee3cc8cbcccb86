"""docs/schema.sql and docs/sql.md say what `asmdb db upgrade` makes, and every object of the
asmdb schema has a comment (asm_db.db.schema_dump, asm_db.db.sql_reference)."""

from pathlib import Path

from asm_db.db.engine import create_engine, downgrade, upgrade
from asm_db.db.schema_dump import dump_schema, normalise
from asm_db.db.sql_reference import sql_reference, uncommented

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "run scripts/schema to regenerate docs/schema.sql and docs/sql.md"


def test_the_schema_a_fresh_upgrade_makes_is_docs_schema_sql(db_url):
    # db_url clones the session's template, which `asmdb db upgrade` made in an empty database.
    assert dump_schema(db_url) == (DOCS / "schema.sql").read_text(), REGENERATE


def test_docs_sql_md_is_the_reference_of_the_schema_at_head(pg):
    assert sql_reference(pg) == (DOCS / "sql.md").read_text(), REGENERATE


def test_every_table_view_column_and_function_of_the_schema_has_a_comment(pg):
    assert uncommented(pg) == []


def test_the_comments_revision_downgrades_to_no_comments_and_back(db_url, pg):
    engine = create_engine(db_url)
    try:
        downgrade(engine, "0016")
        missing = set(uncommented(pg))
        assert {
            "asmdb.labels",
            "asmdb.labels.unique_id",
            "asmdb.tile_id(lat double precision, lon double precision)",
        } <= missing
        # Comments older revisions wrote stay.
        assert "asmdb.grids" not in missing and "asmdb.labels.observed_at" not in missing
        upgrade(engine)
        assert uncommented(pg) == []
    finally:
        engine.dispose()


def test_normalising_a_dump_drops_versions_settings_and_restrict_keys():
    dump = (
        "--\n-- PostgreSQL database dump\n--\n\\restrict abc\n-- Dumped from database version 15.1\n"
        "SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n"
        "\n\n\nCREATE SCHEMA asmdb;   \n\n\n\nCREATE TABLE asmdb.t (\n    a integer -- kept\n);\n"
        "\\unrestrict abc\n"
    )
    assert (
        normalise(dump)
        == "CREATE SCHEMA asmdb;\n\nCREATE TABLE asmdb.t (\n    a integer -- kept\n);\n"
    )
