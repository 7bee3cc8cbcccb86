"""`asmdb imagery composite` against a real STAC API on loopback (tests/stac_api.py), and
`featurize --imagery` -> `train` from what it makes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import stac_api
from stac_api import AREA, COLLECTION, GROUND, all_cloudy, near_an_edge

from conftest import snapshot

# One worker runs them: they share the session's STAC API.
pytestmark = [pytest.mark.xdist_group("stac"), pytest.mark.slow]


@pytest.fixture(scope="session")
def stac(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stac")
    with stac_api.running_stac_api(folder) as api:
        api.load(stac_api.collection(), stac_api.write_items(folder, api.assets_url))
        api.load(stac_api.collection(with_scl=False, collection_id="no-scl"), [])
        yield api


def composite_args(stac, name, out, *extra):
    return [
        "imagery", "composite", name, "--stac-api", stac.url, "--collection", COLLECTION,
        "--bbox", ",".join(map(str, AREA)), "--period", "2021-01-01/2022-12-31",
        "--assets", "red,green,blue", "--mask-asset", "scl", "--mask-values", "3,8,9,10",
        "--max-cloud", "80", "--out", str(out), *extra,
    ]  # fmt: skip


def read_mosaic(files):
    """The composite's pixels (bands, rows, cols) and each column's longitude."""
    from rasterio.merge import merge

    image, transform = merge([str(f) for f in files])
    cols = np.arange(image.shape[2])
    lon = transform.c + (cols + 0.5) * transform.a
    return image, lon


def test_composite_holds_no_cloud_where_any_date_was_clear_and_is_empty_where_none_was(
    cli, stac, tmp_path
):
    done = cli(*composite_args(stac, "s2-2022", tmp_path / "out", "--json"))
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["items"] == 6 and result["skipped_items"] == 2
    assert not any("2022-08-01" in i for i in result["item_ids"])
    image, lon = read_mosaic(result["files"])
    lon = np.broadcast_to(lon, image.shape[1:])
    sure = ~near_an_edge(lon, 0.0006)
    empty = all_cloudy(lon)
    for b, value in enumerate(GROUND.values()):
        clear = image[b][sure & ~empty]
        assert np.allclose(clear, value, atol=2e-4), (b, np.nanmin(clear), np.nanmax(clear))
        assert np.isnan(image[b][sure & empty]).all()
    assert result["empty_fraction"] == pytest.approx(np.isnan(image[0]).mean(), abs=0.01)
    with rasterio.open(result["files"][0]) as src:
        assert src.crs.to_epsg() == 4326 and src.dtypes[0] == "float32"
        assert src.scales == (1.0, 1.0, 1.0) and src.offsets == (0.0, 0.0, 0.0)
        assert src.descriptions == ("red", "green", "blue")
        assert src.overviews(1) and src.profile["tiled"]
        assert abs(src.transform.a - 0.01 / result_tile_pixels(cli)) < 1e-12
    shown = json.loads(cli("imagery", "show", "s2-2022", "--json").stdout)
    assert shown["scale"] == [1.0, 1.0, 1.0] and shown["offset"] == [0.0, 0.0, 0.0]
    assert sorted(shown["item_ids"]) == sorted(result["item_ids"])
    low, high = shown["stretch"]["red"]
    assert low == pytest.approx(0.1, abs=1e-3) and high == pytest.approx(0.1, abs=1e-3)


def result_tile_pixels(cli) -> int:
    return json.loads(cli("imagery", "show", "s2-2022", "--json").stdout)["parameters"][
        "tile_pixels"
    ]


def test_composite_then_featurize_imagery_then_train(cli, pg, stac, tmp_path):
    """The path from a STAC API to a model: composite, featurize the registered imagery (its
    period and provenance carried into the feature set), train."""
    done = cli(*composite_args(stac, "fine", tmp_path / "out", "--tile-size", "0.002"))
    assert done.code == 0, done.stderr
    rows = [
        "lon,lat,unique_id,country,sample_type,mine_type,confidence,label,proportion_inspected,survey_round"
    ]
    west, south, east, north = AREA
    rng = np.random.default_rng(0)
    for i, lon in enumerate(np.arange(west + 0.001, east, 0.002)):
        for j, lat in enumerate(np.arange(south + 0.001, north, 0.002)):
            rows.append(
                f"{lon:.4f},{lat:.4f},T{i}-{j},SLE,random,,3,{int(rng.random() < 0.4)},1,r1"
            )
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join(rows) + "\n")
    assert cli("ingest", "labels", str(labels)).code == 0
    made = cli(
        "featurize", "--imagery", "fine", "--feature-set", "fine-rcf", "--features", "16",
        "--tile-size", "0.002", "--workers", "0", "--min-valid", "0.1",
    )  # fmt: skip
    assert made.code == 0, made.stderr
    start, end, provenance = pg.execute(
        "SELECT period_start::text, period_end::text, provenance FROM asmdb.feature_sets "
        "WHERE name = 'fine-rcf'"
    ).fetchone()
    assert (start, end) == ("2021-01-01", "2022-12-31")
    assert provenance["registered_imagery"]["name"] == "fine"
    assert provenance["parameters"]["scale"] == [1.0, 1.0, 1.0]
    assert len(provenance["registered_imagery"]["item_ids"]) == 6
    trained = cli("train", "--feature-set", "fine-rcf", "--cv", "seed", "--bootstrap", "0")
    assert trained.code == 0, trained.stderr
    # Deleting the imagery removes its files; the feature set stays, its provenance saying so.
    files = json.loads(cli("imagery", "show", "fine", "--json").stdout)["files"]
    assert cli("imagery", "delete", "fine", "--yes").code == 0
    assert not any(Path(f).exists() for f in files)
    provenance = pg.execute(
        "SELECT provenance FROM asmdb.feature_sets WHERE name = 'fine-rcf'"
    ).fetchone()[0]
    assert provenance["registered_imagery"]["deleted_at"]


def _refused(cli, pg, args) -> str:
    before = snapshot(pg)
    done = cli(*args)
    assert done.code == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert snapshot(pg) == before
    return lines[0]


def test_bad_stac_input_is_one_line_and_registers_nothing(cli, pg, stac, tmp_path):
    out = tmp_path / "out"

    def args(*changes):
        given = composite_args(stac, "bad", out)
        for option, value in zip(changes[::2], changes[1::2], strict=True):
            given[given.index(option) + 1] = value
        return given

    assert "cannot search" in _refused(cli, pg, args("--stac-api", "http://127.0.0.1:9"))
    assert "no items" in _refused(cli, pg, args("--period", "2019-01-01/2019-12-31"))
    line = _refused(cli, pg, args("--assets", "red,nir"))
    assert "'nir'" in line and "item 'S2_" in line
    line = _refused(cli, pg, args("--collection", "no-scl"))
    assert "no items" in line  # a collection without the mask asset (and here no items)
    line = _refused(cli, pg, args("--bbox", "179.9,8,-179.9,8.02"))
    assert "antimeridian" in line
    assert "starts after it ends" in _refused(cli, pg, args("--period", "2022-12-31/2021-01-01"))
    line = _refused(cli, pg, [*args(), "--allow-hosts", "example.org"])
    assert "not in --allow-hosts" in line
    assert cli("imagery", "list", "--json").stdout.strip() == "[]"


def test_a_stac_item_naming_a_local_file_or_a_bad_scale_is_refused_naming_item_and_asset(
    cli, pg, stac, tmp_path
):
    items = stac_api.write_items(stac.folder, stac.assets_url)[:2]
    local, bad_scale = (json.loads(json.dumps(i)) for i in items)
    local["id"], local["collection"] = "LOCAL", "hostile"
    local["assets"]["red"]["href"] = "/etc/passwd"
    bad_scale["id"], bad_scale["collection"] = "BADSCALE", "hostile2"
    bad_scale["assets"]["green"]["raster:bands"] = [{"scale": "1e400"}]
    for collection_id, item in (("hostile", local), ("hostile2", bad_scale)):
        stac.load(stac_api.collection(collection_id=collection_id), [item])
    line = _refused(cli, pg, [*composite_args(stac, "bad", tmp_path), "--collection", "hostile"])
    assert "item 'LOCAL', asset 'red'" in line and "http" in line
    line = _refused(cli, pg, [*composite_args(stac, "bad", tmp_path), "--collection", "hostile2"])
    assert "item 'BADSCALE', asset 'green'" in line and "scale" in line


def test_a_stopped_composite_resumes_writing_only_the_blocks_it_lacks(cli, stac, tmp_path):
    first = cli(*composite_args(stac, "whole", tmp_path / "a", "--tile-size", "0.002", "--json"))
    assert first.code == 0, first.stderr
    files = json.loads(first.stdout)["files"]
    assert len(files) > 2
    resumed = tmp_path / "b"
    resumed.mkdir()
    for f in files[1:]:  # a run stopped after every block but the first
        (resumed / Path(f).name).write_bytes(Path(f).read_bytes())
    (resumed / (Path(files[0]).name + ".part123.tif")).write_bytes(b"half a file")
    done = cli(*composite_args(stac, "again", resumed, "--tile-size", "0.002", "--json"))
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["blocks_written"], result["blocks_resumed"]) == (1, len(files) - 1)
    with rasterio.open(files[0]) as a, rasterio.open(result["files"][0]) as b:
        assert np.array_equal(a.read(), b.read(), equal_nan=True)
