"""Reading label and feature files (asm_db.ingest.readers): CSV with any case and semicolons,
shapefiles with cut column names, Feather; a spreadsheet or a missing column is one line."""

import pandas as pd
import pytest


def test_labels_as_a_spreadsheet_are_one_line_and_feather_is_read(cli, pg, tmp_path, sample):
    sheet = tmp_path / "labels.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a workbook")
    done = cli("ingest", "labels", str(sheet))
    assert done.code == 1 and len(done.stderr.splitlines()) == 1
    assert f"{sheet}: cannot read '.xlsx' files as labels" in done.stderr
    assert "save a spreadsheet as CSV" in done.stderr

    feather = tmp_path / "labels.feather"
    pd.read_csv(sample.labels, dtype={"unique_id": str}).to_feather(feather)
    done = cli("ingest", "labels", str(feather))
    assert done.code == 0, done.stderr
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels

    broken = tmp_path / "broken.feather"
    broken.write_bytes(b"ARROW1 but nothing more")
    done = cli("ingest", "labels", str(broken))
    assert done.code == 1 and len(done.stderr.splitlines()) == 1
    assert f"{broken}: cannot read" in done.stderr


def _stored_labels(pg) -> list[tuple]:
    return pg.execute(
        "SELECT unique_id, round(lon::numeric, 6), round(lat::numeric, 6), sample_type, "
        "mine_type, confidence, label, proportion_inspected FROM asmdb.labels ORDER BY unique_id"
    ).fetchall()


@pytest.fixture
def from_csv(cli, pg, sample):
    """The labels as the sample's own CSV stores them (then emptied again)."""
    assert cli("ingest", "labels", str(sample.labels)).code == 0
    rows = _stored_labels(pg)
    pg.execute("DELETE FROM asmdb.labels")
    return rows


def test_a_shapefile_of_labels_is_read_with_its_cut_column_names(
    cli, pg, sample, tmp_path, from_csv
):
    import geopandas as gpd

    frame = pd.read_csv(sample.labels, dtype={"unique_id": str})
    shapes = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    )
    path = tmp_path / "labels.shp"
    with pytest.warns(UserWarning, match="truncated"):
        shapes.to_file(path)
    assert {"sample_typ", "proportion"} <= set(gpd.read_file(path).columns)
    done = cli("ingest", "labels", str(path))
    assert done.code == 0, done.stderr
    assert _stored_labels(pg) == from_csv


def test_label_columns_in_any_case_and_semicolons_are_read(cli, pg, sample, tmp_path, from_csv):
    frame = pd.read_csv(sample.labels, dtype=str)
    frame = frame.rename(columns={"lon": "LON", "lat": "LAT", "unique_id": "Unique_ID"})
    path = tmp_path / "upper.csv"
    frame.to_csv(path, index=False)
    done = cli("ingest", "labels", str(path))
    assert done.code == 0, done.stderr
    assert _stored_labels(pg) == from_csv
    pg.execute("DELETE FROM asmdb.labels")

    # A spreadsheet saved in a European locale: semicolons, decimal commas.
    european = tmp_path / "european.csv"
    for column in ("LON", "LAT", "proportion_inspected"):
        frame[column] = frame[column].str.replace(".", ",")
    frame.to_csv(european, index=False, sep=";")
    assert ";" in european.read_text().splitlines()[0]
    done = cli("ingest", "labels", str(european))
    assert done.code == 0, done.stderr
    assert _stored_labels(pg) == from_csv


def test_missing_column_errors_list_the_columns_found(cli, pg, sample, tmp_path):
    frame = pd.read_csv(sample.labels, dtype=str).drop(columns=["confidence"])
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    done = cli("ingest", "labels", str(path))
    assert done.code == 1 and len(done.stderr.splitlines()) == 1
    assert "column 'confidence'" in done.stderr
    assert "columns found: " + ", ".join(frame.columns) in done.stderr

    features = cli("ingest", "labels", str(sample.features))  # the wrong file
    assert features.code == 1 and "columns found: " in features.stderr
    assert "and 2" in features.stderr and "looks like a feature file" in features.stderr

    coords = pd.read_feather(sample.features).iloc[:5, :6]
    coords = coords.rename(columns={c: f"c{i}" for i, c in enumerate(coords.columns)})
    coords.to_csv(tmp_path / "features.csv", index=False)
    done = cli("ingest", "features", str(tmp_path / "features.csv"))
    assert done.code == 1 and "columns found: c0, c1, c2, c3, c4, c5" in done.stderr


def test_features_separated_by_semicolons_are_read(cli, pg, sample, tmp_path):
    frame = pd.read_feather(sample.features).iloc[:20]
    path = tmp_path / "features.csv"
    frame.to_csv(path, index=False, sep=";")
    done = cli("ingest", "features", str(path))
    assert done.code == 0, done.stderr
    assert f"20 tiles x {sample.n_features} features" in done.stdout
