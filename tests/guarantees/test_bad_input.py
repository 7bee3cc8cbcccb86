"""A user's mistake: one line naming file, row and column; exit 1; the database as it was."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from conftest import snapshot


def _one_line_error(result, *fragments):
    assert result.code == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _labels(sample) -> pd.DataFrame:
    return pd.read_csv(sample.labels)


def _features(sample) -> pd.DataFrame:
    return feather.read_table(sample.features).to_pandas()


LABEL_CASES = {
    "missing_column": (
        lambda df: df.drop(columns="confidence"),
        ["column 'confidence'", "missing column"],
    ),
    "lat_out_of_range": (
        lambda df: df.assign(lat=df.lat.where(df.index != 4, 91.0)),
        ["row 5", "column 'lat'", "outside"],
    ),
    "not_a_number": (
        lambda df: df.assign(confidence=df.confidence.astype(object).where(df.index != 2, "high")),
        ["row 3", "column 'confidence'", "'high' is not a number"],
    ),
    "repeated_unique_id": (
        lambda df: df.assign(unique_id=df.unique_id.where(df.index != 9, df.unique_id[1])),
        ["rows 2, 10", "column 'unique_id'", "more than once"],
    ),
    "label_not_binary": (
        lambda df: df.assign(label=df.label.where(df.index != 0, 2)),
        ["row 1", "column 'label'"],
    ),
    "empty": (lambda df: df.head(0), ["has no rows"]),
}


@pytest.mark.parametrize("case", LABEL_CASES)
def test_bad_label_file(cli, pg, sample, loaded, tmp_path, case):
    change, fragments = LABEL_CASES[case]
    path = tmp_path / f"{case}.csv"
    df = _labels(sample)
    # every other row edited so an upsert would show if anything were written
    change(df.assign(sample_type="edited")).to_csv(path, index=False)
    before = snapshot(pg)
    line = _one_line_error(cli("ingest", "labels", str(path)), str(path), *fragments)
    assert line
    assert snapshot(pg) == before


def _with_cell(df, row, column, value):
    df = df.copy()
    df.loc[row, column] = value
    return df


FEATURE_CASES = {
    "unparsable_image_id": (
        lambda df: _with_cell(df, 6, "image_id", "tile_8.125_-11.235"),
        ["row 7", "column 'image_id'", "tile_8.125_-11.235"],
    ),
    "nan_feature": (
        lambda df: _with_cell(df, 3, "feature_17", np.nan),
        ["row 4", "column 'feature_17'", "NaN"],
    ),
    "inf_feature": (
        lambda df: _with_cell(df, 11, "feature_0", np.inf),
        ["row 12", "column 'feature_0'"],
    ),
    "feature_count": (
        lambda df: df.drop(columns="feature_255"),
        ["has 255 feature columns", "'default' has 256"],
    ),
    "gap_in_features": (lambda df: df.drop(columns="feature_3"), ["column 'feature_3'"]),
    "lat_out_of_range": (
        lambda df: _with_cell(df, 0, "image_id", "lat_98--125__lon_-11--235"),
        ["row 1", "latitude"],
    ),
    "same_tile_twice": (
        lambda df: _with_cell(df, 5, "image_id", df.image_id[2]),
        ["row 6", "same 0.01-degree tile", "rows 3, 6 share"],
    ),
    "empty": (lambda df: df.head(0), ["has no rows"]),
}


@pytest.mark.parametrize("case", FEATURE_CASES)
def test_bad_feature_file(cli, pg, sample, loaded, tmp_path, case):
    change, fragments = FEATURE_CASES[case]
    df = _features(sample)
    df[[c for c in df.columns if c.startswith("feature_")][:5]] += 1  # any write would show
    path = tmp_path / f"{case}.feather"
    feather.write_feather(pa.Table.from_pandas(change(df), preserve_index=False), path)
    before = snapshot(pg)
    _one_line_error(
        cli("ingest", "features", str(path), "--batch-rows", "4"), str(path), *fragments
    )
    assert snapshot(pg) == before


def test_error_in_a_late_batch_rolls_back_earlier_batches(cli, pg, sample, tmp_path):
    df = _features(sample)
    df.loc[len(df) - 1, "feature_9"] = np.nan
    path = tmp_path / "late.feather"
    feather.write_feather(pa.Table.from_pandas(df, preserve_index=False), path)
    before = snapshot(pg)
    _one_line_error(cli("ingest", "features", str(path), "--batch-rows", "50"), f"row {len(df)}")
    assert snapshot(pg) == before
    assert before["tiles"][0] == 0


def test_unsupported_and_missing_files(cli, tmp_path):
    (tmp_path / "x.xlsx").write_text("nope")
    _one_line_error(cli("ingest", "features", str(tmp_path / "x.xlsx")), "unsupported file type")
    _one_line_error(cli("ingest", "labels", str(tmp_path / "none.csv")), "no such file")


def test_unreachable_database_hides_password_and_says_what_to_do(cli, sample):
    result = cli(
        "ingest",
        "labels",
        str(sample.labels),
        url="postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere",
    )
    line = _one_line_error(result, "cannot reach the database", "docker compose up -d")
    assert "s3cret" not in result.stderr + result.stdout
    assert "***" in line


def test_not_migrated_database_says_run_upgrade(cli, sample, empty_db_url):
    _one_line_error(
        cli("ingest", "labels", str(sample.labels), url=empty_db_url), "asmdb db upgrade"
    )


def test_train_before_any_features_says_what_to_run(cli):
    _one_line_error(cli("train"), "asmdb ingest features")


def test_tile_size_that_is_not_a_positive_finite_cell_is_refused(cli, pg, sample, loaded):
    before = snapshot(pg)
    for size, says in (
        ("0", "must be a positive finite number"),
        ("-1", "must be a positive finite number"),
        ("nan", "must be a positive finite number"),
        ("inf", "must be a positive finite number"),
        ("1e-7", "finer than asmdb's grids allow"),
    ):
        result = cli(
            "ingest", "features", str(sample.features), "--feature-set", "new", "--tile-size", size
        )
        _one_line_error(result, f"tile size {size}" if size != "1e-7" else "tile size", says)
        assert snapshot(pg) == before
