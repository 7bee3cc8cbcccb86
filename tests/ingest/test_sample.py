"""`asmdb sample-data` (asm_db.ingest.sample): the same files for the same seed, made in
memory that follows a strip of imagery or a batch of tiles, not the region."""

import hashlib
import tracemalloc

import numpy as np
import pyarrow.feather as feather
import pytest
import rasterio

from asm_db.ingest import sample

from conftest import SAMPLE

# sha256 of the files' contents (asm_db/ingest/sample.py as it was when the whole region's
# imagery was made in memory at once): features, later features, imagery, later imagery.
DIGESTS = {
    "test": ["b06131a2f9d2887a", "ec546c51af820098", "f3a1865da7a3ea22", "f1547975547a1a32"],
    "default": ["5c0a281589b56d2b", "0ea70fb2630a9fc1", "2a3c9dff6bde401a", "459cf876bb0fda40"],
}


def _digests(data: sample.SampleData) -> list[str]:
    out = []
    for path in (data.features, data.later_features):
        table = feather.read_table(path)
        digest = hashlib.sha256()
        for column in table.columns:
            values = column.to_numpy(zero_copy_only=False)
            digest.update(
                "\n".join(values).encode() if values.dtype == object else values.tobytes()
            )
        out.append(digest.hexdigest()[:16])
    for path in (data.imagery, data.later_imagery):
        with rasterio.open(path) as src:
            out.append(hashlib.sha256(src.read().tobytes()).hexdigest()[:16])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("size", ["test", "default"])
def test_sample_data_for_a_seed_is_what_it_always_was(tmp_path, size):
    options = SAMPLE if size == "test" else {}
    assert _digests(sample.write_sample_data(tmp_path, **options)) == DIGESTS[size]


def test_imagery_made_a_few_rows_at_a_time_equals_imagery_made_at_once(tmp_path, monkeypatch):
    intensity = sample._fields(12, 12, np.random.default_rng(3))["intensity"]
    whole = sample.write_sample_imagery(tmp_path / "whole.tif", intensity, seed=3)
    monkeypatch.setattr(sample, "IMAGERY_STRIP_ROWS", 7)  # fewer rows than the filters reach
    strips = sample.write_sample_imagery(tmp_path / "strips.tif", intensity, seed=3)
    with rasterio.open(whole) as a, rasterio.open(strips) as b:
        assert a.height > 7 * 10
        assert a.profile == b.profile
        assert np.array_equal(a.read(), b.read())


@pytest.mark.slow
def test_imagery_memory_follows_a_strip_of_rows_not_the_region(tmp_path):
    # A tall, narrow region (about 5,500 x 220 pixels): a whole-region build holds many
    # float64 copies of it (measured: 205 bytes a pixel); strips hold a few hundred rows.
    intensity = sample._fields(300, 12, np.random.default_rng(3))["intensity"]
    tracemalloc.start()
    try:
        path = sample.write_sample_imagery(tmp_path / "tall.tif", intensity, seed=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    with rasterio.open(path) as src:
        pixels = src.height * src.width
    assert peak < 8 * 3 * pixels  # less than the reflectance of the region as float64, once
