"""`asmdb featurize` end to end: synthetic rasters made here, a real PostGIS, the installed command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import psycopg
import pytest
import rasterio

from asm_db.grid import Grid
from asm_db.imagery import rcf

from conftest import ASMDB, assert_terminated, descendants
from featurize_checks import FEATURIZE, K, _bad, direct_rcf, filter_bank, tile_block, vectors
from rasters import EAST, NORTH, SOUTH, WEST, write_4326, write_utm

pytestmark = pytest.mark.slow  # rasters, Dask clusters and a SIGKILL: minutes, not seconds

SAMPLE_TILES = 24 * 24  # conftest.SAMPLE


def test_features_equal_a_direct_computation_from_the_file(cli, pg, tmp_path):
    path = write_4326(tmp_path / "scene.tif")
    done = cli(
        *FEATURIZE,
        str(path),
        "--feature-set",
        "s2",
        "--features",
        str(K),
        "--scale",
        "1/10000",
        "--seed",
        "3",
    )
    assert done.code == 0, done.stderr
    assert "16 tiles x 64 features" in done.stdout
    got = vectors(pg, "s2")
    assert len(got) == 16
    bank = filter_bank(cli, "s2")
    assert np.array_equal(bank.weights, rcf.gaussian_filters(K, 3, 3).weights)
    with rasterio.open(path) as src:
        data = src.read().astype(np.float64) / 10000

    for tile_id in sorted(got)[:3]:
        block = tile_block(data, tile_id)
        assert block.shape == (3, 20, 20)
        want = direct_rcf(block, np.ones(block.shape[1:], bool), bank.weights, bank.bias)
        np.testing.assert_allclose(got[tile_id], want, rtol=1e-4, atol=1e-5)
    # The tiles were created on asmdb's grid, where a MOSAIKS file would put them.
    lat, lon = pg.execute(
        "SELECT lat, lon FROM asmdb.tiles WHERE tile_id = asmdb.tile_id(8.405, -11.195)"
    ).fetchone()
    assert (lat, lon) == (8.405, -11.195)
    row = pg.execute(
        "SELECT complete, provenance -> 'parameters', provenance -> 'tiles' "
        "FROM asmdb.feature_sets WHERE name = 's2'"
    ).fetchone()
    assert row[0] is True
    assert row[1]["scale"] == [0.0001] * 3 and row[1]["tile_pixels"] == 20
    assert row[2]["done"] == 16


# Largest difference allowed between the features of one scene written in different ways,
# relative to the feature's size plus the mean size of all features (nearest-neighbour
# resampling moves a pixel by up to half a pixel).
SAME_SCENE_TOLERANCE = 0.05


def test_same_scene_in_4326_utm_and_in_parts_gives_the_same_features(cli, pg, tmp_path):
    whole = write_4326(tmp_path / "whole.tif")
    utm = write_utm(tmp_path / "utm.tif")
    # Cut through the middle of tiles, with an overlap: the later part wins there.
    west = write_4326(tmp_path / "part_w.tif", bounds=(WEST, SOUTH, -11.1825, NORTH))
    east = write_4326(tmp_path / "part_e.tif", bounds=(-11.1875, SOUTH, EAST, NORTH))
    folder = tmp_path / "parts"
    folder.mkdir()
    os.link(west, folder / "a_west.tif")
    os.link(east, folder / "b_east.tif")
    for name, inputs in (
        ("whole", [whole]),
        ("utm", [utm]),
        ("parts", [west, east]),
        ("folder", [folder]),
    ):
        done = cli(
            *FEATURIZE,
            *map(str, inputs),
            "--feature-set",
            name,
            "--features",
            str(K),
            "--scale",
            "1/10000",
            "--bbox",
            f"{WEST},{SOUTH},{EAST},{NORTH}",
            "--tile-pixels",
            "20",
        )
        assert done.code == 0, done.stderr
    base = vectors(pg, "whole")
    assert len(base) == 16
    parts = vectors(pg, "parts")
    assert parts.keys() == base.keys()
    for tile_id in base:  # same pixels, read from two files: equal
        np.testing.assert_allclose(parts[tile_id], base[tile_id], rtol=1e-6, atol=1e-7)
        assert np.array_equal(vectors(pg, "folder")[tile_id], parts[tile_id])
    other = vectors(pg, "utm")
    assert other.keys() == base.keys()
    a = np.vstack([base[t] for t in sorted(base)])
    u = np.vstack([other[t] for t in sorted(base)])
    relative = np.abs(a - u) / (np.abs(a) + np.abs(a).mean())
    assert relative.max() < SAME_SCENE_TOLERANCE


def test_nodata_and_mask_pixels_are_left_out_and_sparse_tiles_skipped(cli, pg, tmp_path):
    path = write_4326(tmp_path / "scene.tif", bands=4, nodata=0)
    with rasterio.open(path, "r+") as dst:
        data = dst.read()
        data[3] = 1  # band 4: a mask (SCL-like class 1: fine)
        grid = Grid()
        t_nodata, t_mask, t_sparse, t_clean = (
            int(grid.tile_ids(8.405, -11.195)),
            int(grid.tile_ids(8.405, -11.185)),
            int(grid.tile_ids(8.415, -11.195)),
            int(grid.tile_ids(8.425, -11.175)),
        )
        tile_block(data, t_nodata)[:3, 4:7, 5:9] = 0  # nodata in band values
        tile_block(data, t_mask)[3, 10:15, 2:6] = 9  # masked as cloud
        tile_block(data, t_sparse)[:3, :, :12] = 0  # 60% nodata: below --min-valid 0.5
        dst.write(data)
    done = cli(
        *FEATURIZE,
        str(path),
        "--feature-set",
        "m",
        "--features",
        str(K),
        "--mask-band",
        "4",
        "--mask-values",
        "8,9,10",
        "--scale",
        "1/10000",
    )
    assert done.code == 0, done.stderr
    assert "1 below --min-valid" in done.stdout
    got = vectors(pg, "m")
    assert t_sparse not in got and len(got) == 15
    bank = filter_bank(cli, "m")

    for tile_id in (t_nodata, t_mask, t_clean):
        block = tile_block(data, tile_id).astype(np.float64)
        valid = (block[:3] != 0).all(axis=0) & ~np.isin(block[3], [8, 9, 10])
        assert tile_id == t_clean or not valid.all()
        want = direct_rcf(block[:3] / 10000, valid, bank.weights, bank.bias)
        np.testing.assert_allclose(got[tile_id], want, rtol=1e-4, atol=1e-5)
    # Stricter --min-valid skips the tiles with holes too.
    strict = cli(
        *FEATURIZE,
        str(path),
        "--feature-set",
        "strict",
        "--features",
        str(K),
        "--mask-band",
        "4",
        "--mask-values",
        "9",
        "--min-valid",
        "0.98",
    )
    assert strict.code == 0, strict.stderr
    assert len(vectors(pg, "strict")) == 13


def test_mean_method_gives_band_statistics_of_valid_pixels(cli, pg, tmp_path):
    path = write_4326(tmp_path / "emb.tif", bands=2, nodata=0)
    done = cli(
        *FEATURIZE,
        str(path),
        "--feature-set",
        "emb",
        "--method",
        "mean",
        "--stats",
        "mean,std",
        "--scale",
        "0.5",
        "--offset",
        "-1",
    )
    assert done.code == 0, done.stderr
    names = pg.execute("SELECT feature_names FROM asmdb.feature_sets WHERE name = 'emb'").fetchone()
    assert names[0] == ["b1_mean", "b1_std", "b2_mean", "b2_std"]
    with rasterio.open(path) as src:
        data = src.read().astype(np.float64) * 0.5 - 1
    tile_id = int(Grid().tile_ids(8.435, -11.165))
    block = tile_block(data, tile_id)
    want = [block[0].mean(), block[0].std(), block[1].mean(), block[1].std()]
    np.testing.assert_allclose(vectors(pg, "emb")[tile_id], want, rtol=1e-5)


def test_stac_item_collection_assets_scale_and_period(cli, pg, tmp_path):
    path = write_4326(tmp_path / "scene.tif")
    with rasterio.open(path) as src:
        data, profile = src.read(), src.profile
    profile.update(count=1)
    assets = {}
    for i, name in enumerate(("red", "green", "blue")):
        band = tmp_path / f"{name}.tif"
        with rasterio.open(band, "w", **profile) as dst:
            dst.write(data[i : i + 1])
        assets[name] = {
            "href": band.name,
            "type": "image/tiff; application=geotiff",
            "raster:bands": [{"scale": 0.0001, "offset": 0}],
        }
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2A_TEST",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[WEST, SOUTH], [EAST, SOUTH], [EAST, NORTH], [WEST, NORTH], [WEST, SOUTH]]
            ],
        },
        "bbox": [WEST, SOUTH, EAST, NORTH],
        "properties": {"datetime": "2024-03-05T10:30:00Z"},
        "links": [],
        "assets": assets,
    }
    stac = tmp_path / "items.json"
    stac.write_text(json.dumps({"type": "FeatureCollection", "features": [item]}))
    done = cli(
        *FEATURIZE,
        str(stac),
        "--assets",
        "red,green,blue",
        "--feature-set",
        "stac",
        "--features",
        str(K),
        "--seed",
        "3",
        "--source",
        "sentinel-2-l2a",
    )
    assert done.code == 0, done.stderr
    tif = cli(
        *FEATURIZE,
        str(path),
        "--feature-set",
        "tif",
        "--features",
        str(K),
        "--seed",
        "3",
        "--scale",
        "1/10000",
    )
    assert tif.code == 0, tif.stderr
    a, b = vectors(pg, "stac"), vectors(pg, "tif")
    assert a.keys() == b.keys() and all(np.array_equal(a[t], b[t]) for t in a)
    row = pg.execute(
        "SELECT source, period_start::text, period_end::text, provenance -> 'parameters' -> 'bands' "
        "FROM asmdb.feature_sets WHERE name = 'stac'"
    ).fetchone()
    assert row == ("sentinel-2-l2a", "2024-03-05", "2024-03-05", ["red", "green", "blue"])
    listed = cli("feature-sets", "list")
    assert "stac" in listed.stdout and "2024-03-05/2024-03-05" in listed.stdout


def test_like_reuses_method_parameters_and_filters(cli, pg, tmp_path):
    first = write_4326(tmp_path / "2023.tif")
    done = cli(
        *FEATURIZE,
        str(first),
        "--feature-set",
        "y2023",
        "--features",
        str(K),
        "--filters",
        "patches",
        "--seed",
        "5",
        "--scale",
        "1/10000",
        "--period",
        "2023-01-01/2023-12-31",
    )
    assert done.code == 0, done.stderr
    again = cli(
        *FEATURIZE,
        str(first),
        "--feature-set",
        "y2024",
        "--like",
        "y2023",
        "--scale",
        "1/10000",
        "--period",
        "2024-01-01/2024-12-31",
    )
    assert again.code == 0, again.stderr
    bank = filter_bank(cli, "y2023")
    assert bank.kind == "patches" and bank.bias == 1
    assert np.array_equal(filter_bank(cli, "y2024").weights, bank.weights)
    a, b = vectors(pg, "y2023"), vectors(pg, "y2024")
    assert a.keys() == b.keys() and all(np.array_equal(a[t], b[t]) for t in a)
    # The same command again has nothing to do; `delete` wants --yes.
    same = cli(
        *FEATURIZE, str(first), "--feature-set", "y2024", "--like", "y2023", "--scale", "1/10000"
    )
    assert same.code == 0 and "already complete" in same.stdout
    refused = cli("feature-sets", "delete", "y2024")
    assert refused.code == 1 and "--yes" in refused.stderr
    gone = cli("feature-sets", "delete", "y2024", "--yes")
    assert gone.code == 0 and vectors(pg, "y2024") == {}


def _masked_scene(path):
    """The synthetic scene with a 4th band, an SCL-like mask: 9 (cloud) over one corner."""
    path = write_4326(path, bands=4, nodata=0)
    with rasterio.open(path, "r+") as dst:
        data = dst.read()
        data[3] = 1
        data[3, :15, :15] = 9
        dst.write(data)
    return path


def test_like_alone_reads_a_later_period_with_the_first_periods_processing(cli, pg, tmp_path):
    """--like carries scale, offset, mask band and values and --min-valid (files without scale
    metadata, as Sentinel-2 chips often are): the later set equals one made with every option
    given by hand, and each setting's origin is one line on stderr."""
    first, later = _masked_scene(tmp_path / "a.tif"), _masked_scene(tmp_path / "b.tif")
    by_hand = (
        "--scale", "1/255", "--offset", "-0.1", "--mask-band", "4", "--mask-values", "8,9",
        "--min-valid", "0.9",
    )  # fmt: skip
    made = cli(*FEATURIZE, str(first), "--feature-set", "a", "--features", str(K), *by_hand)
    assert made.code == 0, made.stderr
    assert "scale 1/255 from --scale" in made.stderr
    hand = cli(*FEATURIZE, str(later), "--feature-set", "b-hand", "--like", "a", *by_hand)
    assert hand.code == 0, hand.stderr
    alike = cli(*FEATURIZE, str(later), "--feature-set", "b", "--like", "a")
    assert alike.code == 0, alike.stderr
    assert alike.stderr.splitlines() == [
        "scale 1/255 from feature set a (--like)",
        "offset -0.1 from feature set a (--like)",
        "mask band 4 from feature set a (--like)",
        "mask values 8,9 from feature set a (--like)",
        "min valid 0.9 from feature set a (--like)",
    ]
    assert "below --min-valid" in alike.stdout
    got, want = vectors(pg, "b"), vectors(pg, "b-hand")
    assert got.keys() == want.keys() and len(got) < 16  # the clouded corner is skipped
    assert all(np.array_equal(got[t], want[t]) for t in got)
    shown = json.loads(cli("feature-sets", "show", "b").stdout)["provenance"]
    assert shown["parameters"]["scale"] == [1 / 255] * 3 and shown["mask_band"] == "4"
    assert shown["processing"]["scale"] == "like"

    # An option given wins over the --like set, and so does the imagery's own metadata.
    with rasterio.open(later, "r+") as dst:
        dst.scales = (1e-4,) * 4
    own = cli(
        *FEATURIZE, str(later), "--feature-set", "c", "--like", "a", "--min-valid", "0.2"
    )  # fmt: skip
    assert own.code == 0, own.stderr
    assert "scale 1/10000 from the imagery's metadata" in own.stderr.splitlines()
    assert "min valid 0.2 from --min-valid" in own.stderr.splitlines()
    params = json.loads(cli("feature-sets", "show", "c").stdout)["provenance"]["parameters"]
    assert (params["scale"], params["offset"], params["min_valid"]) == ([1e-4] * 3, [-0.1] * 3, 0.2)


def _count(url: str, name: str) -> int:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return conn.execute(
            "SELECT count(*) FROM asmdb.tile_features JOIN asmdb.feature_sets "
            "USING (feature_set_id) WHERE name = %s",
            (name,),
        ).fetchone()[0]


def test_resume_after_sigkill_equals_an_uninterrupted_run(cli, pg, db_url, tmp_path, sample):
    path = write_4326(tmp_path / "big.tif", bounds=(WEST, SOUTH, -11.10, 8.50))  # 100 tiles
    args = [
        str(path),
        "--features",
        "1000",
        "--scale",
        "1/10000",
        "--batch-tiles",
        "2",
        "--workers",
        "0",
    ]
    whole = cli(*FEATURIZE, *args, "--feature-set", "whole")
    assert whole.code == 0, whole.stderr
    env = {**os.environ, "ASMDB_DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [str(ASMDB), "featurize", *args, "--feature-set", "killed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _count(db_url, "killed") < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = _count(db_url, "killed")
    assert 10 <= stored < 100
    complete = pg.execute(
        "SELECT complete FROM asmdb.feature_sets WHERE name = 'killed'"
    ).fetchone()
    assert complete == (False,)
    # An incomplete set is refused by train, with a clear line.
    # The labels cover more than this small scene: loaded as they are.
    assert cli("ingest", "labels", str(sample.labels), "--force").code == 0
    refused = cli("train", "--feature-set", "killed")
    assert refused.code == 1
    assert "incomplete" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    resumed = cli(*FEATURIZE, *args, "--feature-set", "killed")
    assert resumed.code == 0, resumed.stderr
    assert f"resumed after {stored}" in resumed.stdout
    a, b = vectors(pg, "whole"), vectors(pg, "killed")
    assert len(a) == 100 and a.keys() == b.keys()
    assert all(a[t].tobytes() == b[t].tobytes() for t in a)


def test_dask_scheduler_and_two_workers_give_the_local_result(cli, pg, tmp_path):
    path = write_4326(tmp_path / "scene.tif")
    dask = ASMDB.with_name("dask")
    scheduler_file = tmp_path / "scheduler.json"
    procs = [
        subprocess.Popen(
            [
                str(dask),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        str(dask),
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        common = [str(path), "--features", str(K), "--scale", "1/10000", "--batch-tiles", "3"]
        remote = cli(*FEATURIZE, *common, "--feature-set", "remote", "--scheduler", address)
        assert remote.code == 0, remote.stderr
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    local = cli(*FEATURIZE, *common, "--feature-set", "local")
    assert local.code == 0, local.stderr
    a, b = vectors(pg, "remote"), vectors(pg, "local")
    assert len(a) == 16 and a.keys() == b.keys()
    assert all(a[t].tobytes() == b[t].tobytes() for t in a)


def test_local_cluster_of_worker_processes(cli, pg, tmp_path):
    path = write_4326(tmp_path / "scene.tif")
    common = [str(path), "--features", str(K), "--batch-tiles", "4"]
    assert cli("featurize", *common, "--feature-set", "two").code == 0  # default: one per core
    assert cli(*FEATURIZE, *common, "--feature-set", "here").code == 0
    a, b = vectors(pg, "two"), vectors(pg, "here")
    assert len(a) == 16 and all(a[t].tobytes() == b[t].tobytes() for t in a)


def test_bad_input_is_one_line_and_changes_nothing(cli, pg, tmp_path):
    good = write_4326(tmp_path / "good.tif")
    with rasterio.open(good) as src:
        data, profile = src.read(), src.profile
    profile.pop("crs")
    no_crs = tmp_path / "no_crs.tif"
    with rasterio.open(no_crs, "w", **profile) as dst:
        dst.write(data)
    assert "coordinate reference system" in _bad(cli, pg, str(no_crs), "--feature-set", "x")
    line = _bad(cli, pg, str(good), "--feature-set", "x", "--bbox", "10,10,10.5,10.5")
    assert "does not overlap" in line
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00 not really a tiff")
    assert "cannot be read" in _bad(cli, pg, str(broken), "--feature-set", "x")
    assert "does not exist" in _bad(cli, pg, str(tmp_path / "missing.tif"), "--feature-set", "x")
    url = "http://127.0.0.1:9/nothing.tif"
    assert "cannot be read" in _bad(cli, pg, url, "--feature-set", "x")
    stac = tmp_path / "items.json"
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2B_X",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {"red": {"href": str(good)}},
    }
    stac.write_text(json.dumps({"type": "FeatureCollection", "features": [item]}))
    line = _bad(cli, pg, str(stac), "--assets", "red,nir", "--feature-set", "x")
    assert "S2B_X" in line and "'nir'" in line
    # A set made with some parameters; the same name with others, and --like with other bands.
    assert cli(*FEATURIZE, str(good), "--feature-set", "three", "--features", str(K)).code == 0
    line = _bad(cli, pg, str(good), "--feature-set", "three", "--features", "32")
    assert "other parameters" in line and "features" in line
    two_bands = write_4326(tmp_path / "two.tif", bands=2)
    line = _bad(cli, pg, str(two_bands), "--feature-set", "y", "--like", "three")
    assert "3 bands" in line and "2" in line
    line = _bad(cli, pg, str(good), str(two_bands), "--feature-set", "y")
    assert "bands" in line


@pytest.mark.parametrize("option", [["--method", "pca"], ["--features", "7"], ["--period", "2024"]])
def test_bad_options_are_one_line(cli, pg, tmp_path, option):
    good = write_4326(tmp_path / "good.tif")
    _bad(cli, pg, str(good), "--feature-set", "x", *option)


def test_ingested_file_records_its_checksum_source_and_period(cli, pg, sample):
    import hashlib

    done = cli(
        "ingest",
        "features",
        str(sample.features),
        "--feature-set",
        "planet",
        "--source",
        "mosaiks-planet-2019q3",
        "--period",
        "2019-07-01/2019-09-30",
    )
    assert done.code == 0, done.stderr
    row = pg.execute(
        "SELECT source, period_start::text, period_end::text, provenance, complete "
        "FROM asmdb.feature_sets WHERE name = 'planet'"
    ).fetchone()
    assert row[:3] == ("mosaiks-planet-2019q3", "2019-07-01", "2019-09-30") and row[4] is True
    (record,) = row[3]["files"]
    assert record["sha256"] == hashlib.sha256(sample.features.read_bytes()).hexdigest()
    assert record["size"] == sample.features.stat().st_size
    shown = json.loads(cli("feature-sets", "show", "planet").stdout)
    assert shown["provenance"]["files"][0]["sha256"] == record["sha256"]


def test_sample_imagery_shows_mines_as_bright_ground(cli, pg, sample):
    import pandas as pd

    with rasterio.open(sample.imagery) as src:
        assert src.crs.to_epsg() == 32629 and src.scales == (1e-4,) * 3
    done = cli(*FEATURIZE, str(sample.imagery), "--feature-set", "colour", "--method", "mean")
    assert done.code == 0, done.stderr
    rows = pg.execute(
        "SELECT t.lat, t.lon, asmdb.feature_value(f.features, 1) FROM asmdb.tile_features AS f "
        "JOIN asmdb.tiles AS t USING (tile_id)"
    ).fetchall()
    assert len(rows) == SAMPLE_TILES
    red = pd.DataFrame(rows, columns=["lat", "lon", "red"])
    red["image_id"] = [
        f"lat_{a:.3f}__lon_{o:.3f}".replace(".", "--")
        for a, o in zip(red.lat, red.lon, strict=True)
    ]
    truth = pd.read_csv(sample.truth).merge(red, on="image_id")
    assert len(truth) == SAMPLE_TILES
    mined = truth[truth.is_mine == 1].red.mean()
    other = truth[truth.is_mine == 0].red.mean()
    assert 0 < other < 0.06 and mined > 2 * other  # bare ground is brighter than vegetation


def test_provenance_revision_down_and_up_keeps_sets_and_vectors(engine, pg, cli, tmp_path):
    from asm_db.db.engine import downgrade, head_revision, upgrade

    path = write_4326(tmp_path / "scene.tif")
    assert cli(*FEATURIZE, str(path), "--feature-set", "s", "--features", str(K)).code == 0
    stored = vectors(pg, "s")
    assert downgrade(engine, "0006") == "0006"
    columns = {
        r[0]
        for r in pg.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'asmdb' AND table_name = 'feature_sets'"
        )
    }
    assert "provenance" not in columns and "complete" not in columns
    assert upgrade(engine) == head_revision()
    again = vectors(pg, "s")
    assert again.keys() == stored.keys() and all(np.array_equal(again[t], stored[t]) for t in again)
    row = pg.execute(
        "SELECT complete, provenance FROM asmdb.feature_sets WHERE name = 's'"
    ).fetchone()
    assert row == (True, {})  # what a set from before the revision is: complete, unknown origin


def test_aoi_in_any_crs_selects_the_tiles_it_meets(cli, pg, tmp_path):
    import geopandas as gpd
    import shapely

    path = write_4326(tmp_path / "scene.tif")
    # Two tiles' worth around (8.415, -11.185) and (8.415, -11.175), drawn in UTM 29N.
    area = gpd.GeoSeries([shapely.box(-11.188, 8.412, -11.172, 8.418)], crs=4326).to_crs(32629)
    aoi = tmp_path / "aoi.gpkg"
    gpd.GeoDataFrame(geometry=area).to_file(aoi)
    done = cli(*FEATURIZE, str(path), "--feature-set", "a", "--features", str(K), "--aoi", str(aoi))
    assert done.code == 0, done.stderr
    grid = Grid()
    want = {int(grid.tile_ids(8.415, -11.185)), int(grid.tile_ids(8.415, -11.175))}
    assert set(vectors(pg, "a")) == want


def test_another_tile_size_featurizes_on_a_grid_of_its_own(cli, pg, tmp_path):
    path = write_4326(tmp_path / "scene.tif")
    fine = cli(*FEATURIZE, str(path), "--feature-set", "fine", "--method", "mean")
    assert fine.code == 0, fine.stderr
    before = pg.execute("SELECT tile_id, ST_AsBinary(geom) FROM asmdb.tiles ORDER BY 1").fetchall()
    coarse = cli(
        *FEATURIZE, str(path), "--feature-set", "coarse", "--method", "mean", "--tile-size", "0.02"
    )
    assert coarse.code == 0, coarse.stderr
    grid_id, cell = pg.execute(
        "SELECT g.grid_id, g.cell_size FROM asmdb.feature_sets AS s "
        "JOIN asmdb.grids AS g USING (grid_id) WHERE s.name = 'coarse'"
    ).fetchone()
    assert grid_id != 1 and cell == 0.02
    coarse_tiles = pg.execute(
        "SELECT t.tile_id, ST_XMax(t.geom) - ST_XMin(t.geom), t.grid_id FROM asmdb.tile_features "
        "AS f JOIN asmdb.feature_sets AS s USING (feature_set_id) JOIN asmdb.tiles AS t "
        "USING (tile_id) WHERE s.name = 'coarse'"
    ).fetchall()
    assert coarse_tiles
    grid = Grid(grid_id, 0.02)
    for tile_id, width, tile_grid in coarse_tiles:
        assert tile_grid == grid_id and abs(width - 0.02) < 1e-9
        lat, lon = grid.centres([tile_id])
        assert grid.tile_ids(lat, lon)[0] == tile_id
    # The 0.01-degree tiles made first are untouched.
    kept = pg.execute(
        "SELECT tile_id, ST_AsBinary(geom) FROM asmdb.tiles WHERE grid_id = 1 ORDER BY 1"
    ).fetchall()
    assert kept == before


def test_sigterm_stops_featurize_and_its_worker_processes(db_url, tmp_path):
    """A service manager's SIGTERM: the command says so, exits 143, and leaves no local Dask
    worker behind."""
    path = write_4326(tmp_path / "big.tif", bounds=(WEST, SOUTH, -11.10, 8.50))  # 100 tiles
    env = {**os.environ, "ASMDB_DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [str(ASMDB), "featurize", str(path), "--feature-set", "stopped", "--features", "1000",
         "--scale", "1/10000", "--batch-tiles", "1", "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while _count(db_url, "stopped") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = descendants(proc.pid)
    assert len(workers) >= 2, "the local cluster's worker processes should be running"
    assert_terminated(proc, workers)


@pytest.mark.parametrize(
    "option", [["--scale", "inf"], ["--scale", "nan"], ["--offset", "-inf"], ["--scale", "1,nan,1"]]
)
def test_a_scale_or_offset_that_is_not_finite_is_one_line(cli, pg, tmp_path, option):
    good = write_4326(tmp_path / "good.tif")
    line = _bad(cli, pg, str(good), "--feature-set", "x", *option)
    assert option[0] in line and "finite" in line


@pytest.mark.parametrize(
    "raster_bands",
    [
        [{"scale": "abc"}],
        [{"scale": {"x": 1}}],
        "x",
        [5],
        [{"offset": True}],
        [{"nodata": "none"}],
    ],
)
def test_malformed_raster_bands_of_a_stac_asset_are_one_line(cli, pg, tmp_path, raster_bands):
    write_4326(tmp_path / "red.tif", bands=1)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2C_BAD",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {"red": {"href": "red.tif", "raster:bands": raster_bands}},
    }
    stac = tmp_path / "items.json"
    stac.write_text(json.dumps({"type": "FeatureCollection", "features": [item]}))
    line = _bad(cli, pg, str(stac), "--assets", "red", "--feature-set", "x")
    assert "item 'S2C_BAD', asset 'red'" in line and "raster:bands" in line


def test_the_patch_sample_is_the_same_and_bounded_when_its_windows_are_too_many_to_hold(
    tmp_path, monkeypatch
):
    import tracemalloc

    from asm_db.imagery import featurize as fz
    from asm_db.imagery.plan import plan_tiles
    from asm_db.imagery.read import open_imagery

    imagery = open_imagery([str(write_4326(tmp_path / "scene.tif"))], scale=[1e-4])
    method = fz.Method(features=K, filters="patches", seed=5, tile_pixels=300)
    grid = Grid()
    ids = plan_tiles(imagery, grid)
    held = fz.sample_patch_bank(imagery, method, ids, grid)  # 16 tiles x 9.6 MB of windows
    monkeypatch.setattr(fz, "PATCH_SAMPLE_BYTES", 16 * 2**20)
    tracemalloc.start()
    try:
        bounded = fz.sample_patch_bank(imagery, method, ids, grid)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(bounded.weights, held.weights)
    assert peak < 120 * 2**20, peak
