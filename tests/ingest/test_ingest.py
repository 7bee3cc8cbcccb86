"""Every ingest path, both MOSAIKS layouts, and re-ingest idempotency."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from asm_db.ingest.features import ingest_features
from asm_db.ingest.labels import ingest_labels

from coarse_grid import coarser_features
from conftest import snapshot


def _features_table(sample) -> pa.Table:
    return feather.read_table(sample.features)


def _stored_vectors(pg, feature_set="default") -> dict[str, np.ndarray]:
    rows = pg.execute(
        "SELECT t.image_id, f.features FROM asmdb.tile_features f JOIN asmdb.tiles t USING (tile_id) "
        "JOIN asmdb.feature_sets s USING (feature_set_id) WHERE s.name = %s",
        (feature_set,),
    ).fetchall()
    return {image_id: np.frombuffer(v, dtype="<f4") for image_id, v in rows}


def test_feather_with_image_id_stores_every_tile_and_vector(engine, pg, sample):
    result = ingest_features(engine, sample.features, batch_rows=100)
    assert (result.rows, result.tiles_added, result.n_features) == (
        sample.n_tiles,
        sample.n_tiles,
        256,
    )
    table = _features_table(sample).to_pandas()
    stored = _stored_vectors(pg)
    assert len(stored) == sample.n_tiles
    for _, row in table.sample(20, random_state=0).iterrows():
        expected = row[[f"feature_{i}" for i in range(256)]].to_numpy(np.float32)
        assert np.array_equal(stored[row["image_id"]], expected)
    # lat_8--405__lon_-11--195 -> centre (8.405, -11.195), a 0.01-degree square around it
    lat, lon, wkt_ok, area = pg.execute(
        "SELECT lat, lon, ST_Equals(geom, ST_MakeEnvelope(-11.2, 8.4, -11.19, 8.41, 4326)), ST_Area(geom) "
        "FROM asmdb.tiles WHERE image_id = 'lat_8--405__lon_-11--195'"
    ).fetchone()
    assert (lat, lon) == (8.405, -11.195)
    assert area == pytest.approx(0.0001)
    assert pg.execute("SELECT bool_and(ST_IsValid(geom)) FROM asmdb.tiles").fetchone()[0]


def test_vectors_read_from_sql_as_the_file_holds_them(engine, pg, sample):
    ingest_features(engine, sample.features)
    table = _features_table(sample)
    first = table.slice(0, 1).to_pylist()[0]
    expected = np.array([first[f"feature_{i}"] for i in range(sample.n_features)], np.float32)
    raw, array, one, last, beyond = pg.execute(
        "SELECT f.features, asmdb.feature_array(f.features), asmdb.feature_value(f.features, 1), "
        "asmdb.feature_value(f.features, %(k)s), asmdb.feature_value(f.features, %(k)s + 1) "
        "FROM asmdb.tile_features f JOIN asmdb.tiles t USING (tile_id) WHERE t.image_id = %(id)s",
        {"id": first["image_id"], "k": sample.n_features},
    ).fetchone()
    assert np.frombuffer(raw, "<f4").tobytes() == expected.tobytes()
    assert np.array(array, np.float32).tobytes() == expected.tobytes()
    assert (one, last, beyond) == (expected[0], expected[-1], None)
    view = pg.execute(
        "SELECT count(*), min(cardinality(features)) FROM asmdb.tile_feature_arrays"
    ).fetchone()
    assert view == (sample.n_tiles, sample.n_features)


def test_reingest_is_idempotent(engine, pg, sample):
    ingest_features(engine, sample.features)
    ingest_labels(engine, sample.labels)
    before = snapshot(pg)
    again = ingest_features(engine, sample.features)
    labels = ingest_labels(engine, sample.labels)
    assert again.tiles_added == 0
    assert (labels.added, labels.updated) == (0, sample.n_labels)
    after = snapshot(pg)
    assert after["tiles"] == before["tiles"]
    assert after["tile_features"] == before["tile_features"]
    assert after["labels"][0] == before["labels"][0]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_api_layout_with_lat_lon_columns(engine, pg, sample, tmp_path, fmt):
    table = _features_table(sample).to_pandas()
    parts = table["image_id"].str.extract(r"lat_(.*)__lon_(.*)")
    api = table.drop(columns="image_id")
    api.insert(0, "LAT", parts[0].str.replace("--", ".").astype(float))
    api.insert(1, "Lon", parts[1].str.replace("--", ".").astype(float))
    path = tmp_path / f"api.{fmt}"
    api.to_parquet(path) if fmt == "parquet" else api.to_csv(path, index=False)
    ingest_features(engine, path, batch_rows=128)
    ingest_features(engine, sample.features)  # same tiles by image_id: no duplicates
    assert pg.execute("SELECT count(*) FROM asmdb.tiles").fetchone()[0] == sample.n_tiles
    assert pg.execute("SELECT count(*) FROM asmdb.tile_features").fetchone()[0] == sample.n_tiles


def test_other_numeric_columns_are_features_and_neighbours_add_tiles(engine, pg, tmp_path):
    frame = pd.DataFrame(
        {
            "lat": [8.125, 8.125],
            "lon": [-11.235, -11.225],
            "red": [0.1, 0.2],
            "nir": [3, 4],
            "note": ["a", "b"],
        }
    )
    frame.to_parquet(tmp_path / "a.parquet")
    ingest_features(engine, tmp_path / "a.parquet", feature_set="bands")
    frame.assign(lon=frame.lon + 0.01).to_parquet(tmp_path / "b.parquet")
    ingest_features(engine, tmp_path / "b.parquet", feature_set="bands")
    names, k = pg.execute("SELECT feature_names, n_features FROM asmdb.feature_sets").fetchone()
    assert (names, k) == (["red", "nir"], 2)
    # -11.225 appears in both files: three distinct tiles
    assert pg.execute("SELECT count(*) FROM asmdb.tiles").fetchone()[0] == 3
    # the shared tile takes the later file's vector
    vectors = pg.execute(
        "SELECT asmdb.feature_array(features) FROM asmdb.tile_features ORDER BY tile_id"
    ).fetchall()
    assert [v[0] for v in vectors] == [pytest.approx(v) for v in ([0.1, 3], [0.1, 3], [0.2, 4])]


def test_labels_keep_every_row_and_extra_columns(engine, pg, sample):
    result = ingest_labels(engine, sample.labels)
    assert (result.rows, result.added) == (sample.n_labels, sample.n_labels)
    csv = pd.read_csv(sample.labels)
    row = pg.execute(
        "SELECT lon, lat, mine_type, confidence, label, extra, "
        "ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM asmdb.labels WHERE unique_id = %s",
        (csv.unique_id[0],),
    ).fetchone()
    assert row[0] == csv.lon[0] and row[1] == csv.lat[0]
    assert (row[6], row[7], row[8]) == (csv.lon[0], csv.lat[0], 4326)
    assert row[5] == {"survey_round": csv.survey_round[0]}
    commercial = pg.execute(
        "SELECT count(*) FROM asmdb.labels WHERE mine_type = 'commercial'"
    ).fetchone()[0]
    assert commercial == (csv.mine_type == "commercial").sum() > 0


def test_relabelled_site_is_updated_not_duplicated(engine, pg, sample, tmp_path):
    ingest_labels(engine, sample.labels)
    csv = pd.read_csv(sample.labels)
    changed = csv.head(3).assign(label=1 - csv.label.head(3), confidence=5)
    changed.to_csv(tmp_path / "fix.csv", index=False)
    result = ingest_labels(engine, tmp_path / "fix.csv")
    assert (result.added, result.updated) == (0, 3)
    got = pg.execute(
        "SELECT label FROM asmdb.labels WHERE unique_id = %s", (csv.unique_id[0],)
    ).fetchone()[0]
    assert got == 1 - csv.label[0]
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels


@pytest.mark.parametrize("suffix", ["gpkg", "geojson", "parquet"])
def test_labels_from_geospatial_files(engine, pg, sample, tmp_path, suffix):
    csv = pd.read_csv(sample.labels).head(50)
    gdf = gpd.GeoDataFrame(
        csv.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(csv.lon, csv.lat),
        crs="EPSG:4326",
    )
    path = tmp_path / f"labels.{suffix}"
    gdf.to_parquet(path) if suffix == "parquet" else gdf.to_file(path)
    assert ingest_labels(engine, path).added == 50
    lon, lat = pg.execute(
        "SELECT lon, lat FROM asmdb.labels WHERE unique_id = %s", (csv.unique_id[0],)
    ).fetchone()
    assert (lon, lat) == pytest.approx((csv.lon[0], csv.lat[0]), abs=1e-9)


TILE_ROWS = (
    "SELECT tile_id, grid_id, image_id, lat, lon, ST_AsBinary(geom) FROM asmdb.tiles "
    "WHERE tile_id IN (SELECT tile_id FROM asmdb.tile_features f "
    "JOIN asmdb.feature_sets s USING (feature_set_id) WHERE s.name = %s) ORDER BY tile_id"
)


@pytest.mark.slow
def test_a_second_tile_size_gets_its_own_grid_and_tiles_and_rewrites_nothing(
    engine, pg, sample, tmp_path
):
    from asm_db.modeling.protocols import Protocol
    from asm_db.runs.train import train_run

    ingest_labels(engine, sample.labels)
    ingest_features(engine, sample.features, feature_set="A")
    tiles_a = pg.execute(TILE_ROWS, ("A",)).fetchall()
    vectors_a = _stored_vectors(pg, "A")
    coarse = tmp_path / "coarse.feather"
    n_coarse = coarser_features(sample, coarse)
    assert n_coarse == sample.n_tiles // 4

    result = ingest_features(engine, coarse, feature_set="B", tile_size=0.02)
    assert (result.rows, result.tiles_added) == (n_coarse, n_coarse)
    # A's tiles, polygons and vectors are exactly as they were.
    assert pg.execute(TILE_ROWS, ("A",)).fetchall() == tiles_a
    assert _stored_vectors(pg, "A").keys() == vectors_a.keys()
    assert all(np.array_equal(v, vectors_a[k]) for k, v in _stored_vectors(pg, "A").items())
    # B is on a grid of its own, with tiles of its own: 0.02-degree squares around its centres.
    grids = pg.execute(
        "SELECT s.name, g.grid_id, g.cell_size, g.origin_lon, g.origin_lat, s.tile_half_size "
        "FROM asmdb.feature_sets s JOIN asmdb.grids g USING (grid_id) ORDER BY s.name"
    ).fetchall()
    assert grids == [("A", 1, 0.01, -180, -90, 0.005), ("B", 2, 0.02, -180, -90, 0.01)]
    tiles_b = pg.execute(TILE_ROWS, ("B",)).fetchall()
    assert len(tiles_b) == n_coarse and {g for _, g, *_ in tiles_b} == {2}
    assert not {t for t, *_ in tiles_b} & {t for t, *_ in tiles_a}
    squares = pg.execute(
        "SELECT bool_and(ST_Equals(geom, ST_MakeEnvelope(lon - 0.01, lat - 0.01, lon + 0.01, "
        "lat + 0.01, 4326))), count(*) FROM asmdb.tiles WHERE grid_id = 2"
    ).fetchone()
    assert squares == (True, n_coarse)
    assert pg.execute("SELECT count(*) FROM asmdb.tiles").fetchone()[0] == (
        sample.n_tiles + n_coarse
    )

    # Re-loading A (its grid) leaves B's tiles alone too.
    ingest_features(engine, sample.features, feature_set="A")
    assert pg.execute(TILE_ROWS, ("B",)).fetchall() == tiles_b

    # Each set trains on its own grid's tiles: every label joins the tiles it touches there.
    protocol = Protocol(cv="seed", bootstrap=0)
    run_a = train_run(engine, feature_set="A", protocol=protocol)
    run_b = train_run(engine, feature_set="B", protocol=protocol)
    assert run_a.counts["tiles_predicted"] == sample.n_tiles
    assert run_b.counts["tiles_predicted"] == n_coarse
    assert run_b.counts["labels_joined"] == run_b.counts["labels_after_filters"]
    assert run_b.counts["training_rows"] < run_a.counts["training_rows"]  # fewer edges
    joined = pg.execute(
        "SELECT grid_id, count(*) FROM asmdb.run_evaluations e JOIN asmdb.tiles USING (tile_id) "
        "WHERE e.run_id = %s GROUP BY grid_id",
        (run_b.run_id,),
    ).fetchall()
    assert joined == [(2, run_b.counts["test"])]
    assert run_b.metrics["auc_calibrated"] > 0.6


def test_a_feature_set_stays_on_its_grid(engine, pg, sample, tmp_path):
    from asm_db.errors import InputError

    ingest_features(engine, sample.features)
    before = snapshot(pg)
    coarse = tmp_path / "coarse.feather"
    coarser_features(sample, coarse)
    with pytest.raises(InputError, match="feature set 'default' has 0.01-degree tiles, not 0.02"):
        ingest_features(engine, coarse, tile_size=0.02)
    assert snapshot(pg) == before
