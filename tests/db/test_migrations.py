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
from asm_db.publish.styles import layer_styles
from asm_db.publish.workflows import upgrade_database


def _tables(conn) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'asmdb'"
    )
    return {r[0] for r in rows}


def test_the_head_every_command_expects_is_alembics_head_and_is_read_without_alembic():
    import subprocess
    import sys

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "asm_db:migrations")
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
    # Checking a database's revision (every command does) does not import Alembic.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, asm_db.db.engine; print('alembic' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"


@pytest.mark.slow
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
        assert gist == {
            "labels",
            "tiles",
            "predictions",
            "review_queue",
            "similar_tiles",
            "change_tiles",
            "change_zones",
            "map_overviews",
            "imagery",
        }

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
    upgrade_database(engine)
    assert (
        pg.execute("SELECT version_num FROM public.asmdb_version").fetchone()[0] == head_revision()
    )
    assert pg.execute(
        "SELECT count(*) FROM public.layer_styles WHERE stylename = 'asmdb'"
    ).fetchone()[0] == len(layer_styles(pg))


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
    assert upgrade_database(engine) == head_revision()
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels
    assert pg.execute("SELECT count(*) FROM public.layer_styles").fetchone()[0] == 1 + len(
        layer_styles(pg)
    )


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
        "SELECT count(*) FROM asmdb.maps WHERE promoted_at IS NOT NULL"
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
        assert target in (
            "asmdb.tiles",
            "asmdb.feature_sets",
            "asmdb.model_runs",
            "asmdb.grids",
            "asmdb.maps",
        ), (table, target)


GRID_TABLES = {
    "tiles": "SELECT tile_id, image_id, lat, lon, ST_AsBinary(geom) FROM asmdb.tiles ORDER BY 1",
    "tile_features": "SELECT feature_set_id, tile_id, features FROM asmdb.tile_features "
    "ORDER BY 1, 2",
    "predictions": "SELECT run_id, tile_id, score, probability, ST_AsBinary(geom) "
    "FROM asmdb.predictions ORDER BY 1, 2",
    "run_evaluations": "SELECT run_id, label_id, tile_id, fold, score FROM asmdb.run_evaluations "
    "ORDER BY 1, 2, 3",
    "review_queue": "SELECT review_id, run_id, tile_id, probability FROM asmdb.review_queue "
    "ORDER BY 1",
    "label_tiles": "SELECT label_id, tile_id FROM asmdb.label_tiles ORDER BY 1, 2",
}


def _tile_id_types(pg) -> set[str]:
    """The types of tile_id in every table and view that has one (and has each of these)."""
    rows = set(
        pg.execute(
            "SELECT table_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'asmdb' AND column_name = 'tile_id' "
        ).fetchall()
    )
    assert {table for table, _ in rows} >= set(GRID_TABLES)
    return {data_type for _, data_type in rows}


@pytest.mark.slow
def test_grid_revision_keeps_every_tile_id_up_and_down(engine, pg, sample):
    from asm_db.grid import Grid
    from asm_db.ingest.features import ingest_features
    from asm_db.ingest.labels import ingest_labels
    from asm_db.modeling.protocols import Protocol
    from asm_db.review.queue import make_queue
    from asm_db.runs.train import train_run

    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    train_run(engine, protocol=Protocol(cv="seed", bootstrap=0))
    make_queue(engine)

    # The data as revision 0006 holds it, plus a tile written by 0006's own SQL.
    assert downgrade(engine, "0006") == "0006"
    assert _tile_id_types(pg) == {"integer"}
    pg.execute(
        "INSERT INTO asmdb.tiles (tile_id, lat, lon, geom) SELECT asmdb.tile_id(-33.915, 18.425), "
        "-33.915, 18.425, ST_MakeEnvelope(18.42, -33.92, 18.43, -33.91, 4326)"
    )
    old = {name: pg.execute(query).fetchall() for name, query in GRID_TABLES.items()}
    assert all(old.values()), {k: len(v) for k, v in old.items()}

    assert upgrade(engine) == head_revision()
    assert _tile_id_types(pg) == {"bigint"}
    assert {name: pg.execute(query).fetchall() for name, query in GRID_TABLES.items()} == old
    assert pg.execute("SELECT DISTINCT grid_id FROM asmdb.tiles").fetchall() == [(1,)]
    assert pg.execute("SELECT DISTINCT grid_id FROM asmdb.feature_sets").fetchall() == [(1,)]
    assert pg.execute("SELECT * FROM asmdb.grids").fetchone()[:5] == (1, 0.01, -180, -90, 4326)
    # The tile 0006 numbered has the id grid 1 gives it today.
    (cape_town,) = pg.execute("SELECT tile_id FROM asmdb.tiles WHERE lat = -33.915").fetchone()
    assert cape_town == Grid().tile_ids([-33.915], [18.425])[0]

    assert downgrade(engine, "0006") == "0006"
    assert {name: pg.execute(query).fetchall() for name, query in GRID_TABLES.items()} == old
    assert upgrade(engine) == head_revision()
    assert {name: pg.execute(query).fetchall() for name, query in GRID_TABLES.items()} == old


def test_grid_revision_refuses_to_downgrade_over_tiles_of_other_grids(engine, pg, sample, tmp_path):
    from asm_db.errors import AsmdbError
    from asm_db.ingest.features import ingest_features

    from coarse_grid import coarser_features
    from conftest import snapshot

    coarser_features(sample, tmp_path / "coarse.feather")
    ingest_features(engine, tmp_path / "coarse.feather", feature_set="coarse", tile_size=0.02)
    before = snapshot(pg)
    with pytest.raises(AsmdbError, match="cannot downgrade below revision 0007: 1 feature sets"):
        downgrade(engine, "0006")
    assert snapshot(pg) == before
    assert (
        pg.execute("SELECT version_num FROM public.asmdb_version").fetchone()[0] == head_revision()
    )
    pg.execute("DELETE FROM asmdb.feature_sets WHERE grid_id <> 1")
    pg.execute("DELETE FROM asmdb.tiles WHERE grid_id <> 1")
    assert downgrade(engine, "0006") == "0006"


def _partitions(pg) -> list[str]:
    return [
        r[0]
        for r in pg.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'asmdb.predictions'::regclass ORDER BY 1"
        )
    ]


@pytest.mark.slow
def test_maps_revision_down_and_up_keeps_runs_predictions_and_the_map_shown(
    engine, pg, sample, tmp_path
):
    from asm_db.ingest.features import ingest_features
    from asm_db.ingest.labels import ingest_labels
    from asm_db.ingest.sample import write_sample_data
    from asm_db.modeling.protocols import Protocol
    from asm_db.runs.apply import predict_map
    from asm_db.runs.train import train_run

    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    seed = Protocol(cv="seed", bootstrap=0)
    first = train_run(engine, protocol=seed)
    second = train_run(engine, protocol=Protocol(cv="seed", bootstrap=0, random_state=2))
    third = train_run(
        engine, protocol=Protocol(cv="seed", bootstrap=0, random_state=3), promote=False
    )
    pg.execute("SELECT pg_sleep(0.01)")
    # run 1 promoted again, after run 2: promotion order differs from run order.
    pg.execute(
        "UPDATE asmdb.maps SET promoted_at = clock_timestamp() WHERE map_id = %s", (first.map_id,)
    )
    later = write_sample_data(
        tmp_path / "later", n_lat=24, n_lon=24, n_features=256, n_labels=10, seed=11
    )
    ingest_features(engine, later.features, feature_set="later")
    other = predict_map(engine, second.run_id, "later", promote=False)
    assert (first.map_id, second.map_id, third.map_id, other.map.map_id) == (1, 2, 3, 4)

    by_run = "SELECT run_id, tile_id, score, probability, ST_AsBinary(geom) FROM asmdb.predictions WHERE run_id = %s ORDER BY tile_id"
    own = {
        r.run_id: pg.execute(
            by_run.replace("WHERE", "WHERE map_id = run_id AND"), (r.run_id,)
        ).fetchall()
        for r in (first, second, third)
    }
    assert all(len(rows) == sample.n_tiles for rows in own.values())
    shown = "SELECT DISTINCT run_id FROM asmdb.latest_predictions"
    assert pg.execute(shown).fetchall() == [(first.run_id,)]

    assert downgrade(engine, "0006") == "0006"
    assert pg.execute("SELECT to_regclass('asmdb.maps')").fetchone()[0] is None
    assert _partitions(pg) == ["predictions_run_1", "predictions_run_2", "predictions_run_3"]
    for run_id, rows in own.items():
        assert pg.execute(by_run, (run_id,)).fetchall() == rows  # the map on "later" is gone
    assert pg.execute(shown).fetchall() == [(first.run_id,)]
    promoted = pg.execute(
        "SELECT run_id FROM asmdb.model_runs WHERE promoted_at IS NOT NULL ORDER BY 1"
    ).fetchall()
    assert promoted == [(1,), (2,)]

    assert upgrade(engine) == head_revision()
    assert _partitions(pg) == ["predictions_map_1", "predictions_map_2", "predictions_map_3"]
    maps = pg.execute(
        "SELECT map_id, run_id, feature_set_id, tiles, promoted_at IS NOT NULL FROM asmdb.maps ORDER BY 1"
    ).fetchall()
    assert maps == [
        (1, 1, 1, sample.n_tiles, True),
        (2, 2, 1, sample.n_tiles, True),
        (3, 3, 1, sample.n_tiles, False),
    ]
    for run_id, rows in own.items():
        assert pg.execute(by_run, (run_id,)).fetchall() == rows
    assert pg.execute(shown).fetchall() == [(first.run_id,)]
    # New maps continue after the migrated ones.
    again = predict_map(engine, second.run_id, "later", promote=False)
    assert again.map.map_id == 4


@pytest.mark.slow
def test_maps_revision_keeps_showing_a_never_promoted_run(engine, pg, sample):
    # Before maps, a database whose only run was trained with --no-promote showed it anyway;
    # the upgrade promotes its map, so what QGIS shows does not change.
    from asm_db.ingest.features import ingest_features
    from asm_db.ingest.labels import ingest_labels
    from asm_db.modeling.protocols import Protocol
    from asm_db.runs.train import train_run

    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    run = train_run(engine, protocol=Protocol(cv="seed", bootstrap=0), promote=False)
    shown = "SELECT count(*), min(run_id) FROM asmdb.latest_predictions"
    assert pg.execute(shown).fetchone() == (0, None)
    assert downgrade(engine, "0006") == "0006"
    assert pg.execute(shown).fetchone() == (sample.n_tiles, run.run_id)
    assert upgrade(engine) == head_revision()
    assert pg.execute(shown).fetchone() == (sample.n_tiles, run.run_id)
    assert pg.execute("SELECT asmdb.promoted_map()").fetchone() == (run.map_id,)
