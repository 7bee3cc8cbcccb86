"""What a new analyst meets on the first day: defaults that work on a district-sized area."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asm_db.modeling.options import BLOCK_SIZES, BLOCKS_PER_FOLD
from asm_db.modeling.protocols import TrainingDataError, choose_block_size, count_blocks

from conftest import snapshot


def _square(width: float, n: int = 40, origin=(-11.5, 8.0)) -> np.ndarray:
    """`n` x `n` label positions spread evenly over a square `width` degrees wide."""
    steps = (np.arange(n) + 0.5) * width / n
    lon, lat = np.meshgrid(origin[0] + steps, origin[1] + steps)
    return np.column_stack([lon.ravel(), lat.ravel()])


@pytest.mark.parametrize("width", [5.0, 1.5, 0.4, 0.24, 0.08])
def test_auto_block_size_is_the_largest_leaving_three_blocks_per_fold(width):
    lonlat = _square(width)
    chosen = choose_block_size(lonlat, folds=5)
    assert chosen in BLOCK_SIZES
    assert count_blocks(lonlat, chosen) >= BLOCKS_PER_FOLD * 5
    larger = [size for size in BLOCK_SIZES if size > chosen]
    assert all(count_blocks(lonlat, size) < BLOCKS_PER_FOLD * 5 for size in larger)


def test_auto_block_size_falls_back_then_refuses():
    # Labels on 3 x 3 spots 0.02 degrees apart: 9 blocks at most, fewer than 15, more than 7.
    spots = _square(0.06, n=3)
    chosen = choose_block_size(spots, folds=5)
    assert count_blocks(spots, chosen) == 9  # the most there can be; at least 7 are needed
    assert all(count_blocks(spots, size) < 7 for size in BLOCK_SIZES if size > chosen)
    with pytest.raises(TrainingDataError, match="even at 0.01 degrees.*--cv seed"):
        choose_block_size(spots[:4], folds=5)


@pytest.mark.slow
def test_train_defaults_to_auto_block_size_and_records_it(loaded, cli, pg):
    done = cli("train", "--bootstrap", "0", "--no-map", "--json")
    assert done.code == 0, done.stderr
    run = json.loads(done.stdout)
    # The test sample spans 0.24 degrees: 0.1 leaves 9 blocks, 0.05 leaves 25.
    assert run["block_size"] == 0.05 and run["counts"]["spatial_blocks"] == 25
    assert "spatial CV blocks of 0.05 degrees (25 blocks; --block-size auto" in done.stderr
    shown = cli("runs", "show", "1")
    assert "--block-size 0.05" in shown.stdout  # the command that reproduces it
    protocol = pg.execute("SELECT parameters->'protocol' FROM asmdb.model_runs").fetchone()[0]
    assert protocol["block_size"] == 0.05 and protocol["block_size_auto"] is True

    given = cli("train", "--bootstrap", "0", "--no-map", "--block-size", "0.04")
    assert given.code == 0, given.stderr
    assert "blocks of 0.04 degrees;" in given.stdout and "--block-size auto" not in given.stdout
    protocol = pg.execute(
        "SELECT parameters->'protocol' FROM asmdb.model_runs WHERE run_id = 2"
    ).fetchone()[0]
    assert protocol["block_size"] == 0.04 and protocol["block_size_auto"] is False


def test_train_refuses_a_block_size_that_is_not_a_size(loaded, cli):
    for bad in ("big", "0", "-1", "nan"):
        done = cli("train", "--block-size", bad)
        assert done.code == 2 and "--block-size" in done.stderr, bad


def test_demo_and_quick_start_need_no_block_size():
    root = Path(__file__).parent.parent
    demo = (root / "scripts" / "demo").read_text()
    readme = (root / "README.md").read_text()
    quick_start = readme[readme.index("## Using it") : readme.index("### Commands")]
    assert "--block-size" not in demo and "--block-size" not in quick_start
    assert "asmdb sample-data" in quick_start


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


def test_an_excluded_mine_type_no_label_has_is_named(loaded, cli):
    done = cli(
        "train", "--cv", "seed", "--bootstrap", "0", "--no-map", "--exclude-mine-type", "comercial"
    )
    assert done.code == 0, done.stderr
    assert "no label has mine_type 'comercial'" in done.stderr
    assert "did you mean 'commercial'?" in done.stderr
    assert "mine types in the labels: artisanal (" in done.stderr
    quiet = cli("train", "--cv", "seed", "--bootstrap", "0", "--no-map")
    assert quiet.code == 0 and "mine_type" not in quiet.stderr


def test_the_filter_that_removed_the_last_labels_is_named(loaded, cli, pg):
    before = snapshot(pg)
    done = cli("train", "--min-confidence", "9")
    assert done.code == 1
    left = pg.execute(
        "SELECT count(*) FROM asmdb.labels WHERE (proportion_inspected >= 0.2 OR label = 1) "
        "AND mine_type IS DISTINCT FROM 'commercial'"
    ).fetchone()[0]
    assert f"--min-confidence 9 removed the last labels ({left} before it, 0 after)" in done.stderr
    assert snapshot(pg) == before


def test_labels_and_tiles_apart_show_both_extents(cli, tmp_path, sample):
    far = _labels(sample, tmp_path, lon=lambda f: (f["lon"].astype(float) + 30).astype(str))
    assert cli("ingest", "labels", str(far)).code == 0  # no feature set yet: nothing to check
    assert cli("ingest", "features", str(sample.features)).code == 0
    done = cli("train")
    assert done.code == 1
    assert "none of the" in done.stderr and "lies on a tile of feature set 'default'" in done.stderr
    assert "the labels span lon 18" in done.stderr and "the tiles lon -11" in done.stderr


def test_train_refuses_plots_it_cannot_write_before_fitting(loaded, cli, pg, tmp_path):
    before = snapshot(pg)
    taken = tmp_path / "plots.png"
    taken.write_bytes(b"not a folder")
    for plots, says in ((taken, "is a file"), (taken / "sub", f"is inside {taken}, a file")):
        done = cli("train", "--plots", str(plots))
        assert done.code == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        assert f"{plots} {says}: --plots takes a folder" in done.stderr
    assert taken.read_bytes() == b"not a folder"
    assert snapshot(pg) == before


def test_plots_that_fail_leave_no_run(loaded, cli, pg, tmp_path):
    before = snapshot(pg)
    plots = tmp_path / "new" / "plots"
    done = cli("train", "--cv", "seed", "--bootstrap", "0", "--plots", str(plots))
    assert done.code == 0, done.stderr
    assert len(list(plots.glob("run-1-*.png"))) == 8
    made = snapshot(pg)
    assert made != before

    # A folder where run 2's ROC curve goes: found only when drawing, after the fit.
    (plots / "run-2-roc.png").mkdir()
    done = cli("train", "--cv", "seed", "--bootstrap", "0", "--plots", str(plots))
    assert done.code == 1 and "run-2-roc.png is a folder" in done.stderr
    assert snapshot(pg) == made  # no run 2, no map
    assert sorted(p.name for p in plots.iterdir() if "run-2" in p.name) == ["run-2-roc.png"]
    assert not list(plots.glob(".*partial*"))


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


@pytest.mark.parametrize(
    "url, says",
    [
        ("mysql://u@h/db", "asmdb needs PostgreSQL, not 'mysql'"),
        ("sqlite:///x.db", "asmdb needs PostgreSQL, not 'sqlite'"),
        ("http://h/db", "asmdb needs PostgreSQL, not 'http'"),
        ("postgresql://u@h:port/db", "Could not parse the URL"),
        ("no url at all", "malformed database URL"),
    ],
)
def test_a_malformed_database_url_is_one_line(cli, url, says):
    done = cli("runs", "list", "--database-url", url)
    assert done.code == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: malformed database URL") and says in done.stderr


def test_export_into_a_missing_folder_is_one_line(trained, cli, tmp_path):
    for name in ("x.gpkg", "x.parquet"):
        out = tmp_path / "nodir" / name
        done = cli("export", "predictions", str(out))
        assert done.code == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        assert f"{out}: there is no folder {out.parent} to write it in" in done.stderr
    assert not (tmp_path / "nodir").exists()


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


def _help(*path: str) -> str:
    from typer.testing import CliRunner

    from asm_db.cli.app import run

    with CliRunner().isolation(env={"COLUMNS": "80"}) as (stdout, _stderr, _):
        assert run([*path, "--help"]) == 0
        return stdout.getvalue().decode()


def _commands():
    from asm_db.cli.app import command

    def walk(cmd, path):
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    return list(walk(command(), ()))


def test_help_is_readable_at_80_columns():
    for path, cmd in _commands():
        text = _help(*path)
        assert all(len(line) <= 80 for line in text.splitlines()), path
        for noise in ("<bool>", "<str>", "<int", "<float>", "<path>", "<list", "…", "╭"):
            assert noise not in text, (path, noise)
        assert not re.search(r"\{[A-Za-z_]+(\.\.\.)?\}", text), path  # {file}
        for param in cmd.params:
            if not param.hidden:
                for name in (*param.opts, *param.secondary_opts):
                    if name.startswith("--"):
                        assert name in text, (path, name)  # never cut
        assert "--random-state" not in text


def test_version_and_one_name_for_seeds(cli, loaded, pg):
    from asm_db import __version__

    assert cli("--version").stdout == f"asmdb {__version__}\n"
    for path, cmd in _commands():
        names = {name for param in cmd.params if not param.hidden for name in param.opts}
        assert not names & {"--random-state", "--random-seed", "--rng"}, path
    assert "--seed" in _help("train") and "--seed" in _help("sample-data")

    done = cli("train", "--cv", "seed", "--seed", "5", "--bootstrap", "0", "--no-map")
    assert done.code == 0, done.stderr
    alias = cli("train", "--cv", "seed", "--random-state", "6", "--bootstrap", "0", "--no-map")
    assert alias.code == 0, alias.stderr
    seeds = pg.execute(
        "SELECT parameters->'protocol'->>'random_state' FROM asmdb.model_runs ORDER BY run_id"
    ).fetchall()
    assert seeds == [("5",), ("6",)]
    assert "--seed 6" in cli("runs", "show", "2").stdout


def test_the_seed_protocol_is_explained_where_it_appears():
    text = _help("train")
    assert "'seed' (the seed protocol: the original notebook's random 80/20 split" in " ".join(
        text.split()
    )


def _partitions(pg) -> set[str]:
    return {
        r[0]
        for r in pg.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'asmdb.predictions'::regclass"
        )
    }


def test_runs_delete_takes_its_maps_and_partitions(trained, cli, pg):
    second = cli("train", "--cv", "seed", "--bootstrap", "0", "--no-promote")
    assert second.code == 0, second.stderr
    assert cli("predict", "--run", "2", "--feature-set", "default", "--no-promote").code == 0
    maps = pg.execute("SELECT map_id FROM asmdb.maps WHERE run_id = 2").fetchall()
    assert len(maps) == 2
    before = snapshot(pg)
    partitions = _partitions(pg)

    refused = cli("runs", "delete", "2")  # not a terminal: asks for --yes
    assert refused.code == 1 and "add --yes" in refused.stderr and "2 map(s)" in refused.stderr
    assert snapshot(pg) == before and _partitions(pg) == partitions

    done = cli("runs", "delete", "2", "--yes")
    assert done.code == 0, done.stderr
    assert "deleted run 2, 2 map(s), 0 review row(s)" in done.stdout
    assert pg.execute("SELECT count(*) FROM asmdb.model_runs WHERE run_id = 2").fetchone()[0] == 0
    assert pg.execute("SELECT count(*) FROM asmdb.maps WHERE run_id = 2").fetchone()[0] == 0
    assert pg.execute("SELECT count(*) FROM asmdb.predictions WHERE run_id = 2").fetchone()[0] == 0
    assert len(partitions - _partitions(pg)) == 2
    # run 1's map is still the one shown
    assert pg.execute("SELECT DISTINCT run_id FROM asmdb.latest_predictions").fetchall() == [(1,)]
    assert cli("runs", "delete", "2", "--yes").code == 1


def test_runs_delete_keeps_answered_reviews_unless_told(trained, cli, pg):
    queued = cli("review", "queue")
    assert queued.code == 0, queued.stderr
    rows = pg.execute("SELECT count(*) FROM asmdb.review_queue").fetchone()[0]
    assert rows > 1
    pg.execute(
        "UPDATE asmdb.review_queue SET status = 'confirmed', reviewer = 'ana', "
        "reviewed_at = now() WHERE review_id = (SELECT min(review_id) FROM asmdb.review_queue)"
    )
    before = snapshot(pg)
    refused = cli("runs", "delete", "1", "--yes")
    assert refused.code == 1 and "1 answered review(s)" in refused.stderr
    assert "--with-reviews" in refused.stderr and snapshot(pg) == before
    done = cli("runs", "delete", "1", "--yes", "--with-reviews")
    assert done.code == 0, done.stderr
    assert f"{rows} review row(s)" in done.stdout
    assert pg.execute("SELECT count(*) FROM asmdb.review_queue").fetchone()[0] == 0
    assert pg.execute("SELECT count(*) FROM asmdb.latest_predictions").fetchone()[0] == 0
    assert _partitions(pg) == set()


def test_labels_delete_by_id_file_and_source(loaded, cli, pg, sample, tmp_path):
    ids = [r[0] for r in pg.execute("SELECT unique_id FROM asmdb.labels ORDER BY label_id LIMIT 3")]
    before = snapshot(pg)
    typo = cli("labels", "delete", ids[0], "no-such-id", "--yes")
    assert typo.code == 1 and "no label with unique_id no-such-id; nothing deleted" in typo.stderr
    asked = cli("labels", "delete", ids[0])
    assert asked.code == 1 and "add --yes" in asked.stderr
    assert snapshot(pg) == before

    done = cli("labels", "delete", ids[0], "--yes")
    assert done.code == 0 and "deleted 1 label(s)" in done.stdout
    (tmp_path / "ids.txt").write_text(f"{ids[1]}\n{ids[2]}\n")
    done = cli("labels", "delete", "--from-file", str(tmp_path / "ids.txt"), "--yes")
    assert done.code == 0 and "deleted 2 label(s)" in done.stdout
    left = pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0]
    assert left == sample.n_labels - 3

    done = cli("labels", "delete", "--source-file", sample.labels.name, "--yes")
    assert done.code == 0 and f"deleted {left} label(s)" in done.stdout
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == 0


def test_ingest_labels_replace_makes_the_file_its_sources_whole_set(
    loaded, cli, pg, sample, tmp_path
):
    frame = pd.read_csv(sample.labels, dtype=str)
    trimmed = tmp_path / sample.labels.name  # the same source name, 100 labels fewer
    frame.iloc[100:].to_csv(trimmed, index=False)

    upsert = cli("ingest", "labels", str(trimmed))  # without --replace: nothing removed
    assert upsert.code == 0
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels
    before = snapshot(pg)
    asked = cli("ingest", "labels", str(trimmed), "--replace")
    assert asked.code == 1 and "--replace deletes 100 label(s)" in asked.stderr
    assert snapshot(pg) == before

    done = cli("ingest", "labels", str(trimmed), "--replace", "--yes")
    assert done.code == 0 and "100 removed" in done.stdout
    kept = {r[0] for r in pg.execute("SELECT unique_id FROM asmdb.labels")}
    assert kept == set(frame["unique_id"].iloc[100:])


def test_feature_sets_delete_drops_the_partitions_of_its_maps(trained, cli, pg):
    assert _partitions(pg)
    refused = cli("feature-sets", "delete", "default")
    assert refused.code == 1 and "add --yes" in refused.stderr and _partitions(pg)
    done = cli("feature-sets", "delete", "default", "--yes")
    assert done.code == 0, done.stderr
    assert _partitions(pg) == set()
    assert pg.execute("SELECT count(*) FROM asmdb.maps").fetchone()[0] == 0


def test_db_downgrade_base_asks_first(loaded, cli, pg):
    before = snapshot(pg)
    refused = cli("db", "downgrade", "base")
    assert refused.code == 1 and "remove everything asmdb made" in refused.stderr
    assert "add --yes" in refused.stderr and snapshot(pg) == before
    done = cli("db", "downgrade", "base", "--yes")
    assert done.code == 0, done.stderr
    assert pg.execute("SELECT to_regclass('asmdb.labels')").fetchone()[0] is None
