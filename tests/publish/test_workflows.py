"""Ingest and migrations leave QGIS styles to their caller; the composed workflows (what the
CLI runs) load and style in one transaction."""

from __future__ import annotations

import psycopg
import pytest

from asm_db.db.engine import create_engine, head_revision, upgrade
from asm_db.ingest.labels import ingest_labels
from asm_db.publish.workflows import ingest_labels_styled, upgrade_database

STYLES = "SELECT f_table_name FROM public.layer_styles WHERE stylename = 'asmdb' ORDER BY 1"
LABEL_STYLE = (
    "SELECT styleqml::text FROM public.layer_styles "
    "WHERE stylename = 'asmdb' AND f_table_name = 'labels'"
)


def test_migrations_write_no_styles_and_the_upgrade_workflow_does(empty_db_url):
    engine = create_engine(empty_db_url)
    with psycopg.connect(empty_db_url.replace("+psycopg", ""), autocommit=True) as pg:
        assert upgrade(engine) == head_revision()
        assert pg.execute(STYLES).fetchall() == []
        assert upgrade_database(engine) == head_revision()
        assert [r[0] for r in pg.execute(STYLES)] == [
            "change_tiles",
            "labels",
            "latest_change",
            "latest_overviews",
            "latest_predictions",
            "map_overviews",
            "maps_by_period",
            "overviews_by_period",
            "predictions",
            "review_queue",
            "similar_tiles",
            "tiles",
            "zone_estimates",
        ]
    engine.dispose()


def test_ingest_leaves_styles_and_the_workflow_refreshes_the_legend(engine, pg, sample):
    before = pg.execute(LABEL_STYLE).fetchone()[0]
    assert "mine: artisanal" not in before  # no labels yet: no mine types in the legend
    ingest_labels(engine, sample.labels)
    assert pg.execute(LABEL_STYLE).fetchone()[0] == before
    ingest_labels_styled(engine, sample.labels)
    assert "mine: artisanal" in pg.execute(LABEL_STYLE).fetchone()[0]


def test_a_styling_failure_undoes_the_ingest(engine, pg, sample):
    pg.execute("DELETE FROM public.layer_styles WHERE f_table_name = 'labels'")
    pg.execute(
        "ALTER TABLE public.layer_styles ADD CONSTRAINT no_label_style "
        "CHECK (f_table_name <> 'labels')"
    )
    with pytest.raises(psycopg.errors.CheckViolation):
        ingest_labels_styled(engine, sample.labels)
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == 0
