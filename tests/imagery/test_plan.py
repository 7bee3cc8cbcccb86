"""The tiles of a featurize run are counted before they are listed, and a tile's pixels are
bounded: small files cannot make `asmdb featurize` allocate gigabytes."""

from __future__ import annotations

import os
import resource
import subprocess

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from conftest import ASMDB, snapshot
from featurize_checks import FEATURIZE, _bad, vectors
from rasters import NORTH, SOUTH, WEST, write_4326

ADDRESS_SPACE = 3 * 2**30  # the command's whole address space: Python, GDAL, numpy and the plan


def _world(path):
    """A 195 KB raster of the whole world at one degree: 648 million tiles of 0.01 degrees."""
    with rasterio.open(
        path, "w", driver="GTiff", width=360, height=180, count=3, dtype="uint8",
        crs="EPSG:4326", transform=from_origin(-180, 90, 1, 1),
    ) as dst:  # fmt: skip
        dst.write(np.full((3, 180, 360), 7, np.uint8))
    return path


def _limited(db_url, *args):
    """The installed command with its address space capped, as a small machine would be."""

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    env = {**os.environ, "ASMDB_DATABASE_URL": db_url}
    return subprocess.run(
        [str(ASMDB), *FEATURIZE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
    )


def _refused(db_url, pg, *args) -> str:
    before = snapshot(pg)
    done = _limited(db_url, *args)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert snapshot(pg) == before
    return done.stderr.strip()


def test_a_world_raster_is_refused_in_one_line_without_listing_its_tiles(db_url, pg, tmp_path):
    world = _world(tmp_path / "world.tif")
    line = _refused(db_url, pg, str(world), "--feature-set", "w", "--method", "mean")
    assert "648,000,000" in line and "--max-tiles 1,000,000" in line


@pytest.mark.parametrize(
    "extent",
    [
        ["--bbox", "-40,-30,40,30"],  # a box asked for
        pytest.param(["--aoi", "big.gpkg"], marks=pytest.mark.slow),  # the bounds of an area
    ],
)
def test_a_plan_above_max_tiles_is_refused_whatever_set_the_extent(db_url, pg, tmp_path, extent):
    world = _world(tmp_path / "world.tif")
    area = shapely.Polygon([(-40, -30), (40, -30), (0, 30)])
    gpd.GeoDataFrame(geometry=[area], crs=4326).to_file(tmp_path / "big.gpkg")
    extent = [str(tmp_path / e) if e.endswith(".gpkg") else e for e in extent]
    line = _refused(db_url, pg, str(world), "--feature-set", "w", "--method", "mean", *extent)
    assert "above --max-tiles 1,000,000" in line


@pytest.mark.slow
def test_max_tiles_sets_the_limit_and_a_world_bbox_plans_only_the_imagery(db_url, pg, tmp_path):
    scene = write_4326(tmp_path / "scene.tif")  # 16 tiles
    common = [str(scene), "--method", "mean", "--bbox", "-180,-90,180,90", "--feature-set", "a"]
    line = _refused(db_url, pg, *common, "--max-tiles", "15")
    assert "at least 16 tiles" in line and "--max-tiles 15" in line
    done = _limited(db_url, *common, "--max-tiles", "16")
    assert done.returncode == 0, done.stderr
    assert len(vectors(pg, "a")) == 16


def _fine(path, size=1112, res=0.000009):
    """A small file of fine pixels: 0.01 degrees over them is 1,111 pixels a side."""
    with rasterio.open(
        path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8",
        crs="EPSG:4326", transform=from_origin(WEST, NORTH, res, res), compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(np.full((1, size, size), 9, np.uint8))
    return path


def test_a_derived_tile_above_1024_pixels_is_refused_naming_the_file(cli, pg, tmp_path):
    fine = _fine(tmp_path / "fine.tif")
    line = _bad(cli, pg, str(fine), "--feature-set", "f", "--method", "mean")
    assert str(fine) in line and "9e-06 degrees" in line and "1,111 pixels" in line
    assert "--tile-pixels" in line
    done = cli(
        *FEATURIZE, str(fine), "--feature-set", "f", "--method", "mean", "--tile-pixels", "8"
    )
    assert done.code == 0, done.stderr


def test_tile_pixels_above_the_hard_limit_are_refused(cli, pg, tmp_path):
    scene = write_4326(tmp_path / "scene.tif")
    one_tile = f"{WEST},{SOUTH},{WEST + 0.005},{SOUTH + 0.005}"
    line = _bad(
        cli, pg, str(scene), "--feature-set", "t", "--method", "mean", "--bbox", one_tile,
        "--tile-pixels", "2049",
    )  # fmt: skip
    assert "--tile-pixels 2049" in line and "2,048" in line
