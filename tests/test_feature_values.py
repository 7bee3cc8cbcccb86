"""One finiteness rule for stored vectors: `asmdb ingest features` refuses what `asmdb
featurize` never computes from (invalid pixels) and never stores (skipped tiles)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv
import rasterio

from asm_db.feature_values import finite_float32
from asm_db.grid import Grid

from featurize_checks import FEATURIZE, K, direct_rcf, filter_bank, tile_block, vectors
from rasters import write_4326


def test_nan_infinities_and_values_beyond_float32_are_not_finite():
    values, finite = finite_float32(np.array([1.5, np.nan, np.inf, -np.inf, 1e39, -4e38, 3e38]))
    assert values.dtype == np.float32
    assert finite.tolist() == [True, False, False, False, False, False, True]


def test_featurize_leaves_out_pixels_float32_cannot_hold_and_stores_only_finite_vectors(
    cli, pg, tmp_path
):
    path = write_4326(tmp_path / "scene.tif", dtype="float64")
    grid = Grid()
    holes, huge = int(grid.tile_ids(8.405, -11.195)), int(grid.tile_ids(8.425, -11.175))
    with rasterio.open(path, "r+") as dst:
        data = dst.read()
        block = tile_block(data, holes)
        block[0, 3, 3], block[1, 8, 8], block[2, 12, 12] = np.nan, np.inf, 1e43  # 1e39 scaled
        tile_block(data, huge)[:] = 3e42  # 3e38 scaled: each pixel fits, its features do not
        dst.write(data)
    done = cli(*FEATURIZE, str(path), "--feature-set", "f", "--features", str(K), "--scale", "1e-4")
    assert done.code == 0, done.stderr
    assert "15 tiles" in done.stdout and "1 with a vector float32 cannot hold" in done.stdout
    got = vectors(pg, "f")
    assert len(got) == 15 and huge not in got
    assert all(np.isfinite(v).all() for v in got.values())

    bank = filter_bank(cli, "f")
    block = tile_block(data, holes) * 1e-4
    valid = np.ones(block.shape[1:], bool)
    valid[3, 3] = valid[8, 8] = valid[12, 12] = False  # the three pixels are invalid, like nodata
    want = direct_rcf(np.where(valid, block, 0), valid, bank.weights, bank.bias)
    np.testing.assert_allclose(got[holes], want, rtol=1e-4, atol=1e-5)
    skipped = pg.execute(
        "SELECT provenance -> 'tiles' -> 'skipped' FROM asmdb.feature_sets WHERE name = 'f'"
    ).fetchone()[0]
    assert skipped == {"no_valid_pixels": 0, "below_min_valid": 0, "non_finite": 1}


def test_a_stac_scale_beyond_float32_makes_every_pixel_invalid(cli, pg, tmp_path):
    path = write_4326(tmp_path / "red.tif", bands=1)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "HUGE",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {"red": {"href": path.name, "raster:bands": [{"scale": 1e39}]}},
    }
    stac = tmp_path / "items.json"
    stac.write_text(json.dumps({"type": "FeatureCollection", "features": [item]}))
    done = cli(*FEATURIZE, str(stac), "--assets", "red", "--feature-set", "s", "--method", "mean")
    assert done.code == 0, done.stderr
    assert "16 without valid pixels" in done.stdout
    assert vectors(pg, "s") == {}


def test_ingest_features_refuses_a_value_beyond_float32_naming_its_row(cli, pg, tmp_path):
    path = tmp_path / "features.csv"
    table = pa.table(
        {
            "lat": [8.405, 8.415],
            "lon": [-11.195, -11.195],
            "feature_0": [0.5, 1e39],
            "feature_1": [0.25, 0.0],
        }
    )
    pyarrow.csv.write_csv(table, path)
    done = cli("ingest", "features", str(path))
    assert done.code == 1 and "Traceback" not in done.stderr
    assert "row 2" in done.stderr and "column 'feature_0'" in done.stderr
    assert "too large for float32" in done.stderr
    assert pg.execute("SELECT count(*) FROM asmdb.tile_features").fetchone() == (0,)
