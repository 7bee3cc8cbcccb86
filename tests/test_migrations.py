"""The schema is made and removed only by Alembic revisions, up and down."""

import numpy as np
import psycopg
import pytest

from asm_db.db.engine import (
    check_ready,
    connect,
    create_engine,
    downgrade,
    head_revision,
    upgrade,
)
from asm_db.errors import DatabaseNotReady


def _tables(conn) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'asmdb'"
    )
    return {r[0] for r in rows}


def test_upgrade_down_and_up_again(empty_db_url):
    engine = create_engine(empty_db_url)
    plain = empty_db_url.replace("+psycopg", "")

    assert upgrade(engine) == head_revision()
    with psycopg.connect(plain) as conn:
        assert _tables(conn) >= {
            "labels",
            "tiles",
            "tile_features",
            "feature_sets",
            "model_runs",
            "predictions",
            "label_tiles",
            "latest_predictions",
            "qgis_projects",
        }
        geometry = dict(
            conn.execute(
                "SELECT f_table_name, type || ',' || srid FROM geometry_columns "
                "WHERE f_table_schema = 'asmdb' AND f_table_name IN ('labels', 'tiles', 'predictions')"
            ).fetchall()
        )
        assert geometry == {
            "labels": "POINT,4326",
            "tiles": "POLYGON,4326",
            "predictions": "POLYGON,4326",
        }
        gist = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_indexes WHERE schemaname = 'asmdb' AND indexdef LIKE '%USING gist%'"
            )
        }
        assert gist == {"labels", "tiles", "predictions", "review_queue"}

    assert downgrade(engine, "base") == "base"
    with psycopg.connect(plain) as conn:
        assert (
            conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'asmdb'").fetchone()[0]
            == 0
        )
        # QGIS's style table held only asmdb's styles, so it went too.
        assert conn.execute("SELECT to_regclass('public.layer_styles')").fetchone()[0] is None

    assert upgrade(engine) == head_revision()
    with connect(engine) as conn:
        check_ready(conn)
    engine.dispose()


def test_not_migrated_database_says_what_to_run(empty_db_url):
    engine = create_engine(empty_db_url)
    with pytest.raises(DatabaseNotReady, match="run `asmdb db upgrade`"):
        with connect(engine) as conn:
            check_ready(conn)
    engine.dispose()


def test_upgrade_twice_is_harmless(engine, pg):
    upgrade(engine)
    assert (
        pg.execute("SELECT version_num FROM public.asmdb_version").fetchone()[0] == head_revision()
    )
    assert (
        pg.execute("SELECT count(*) FROM public.layer_styles WHERE stylename = 'asmdb'").fetchone()[
            0
        ]
        == 5
    )


def test_qgis_revision_down_and_up_keeps_data_and_other_styles(engine, pg, sample):
    from asm_db.ingest.labels import ingest_labels

    ingest_labels(engine, sample.labels)
    pg.execute(
        "INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, stylename, styleqml, useasdefault) VALUES (current_database(), "
        "'public', 'roads', 'geom', 'roads', XMLPARSE(DOCUMENT '<qgis/>'), true)"
    )
    assert downgrade(engine, "0001") == "0001"
    assert pg.execute("SELECT to_regclass('asmdb.qgis_projects')").fetchone()[0] is None
    assert pg.execute("SELECT stylename FROM public.layer_styles").fetchall() == [("roads",)]
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels
    assert upgrade(engine) == head_revision()
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels
    assert pg.execute("SELECT count(*) FROM public.layer_styles").fetchone()[0] == 6


@pytest.mark.slow
def test_run_history_revision_down_and_up_keeps_runs_and_the_map(engine, loaded, pg):
    from asm_db.modeling.protocols import Protocol
    from asm_db.runs.train import train_run

    first = train_run(engine, protocol=Protocol(cv="seed", bootstrap=0))
    train_run(engine, protocol=Protocol(cv="seed", bootstrap=0, random_state=2), promote=False)
    shown = "SELECT DISTINCT run_id FROM asmdb.latest_predictions"
    assert pg.execute(shown).fetchall() == [(first.run_id,)]

    assert downgrade(engine, "0002") == "0002"
    assert pg.execute("SELECT to_regclass('asmdb.run_evaluations')").fetchone()[0] is None
    assert pg.execute(shown).fetchall() == [(2,)]  # before 0003 the newest run was shown
    assert upgrade(engine) == head_revision()
    assert pg.execute(
        "SELECT count(*) FROM asmdb.model_runs WHERE promoted_at IS NOT NULL"
    ).fetchone() == (2,)
    assert pg.execute(shown).fetchall() == [(2,)]


@pytest.mark.slow
def test_feature_and_partition_revisions_down_and_up_keep_vectors_and_runs(
    engine, loaded, pg, sample
):
    from asm_db.modeling.protocols import Protocol
    from asm_db.runs.train import train_run

    runs = [train_run(engine, protocol=Protocol(cv="seed", bootstrap=0)) for _ in range(2)]
    vectors = "SELECT tile_id, features FROM asmdb.tile_features ORDER BY tile_id"
    predictions = "SELECT run_id, tile_id, score, probability FROM asmdb.predictions ORDER BY 1, 2"
    stored, predicted = pg.execute(vectors).fetchall(), pg.execute(predictions).fetchall()
    assert len(predicted) == 2 * sample.n_tiles

    assert downgrade(engine, "0004") == "0004"
    as_arrays = pg.execute(vectors).fetchall()
    assert [np.array(v, np.float32).tobytes() for _, v in as_arrays] == [
        bytes(v) for _, v in stored
    ]
    assert pg.execute(predictions).fetchall() == predicted
    assert upgrade(engine) == head_revision()
    assert pg.execute(vectors).fetchall() == stored
    assert pg.execute(predictions).fetchall() == predicted
    partitions = pg.execute(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'asmdb.predictions'::regclass"
    ).fetchone()[0]
    assert partitions == len(runs)


def test_large_tables_keep_tile_id_in_every_key_for_distribution(engine, pg):
    # docs/scaling.md: tiles, tile_features and predictions are distributed by tile_id (Citus),
    # which needs tile_id in each of their unique keys, no identity column, and foreign keys
    # only to co-located tiles or to small (reference) tables.
    large = ("tiles", "tile_features", "predictions")
    keys = pg.execute(
        "SELECT t.relname, array_agg(a.attname::text) FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey) "
        "WHERE n.nspname = 'asmdb' AND t.relname = ANY (%s) AND i.indisunique "
        "GROUP BY t.relname, i.indexrelid",
        (list(large),),
    ).fetchall()
    assert {name for name, _ in keys} == set(large)
    assert all("tile_id" in columns for _, columns in keys), keys
    identities = pg.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'asmdb' AND table_name = ANY (%s) AND is_identity = 'YES'",
        (list(large),),
    ).fetchall()
    assert identities == []
    references = pg.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
        "WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY (%s) AND c.conparentid = 0",
        ([f"asmdb.{t}" for t in large],),
    ).fetchall()
    for table, target in references:
        assert target in ("asmdb.tiles", "asmdb.feature_sets", "asmdb.model_runs"), (table, target)
