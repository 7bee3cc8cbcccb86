"""Every ingest path, both MOSAIKS layouts, and re-ingest idempotency."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from asm_db.ingest.features import ingest_features
from asm_db.ingest.labels import ingest_labels

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
