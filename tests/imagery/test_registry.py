"""`asmdb imagery add/list/show/delete`: imagery registered by name, what featurize reads."""

from __future__ import annotations

import json

import pytest

from conftest import snapshot
from rasters import write_4326


def test_added_imagery_is_listed_and_shown_with_its_bands_period_and_stretch(cli, tmp_path):
    path = write_4326(tmp_path / "scene.tif")
    done = cli("imagery", "add", "basemap", str(path), "--period", "2024-01-01/2024-06-30")
    assert done.code == 0, done.stderr
    listed = json.loads(cli("imagery", "list", "--json").stdout)
    assert [r["name"] for r in listed] == ["basemap"]
    entry = listed[0]
    assert (entry["period_start"], entry["period_end"]) == ("2024-01-01", "2024-06-30")
    assert entry["bands"] == ["b1", "b2", "b3"]
    assert entry["bounds"] == [-11.2, 8.4, -11.16, 8.44]
    assert entry["files"] == [str(path.resolve())]
    shown = json.loads(cli("imagery", "show", "basemap", "--json").stdout)
    low, high = shown["stretch"]["b1"]
    assert 1 <= low < high <= 10000
    assert shown["empty_fraction"] == 0


def test_a_name_already_registered_or_a_bad_period_is_one_line_and_changes_nothing(
    cli, pg, tmp_path
):
    path = write_4326(tmp_path / "scene.tif")
    assert cli("imagery", "add", "a", str(path), "--period", "2024-01-01/2024-02-01").code == 0
    before = snapshot(pg)
    for args, words in (
        (["a", str(path), "--period", "2024-01-01/2024-02-01"], "already registered"),
        (["b", str(path), "--period", "2024-03-01/2024-02-01"], "starts after it ends"),
        (["b", str(tmp_path / "missing.tif"), "--period", "2024-01-01/2024-02-01"], "not exist"),
        (["../b", str(path), "--period", "2024-01-01/2024-02-01"], "without '/'"),
        (["b\\c", str(path), "--period", "2024-01-01/2024-02-01"], "without '/'"),
        (["b\nc", str(path), "--period", "2024-01-01/2024-02-01"], "printable"),
        (["b" * 201, str(path), "--period", "2024-01-01/2024-02-01"], "1 to 200"),
        (["..", str(path), "--period", "2024-01-01/2024-02-01"], "not only dots"),
    ):
        done = cli("imagery", "add", *args)
        assert done.code == 1 and words in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert snapshot(pg) == before


@pytest.mark.slow
def test_deleting_added_imagery_keeps_files_asmdb_did_not_write(cli, pg, tmp_path):
    path = write_4326(tmp_path / "scene.tif")
    assert cli("imagery", "add", "a", str(path), "--period", "2024-01-01/2024-02-01").code == 0
    refused = cli("imagery", "delete", "a")
    assert refused.code == 1 and "--yes" in refused.stderr
    assert cli("imagery", "delete", "a", "--yes").code == 0
    assert path.exists()
    assert json.loads(cli("imagery", "list", "--json").stdout) == []
    missing = cli("imagery", "show", "a")
    assert missing.code == 1 and "no imagery named 'a'" in missing.stderr


def test_imagery_across_the_antimeridian_is_refused_in_one_line(cli, pg, tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "fiji.tif"  # UTM 60N, 820-850 km east: 179.9 E to 179.8 W
    profile = dict(driver="GTiff", width=30, height=10, count=3, dtype="uint16", crs="EPSG:32660")
    with rasterio.open(
        path, "w", transform=from_origin(820_000, 10_000, 1000, 1000), **profile
    ) as dst:
        dst.write(np.ones((3, 10, 30), dtype="uint16"))
    before = snapshot(pg)
    done = cli("imagery", "add", "fiji", str(path), "--period", "2024-01-01/2024-02-01")
    assert done.code == 1 and "crosses the antimeridian" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert snapshot(pg) == before
