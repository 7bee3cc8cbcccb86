"""Label observation dates: `observed_at` (or `ingest labels --date-column`) into
`asmdb.labels.observed_at`, and `asmdb train --observed-within DAYS` keeping the labels
observed near the feature set's period."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import geopandas as gpd
import pandas as pd
import pytest

from asm_db.db.engine import downgrade, head_revision, upgrade

from conftest import snapshot

PERIOD = ("2022-01-01", "2022-12-31")
FIRST_DAY = date(2018, 1, 1)


def _dates(n: int) -> list[str | None]:
    """Spread over 2018-2026; every seventh label undated."""
    return [
        None if i % 7 == 3 else (FIRST_DAY + timedelta(days=(i * 37) % 3000)).isoformat()
        for i in range(n)
    ]


def _stored(pg, ids) -> dict:
    rows = pg.execute(
        "SELECT unique_id, observed_at, extra FROM asmdb.labels WHERE unique_id = ANY(%s)",
        (list(ids),),
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def test_observed_at_column_stores_dates_and_timestamps_keep_their_date(cli, pg, sample, tmp_path):
    labels = pd.read_csv(sample.labels, dtype=str).head(5)
    labels["observed_at"] = [
        "2024-03-05",
        "2024-03-05T23:30:00-05:00",
        "",
        "2019-12-31 08:00:00",
        "2024-02-29T10:00:00Z",
    ]
    path = tmp_path / "dated.csv"
    labels.to_csv(path, index=False)
    done = cli("ingest", "labels", str(path))
    assert done.code == 0, done.stderr
    assert "4 with an observation date" in done.stdout
    stored = _stored(pg, labels["unique_id"])
    ids = labels["unique_id"].tolist()
    assert [stored[i][0] for i in ids] == [
        date(2024, 3, 5),
        date(2024, 3, 5),  # the date as written, not moved to UTC
        None,
        date(2019, 12, 31),
        date(2024, 2, 29),
    ]
    # A first-class column, not one of the extra ones.
    assert all("observed_at" not in stored[i][1] for i in ids)

    # The file is the truth for its rows: ingested again without dates, they are undated.
    labels.drop(columns="observed_at").to_csv(path, index=False)
    assert cli("ingest", "labels", str(path)).code == 0
    assert {v[0] for v in _stored(pg, ids).values()} == {None}


def test_date_column_names_the_column_and_geopackage_dates_are_read(cli, pg, sample, tmp_path):
    labels = pd.read_csv(sample.labels, dtype=str).head(4)
    labels["survey_date"] = ["2021-06-01", "2021-06-02", None, "2021-06-04"]
    labels["note"] = "x"
    path = tmp_path / "survey.csv"
    labels.to_csv(path, index=False)
    done = cli("ingest", "labels", str(path), "--date-column", "survey_date")
    assert done.code == 0, done.stderr
    stored = _stored(pg, labels["unique_id"])
    assert [stored[i][0] for i in labels["unique_id"]] == [
        date(2021, 6, 1),
        date(2021, 6, 2),
        None,
        date(2021, 6, 4),
    ]
    assert all(v[1]["note"] == "x" and "survey_date" not in v[1] for v in stored.values())

    # A GeoPackage's DATE and DATETIME fields arrive typed, not as text.
    frame = labels.drop(columns=["lon", "lat"]).assign(
        survey_date=pd.to_datetime(
            ["2020-01-02", "2020-01-03", None, "2020-01-05 13:00"], format="ISO8601"
        ),
    )
    geo = gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy(labels["lon"].astype(float), labels["lat"].astype(float)),
        crs="EPSG:4326",
    )
    gpkg = tmp_path / "survey.gpkg"
    geo.to_file(gpkg)
    done = cli("ingest", "labels", str(gpkg), "--date-column", "survey_date")
    assert done.code == 0, done.stderr
    stored = _stored(pg, labels["unique_id"])
    assert [stored[i][0] for i in labels["unique_id"]] == [
        date(2020, 1, 2),
        date(2020, 1, 3),
        None,
        date(2020, 1, 5),
    ]


@pytest.mark.parametrize(
    "bad",
    ["05/03/2024", "2024-13-01", "2024-3-5", "March 2024", "20240305", "2024-02-30"],
)
def test_a_bad_date_is_one_line_and_nothing_is_written(cli, pg, sample, tmp_path, bad):
    labels = pd.read_csv(sample.labels, dtype=str).head(6)
    labels["observed_at"] = ["2024-01-01", "2024-01-02", bad, None, bad, "2024-01-06"]
    path = tmp_path / "bad.csv"
    labels.to_csv(path, index=False)
    before = snapshot(pg)
    refused = cli("ingest", "labels", str(path))
    assert refused.code == 1 and refused.stdout == ""
    assert refused.stderr.strip() == (
        f"error: {path} (rows 3, 5, column 'observed_at'): {bad!r} is not a date (expected an "
        "ISO 8601 date YYYY-MM-DD, or a timestamp such as 2024-03-05T10:30:00Z)"
    )
    assert snapshot(pg) == before


def test_a_date_column_that_is_not_there_lists_the_columns(cli, pg, sample, tmp_path):
    before = snapshot(pg)
    refused = cli("ingest", "labels", str(sample.labels), "--date-column", "when")
    columns = ", ".join(pd.read_csv(sample.labels, nrows=0).columns)
    assert refused.code == 1
    assert refused.stderr.strip() == (
        f"error: {sample.labels}: no column 'when' (--date-column); columns found: {columns}"
    )
    assert snapshot(pg) == before


def _expected(labels: pd.DataFrame, days: int) -> tuple[set[str], int]:
    """The seed's filters and the window, computed here: the unique_ids kept, and how many
    labels passing the seed's filters had no date."""
    num = {c: pd.to_numeric(labels[c]) for c in ("proportion_inspected", "confidence", "label")}
    seed = (
        ((num["proportion_inspected"] >= 0.2) | (num["label"] == 1))
        & (labels["mine_type"].fillna("") != "commercial")
        & (num["confidence"] >= 3)
    )
    start = date.fromisoformat(PERIOD[0]) - timedelta(days=days)
    end = date.fromisoformat(PERIOD[1]) + timedelta(days=days)
    within = labels["observed_at"].map(
        lambda d: isinstance(d, str) and start <= date.fromisoformat(d) <= end
    )
    kept = set(labels["unique_id"][seed & within])
    return kept, int((seed & labels["observed_at"].isna()).sum())


@pytest.mark.slow
def test_train_observed_within_keeps_the_labels_near_the_period(loaded, cli, pg, sample, tmp_path):
    labels = pd.read_csv(sample.labels, dtype=str)
    labels["observed_at"] = _dates(len(labels))
    path = tmp_path / "dated.csv"
    labels.to_csv(path, index=False)
    assert cli("ingest", "labels", str(path)).code == 0

    # The feature set has no period yet: refused, nothing written.
    before = snapshot(pg)
    refused = cli("train", "--cv", "seed", "--bootstrap", "0", "--observed-within", "365")
    assert refused.code == 1 and refused.stdout == ""
    assert refused.stderr.strip() == (
        "error: --observed-within: feature set 'default' has no period; give it one with "
        "`asmdb ingest features --period START/END`"
    )
    assert snapshot(pg) == before

    period = "/".join(PERIOD)
    assert cli("ingest", "features", str(sample.features), "--period", period).code == 0
    for days in (730, 365):
        done = cli(
            "train", "--cv", "seed", "--bootstrap", "0", "--observed-within", str(days), "--json"
        )
        assert done.code == 0, done.stderr
        out = json.loads(done.stdout)
        kept, undated = _expected(labels, days)
        counts = out["counts"]
        assert counts["after_observed_within"] == len(kept) == counts["labels_after_filters"]
        assert counts["undated_dropped"] == undated > 0
        assert counts["after_confidence"] > len(kept) + undated  # some dated ones fall outside
        trained = {
            r[0]
            for r in pg.execute(
                "SELECT DISTINCT l.unique_id FROM asmdb.labels AS l "
                "JOIN asmdb.label_tiles AS t USING (label_id) "
                "WHERE l.unique_id = ANY(%s)",
                (list(kept),),
            )
        }
        assert counts["labels_joined"] == len(trained)
        recorded = pg.execute(
            "SELECT parameters -> 'filters' FROM asmdb.model_runs WHERE run_id = %s",
            (out["run_id"],),
        ).fetchone()[0]
        start = date.fromisoformat(PERIOD[0]) - timedelta(days=days)
        end = date.fromisoformat(PERIOD[1]) + timedelta(days=days)
        assert recorded["observed_within"] == days
        assert recorded["observed_between"] == [start.isoformat(), end.isoformat()]

        shown = cli("runs", "show", str(out["run_id"]))
        assert shown.code == 0, shown.stderr
        assert f"--observed-within {days}" in shown.stdout
        assert (
            f"labels observed within {days} days of the feature set's period: {start} to {end}"
            in shown.stdout
        )
        assert re.search(rf"undated labels dropped\W+{undated}\b", shown.stdout), shown.stdout

    # In words: the step after the confidence filter, with the undated ones counted.
    text = cli("train", "--cv", "seed", "--bootstrap", "0", "--no-map", "--observed-within", "365")
    kept, undated = _expected(labels, 365)
    assert (
        f"-> {len(kept)} (observed within 365 days of the period; {undated} undated dropped)"
        in text.stdout
    )
    # A window so narrow that a search fold holds one class: one line, nothing written.
    before = snapshot(pg)
    narrow = cli("train", "--cv", "seed", "--bootstrap", "0", "--observed-within", "30")
    assert narrow.code == 1 and len(narrow.stderr.strip().splitlines()) == 1
    assert narrow.stderr.startswith("error: too few training rows of the smaller class (")
    assert snapshot(pg) == before
    # Without the option every label counts, dated or not, as before.
    plain = json.loads(cli("train", "--cv", "seed", "--bootstrap", "0", "--json").stdout)
    assert "after_observed_within" not in plain["counts"]
    assert plain["counts"]["labels_after_filters"] == plain["counts"]["after_confidence"]


def test_filtered_labels_keeps_its_three_argument_calls(loaded, pg):
    three = pg.execute("SELECT count(*) FROM asmdb.filtered_labels(0.2, '{commercial}', 3)")
    assert three.fetchone() == pg.execute("SELECT count(*) FROM asmdb.filtered_labels()").fetchone()
    assert pg.execute(
        "SELECT count(*) FROM pg_proc WHERE proname = 'filtered_labels'"
    ).fetchone() == (1,)
    # An open end: only the labels dated after the start.
    pg.execute("UPDATE asmdb.labels SET observed_at = DATE '2020-01-01' + label_id")
    after = pg.execute(
        "SELECT count(*) FROM asmdb.filtered_labels(observed_from => DATE '2020-03-01')"
    ).fetchone()[0]
    direct = pg.execute(
        "SELECT count(*) FROM asmdb.filtered_labels() WHERE observed_at >= DATE '2020-03-01'"
    ).fetchone()[0]
    assert after == direct > 0


def test_label_dates_revision_down_and_up_keeps_labels(engine, pg, sample, tmp_path):
    labels = pd.read_csv(sample.labels, dtype=str)
    labels["observed_at"] = _dates(len(labels))
    path = tmp_path / "dated.csv"
    labels.to_csv(path, index=False)
    from asm_db.ingest.labels import ingest_labels

    ingest_labels(engine, path)
    kept = pg.execute("SELECT count(*) FROM asmdb.filtered_labels()").fetchone()[0]
    assert downgrade(engine, "0012") == "0012"
    # The three-argument function of 0012 is back, and works on the labels left.
    assert pg.execute("SELECT count(*) FROM asmdb.filtered_labels()").fetchone() == (kept,)
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone() == (len(labels),)
    assert upgrade(engine) == head_revision()
    assert pg.execute("SELECT count(*) FROM asmdb.filtered_labels()").fetchone() == (kept,)
    # The three-argument function was replaced, not overloaded.
    args = pg.execute(
        "SELECT pg_get_function_identity_arguments(oid) FROM pg_proc "
        "WHERE proname = 'filtered_labels'"
    ).fetchall()
    assert len(args) == 1 and args[0][0].endswith("observed_from date, observed_to date")
    assert pg.execute("SELECT count(observed_at) FROM asmdb.labels").fetchone() == (0,)
    ingest_labels(engine, path)
    assert pg.execute("SELECT count(observed_at) FROM asmdb.labels").fetchone() == (
        labels["observed_at"].notna().sum(),
    )
