"""`asmdb.label_tiles` is the seed's geopandas intersects join, computed by PostGIS."""

import json
from pathlib import Path

import pandas as pd

from asm_db.ingest.features import ingest_features
from asm_db.ingest.labels import ingest_labels

from conftest import snapshot
from seed_reference import seed_features


def test_label_tiles_equals_geopandas_sjoin_with_edges_and_corners(loaded, pg, sample):
    import geopandas as gpd
    import pandas as pd

    labels = pd.read_csv(sample.labels)  # every label: the join itself does not filter
    points = gpd.GeoDataFrame(
        labels, geometry=gpd.points_from_xy(labels.lon, labels.lat), crs="EPSG:4326"
    )
    joined = gpd.sjoin(points, seed_features(sample.features), how="inner", predicate="intersects")
    expected = set(zip(joined.unique_id, joined.image_id, strict=True))

    got = set(pg.execute("SELECT unique_id, image_id FROM asmdb.label_tiles").fetchall())
    assert got == expected
    per_label = joined.groupby("unique_id").size()
    assert {2, 4} <= set(per_label)  # labels on a shared edge and on a corner are in the data


def test_join_uses_the_spatial_indexes(loaded, pg):
    pg.execute("SET enable_seqscan = off")  # the plan for a large table, on small test data
    plan = json.dumps(
        pg.execute("EXPLAIN (FORMAT JSON) SELECT * FROM asmdb.label_tiles").fetchone()[0]
    )
    assert "tiles_geom_idx" in plan or "labels_geom_idx" in plan
    assert "st_intersects" in plan.lower()


def test_filtered_labels_applies_the_seed_filters(engine, pg, sample):
    import pandas as pd

    from seed_reference import seed_labels

    ingest_labels(engine, sample.labels)
    expected = set(seed_labels(sample.labels).unique_id)
    got = {r[0] for r in pg.execute("SELECT unique_id FROM asmdb.filtered_labels()")}
    assert got == expected
    relaxed = {r[0] for r in pg.execute("SELECT unique_id FROM asmdb.filtered_labels(0, '{}', 0)")}
    all_labels = pd.read_csv(sample.labels)
    # with no thresholds only rows with a missing confidence or proportion drop out
    assert relaxed == set(
        all_labels.unique_id[
            all_labels.confidence.notna()
            & (all_labels.proportion_inspected.notna() | (all_labels.label == 1))
        ]
    )


def test_training_join_reads_only_the_feature_sets_grid_on_the_spatial_index(engine, pg, sample):
    from asm_db.db.sqlfiles import load_sql
    from asm_db.grid import Grid
    from asm_db.ingest.tiles import ensure_tiles

    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features)
    with pg.transaction():  # tiles of another grid under the same labels
        grid = Grid(2, 0.02)
        pg.execute(
            "INSERT INTO asmdb.grids (cell_size, origin_lon, origin_lat) VALUES (0.02, -180, -90)"
        )
        ensure_tiles(pg, grid, grid.cells_in_bbox(-11.2, 8.4, -10.96, 8.64))
    copy = load_sql("runs/training_rows")
    query = copy[copy.index("COPY (") + len("COPY (") : copy.rindex(") TO STDOUT")]
    params = {
        "feature_set_id": 1,
        "grid_id": 1,
        "min_proportion_inspected": 0.2,
        "exclude_mine_types": ["commercial"],
        "min_confidence": 3,
        "observed_from": None,
        "observed_to": None,
    }
    pg.execute("SET enable_seqscan = off")
    plan = json.dumps(pg.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()[0])
    assert "tiles_geom_idx" in plan and "st_intersects" in plan.lower()
    assert "grid_id" in plan
    pg.execute("RESET enable_seqscan")
    grids = pg.execute(
        f"SELECT DISTINCT t.grid_id FROM ({query}) AS r JOIN asmdb.tiles AS t USING (tile_id)",
        params,
    ).fetchall()
    assert grids == [(1,)]
    # The view shows both grids, each label's tiles keyed once.
    keys = pg.execute(
        "SELECT count(*), count(DISTINCT label_tile_id), count(DISTINCT grid_id) "
        "FROM asmdb.label_tiles"
    ).fetchone()
    assert keys[0] == keys[1] and keys[2] == 2


def _labels(sample, tmp_path, name="labels.csv", **changes) -> Path:
    """The sample's labels with columns changed (a function of the frame, or a value)."""
    original = pd.read_csv(sample.labels, dtype=str)
    frame = original.copy()
    for column, change in changes.items():
        frame[column] = change(original) if callable(change) else change
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_labels_with_lat_and_lon_swapped_are_refused_unless_forced(
    loaded, cli, pg, tmp_path, sample
):
    swapped = _labels(
        sample,
        tmp_path,
        lon=lambda f: f["lat"],
        lat=lambda f: f["lon"],
        unique_id=lambda f: "s" + f["unique_id"],
    )
    before = snapshot(pg)
    done = cli("ingest", "labels", str(swapped))
    assert done.code == 1
    assert f"{swapped}: 600 of 600 labels lie outside every feature set's tiles" in done.stderr
    assert "swapping lat and lon would put 600 on them" in done.stderr
    assert "--force" in done.stderr and len(done.stderr.splitlines()) == 1
    assert snapshot(pg) == before

    elsewhere = _labels(
        sample, tmp_path, "far.csv", lon=lambda f: (f["lon"].astype(float) + 30).astype(str)
    )
    done = cli("ingest", "labels", str(elsewhere))
    assert done.code == 1 and "would not put them on the tiles either" in done.stderr
    assert snapshot(pg) == before

    forced = cli("ingest", "labels", str(swapped), "--force")
    assert forced.code == 0, forced.stderr
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == 1200


def test_a_few_labels_off_the_tiles_are_accepted(loaded, cli, tmp_path, sample):
    frame = pd.read_csv(sample.labels, dtype=str)
    frame.loc[:199, "lon"] = (frame.loc[:199, "lon"].astype(float) + 30).astype(str)
    frame.to_csv(tmp_path / "some.csv", index=False)
    done = cli("ingest", "labels", str(tmp_path / "some.csv"))
    assert done.code == 0, done.stderr


def test_proportion_inspected_in_percent_is_refused(cli, pg, tmp_path, sample):
    path = _labels(
        sample,
        tmp_path,
        proportion_inspected=lambda f: (f["proportion_inspected"].astype(float) * 100).astype(str),
    )
    before = snapshot(pg)
    done = cli("ingest", "labels", str(path))
    assert done.code == 1
    assert "column 'proportion_inspected'" in done.stderr and "divide it by 100" in done.stderr
    assert "row" in done.stderr and len(done.stderr.splitlines()) == 1
    assert snapshot(pg) == before


def test_labels_and_tiles_apart_show_both_extents(cli, tmp_path, sample):
    far = _labels(sample, tmp_path, lon=lambda f: (f["lon"].astype(float) + 30).astype(str))
    assert cli("ingest", "labels", str(far)).code == 0  # no feature set yet: nothing to check
    assert cli("ingest", "features", str(sample.features)).code == 0
    done = cli("train")
    assert done.code == 1
    assert "none of the" in done.stderr and "lies on a tile of feature set 'default'" in done.stderr
    assert "the labels span lon 18" in done.stderr and "the tiles lon -11" in done.stderr
