"""`asmdb.label_tiles` is the seed's geopandas intersects join, computed by PostGIS."""

import json

from asm_db.ingest.labels import ingest_labels

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
