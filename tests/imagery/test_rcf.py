"""The compute core of `asmdb featurize` against a direct computation, window by window."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from asm_db.imagery import rcf

from featurize_checks import direct_rcf


def make_tile(rng, bands=3, size=12):
    return rng.uniform(0, 0.4, size=(bands, size, size)).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rcf_equals_the_direct_computation(seed):
    rng = np.random.default_rng(100 + seed)
    pixels = make_tile(rng, size=11 + seed)
    valid = np.ones(pixels.shape[1:], bool)
    bank = rcf.gaussian_filters(16, 3, seed)
    got = rcf.rcf_features(pixels, valid, bank)
    want = direct_rcf(pixels, valid, bank.weights, bank.bias)
    assert got.dtype == np.float32 and got.shape == (16,)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_rcf_leaves_out_every_window_touching_an_invalid_pixel():
    rng = np.random.default_rng(7)
    pixels = make_tile(rng, size=10)
    valid = np.ones(pixels.shape[1:], bool)
    valid[4, 5] = False
    valid[0, 0] = False
    # Garbage under the invalid pixels must not reach any feature.
    pixels[:, 4, 5] = 1e6
    pixels[:, 0, 0] = np.nan
    bank = rcf.gaussian_filters(8, 3, 3)
    got = rcf.rcf_features(pixels, valid, bank)
    want = direct_rcf(pixels, valid, bank.weights, bank.bias)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # 8x8 windows, minus the 9 around (4, 5) and the 1 at the corner.
    assert len(rcf.tile_windows(pixels, valid)) == 64 - 9 - 1


def test_rcf_of_a_tile_without_a_valid_window_is_none():
    pixels = np.zeros((3, 6, 6), np.float32)
    valid = np.ones((6, 6), bool)
    valid[:, 2] = valid[:, 4] = False  # every 3-wide window holds an invalid column
    assert rcf.rcf_features(pixels, valid, rcf.gaussian_filters(4, 3, 0)) is None


def previous_rcf(pixels, valid, bank):
    """The core as it was before: chunks of 1,024 windows, maximum(z, 0), sum z subtracted."""
    x = rcf.tile_windows(pixels, valid)
    n, d = x.shape
    half = bank.weights.shape[0]
    weights = np.empty((d + 1, half), dtype=np.float32)
    weights[:d] = bank.weights.T
    weights[d] = bank.bias
    positive = np.zeros(half)
    for start in range(0, n, 1024):
        chunk = np.ones((len(x[start : start + 1024]), d + 1), np.float32)
        chunk[:, :d] = x[start : start + 1024]
        positive += np.maximum(chunk @ weights, 0).sum(axis=0)
    total = x.sum(axis=0, dtype=np.float64) @ weights[:d].astype(np.float64) + n * bank.bias
    return (np.concatenate([positive, positive - total]) / n).astype(np.float32)


def tile_with_holes(rng, bands, size):
    """A random tile with about 2% of its pixels invalid, NaN under them."""
    pixels = make_tile(rng, bands, size)
    valid = rng.random((size, size)) > 0.02
    pixels[:, ~valid] = np.nan
    return pixels, valid


def float64_rcf(pixels, valid, bank):
    """The definition in float64, the whole tile in one product."""
    x = rcf.tile_windows(pixels, valid).astype(np.float64)
    z = x @ bank.weights.T.astype(np.float64) + bank.bias
    return np.concatenate([np.maximum(z, 0).mean(axis=0), np.maximum(-z, 0).mean(axis=0)])


@pytest.mark.parametrize(
    "bands, size, k",
    [(1, 9, 16), (2, 30, 16), (3, 40, 16), (4, 45, 16), (3, 20, 4000), (4, 16, 4000)],
)
def test_rcf_equals_the_previous_core_and_float64_within_float32_error(bands, size, k):
    rng = np.random.default_rng(size * 10 + bands)
    pixels, valid = tile_with_holes(rng, bands, size)
    bank = rcf.gaussian_filters(k, bands, size)
    got = rcf.rcf_features(pixels, valid, bank)
    exact = float64_rcf(pixels, valid, bank)
    mean_feature = np.abs(exact).mean()
    assert got.dtype == np.float32 and got.shape == (k,) and np.isfinite(got).all()
    # Within a few float32 steps of the largest feature (one step is 7.6e-7 of the mean
    # feature at K = 4,000 here), from the exact value and from the previous core, whose own
    # float32 sums are up to 1.3e-6 of the mean feature off the exact value on these tiles.
    assert np.abs(got - exact).max() <= 5e-7 * mean_feature
    assert np.abs(got - previous_rcf(pixels, valid, bank)).max() <= 2e-6 * mean_feature


def test_rcf_of_a_tile_is_the_same_bits_whatever_the_tiles_computed_with_it():
    rng = np.random.default_rng(3)
    tiles = [tile_with_holes(rng, 3, size) for size in (12, 40, 7, 33, 25)]
    bank = rcf.gaussian_filters(64, 3, 1)
    alone = [rcf.rcf_features(pixels, valid, bank) for pixels, valid in tiles]
    for batch in (1, 2, 5):
        for start in range(0, len(tiles), batch):
            together = [rcf.rcf_features(p, v, bank) for p, v in tiles[start : start + batch]]
            for got, want in zip(together, alone[start : start + batch], strict=True):
                assert got.tobytes() == want.tobytes()


def test_rcf_holds_a_tile_s_windows_and_one_small_chunk_of_products():
    rng = np.random.default_rng(4)
    pixels, valid = tile_with_holes(rng, 3, 64)
    bank = rcf.gaussian_filters(4000, 3, 0)
    windows = rcf.tile_windows(pixels, valid).nbytes
    tracemalloc.start()
    try:
        rcf.rcf_features(pixels, valid, bank)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The windows, the bank, and one chunk's products: 1 MB at K = 4,000, not 8.
    assert peak < windows + 2 * 2**20


def test_rcf_window_order_is_a_conv2d_weight():
    """A filter that picks band 1, row 2, column 0 reads exactly that pixel of each window."""
    pixels = np.arange(2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5)
    weights = np.zeros((1, 18), np.float32)
    weights[0, 1 * 9 + 2 * 3 + 0] = 1
    bank = rcf.FilterBank("test", weights, 0.0)
    got = rcf.rcf_features(pixels, np.ones((5, 5), bool), bank)
    assert got[0] == pytest.approx(pixels[1, 2:5, 0:3].mean())


def test_gaussian_bank_is_reproducible_from_the_seed_and_survives_json():
    a = rcf.gaussian_filters(4000, 3, 42)
    b = rcf.gaussian_filters(4000, 3, 42)
    assert a.weights.shape == (2000, 27) and a.bias == -1
    assert np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, rcf.gaussian_filters(4000, 3, 43).weights)
    back = rcf.FilterBank.from_json(a.to_json())
    assert back.weights.dtype == np.float32 and np.array_equal(back.weights, a.weights)


def test_patch_bank_is_zca_whitened_image_patches():
    rng = np.random.default_rng(5)
    pixels = rng.gamma(2, 0.5, size=(3, 40, 40)).astype(np.float32)
    windows = rcf.tile_windows(pixels, np.ones((40, 40), bool))
    bank = rcf.patch_filters(windows, 20, 9)
    assert bank.bias == 1 and bank.weights.shape == (10, 27) and bank.kind == "patches"
    whitened = rcf.zca_whiten(windows)
    cov = np.cov(whitened, rowvar=False)
    # Whitened: the covariance is the identity up to the regularisation.
    assert np.allclose(np.diag(cov), 1, atol=0.1)
    assert np.abs(cov - np.diag(np.diag(cov))).max() < 0.05
    # Each filter is one of the whitened patches.
    for row in bank.weights:
        assert np.isclose(whitened, row, atol=1e-5).all(axis=1).any()
    again = rcf.patch_filters(windows, 20, 9)
    assert np.array_equal(again.weights, bank.weights)


def test_band_stats_use_valid_pixels_only():
    rng = np.random.default_rng(11)
    pixels = rng.normal(size=(2, 8, 8)).astype(np.float32)
    valid = rng.random((8, 8)) > 0.3
    pixels[:, ~valid] = -9999
    got = rcf.band_stats(pixels, valid, ("mean", "std"))
    for band in range(2):
        values = [pixels[band, r, c] for r in range(8) for c in range(8) if valid[r, c]]
        assert got[2 * band] == pytest.approx(np.mean(values), rel=1e-5)
        assert got[2 * band + 1] == pytest.approx(np.std(values), rel=1e-5)
    assert rcf.stat_names(["b1", "b2"], ("mean", "std")) == [
        "b1_mean",
        "b1_std",
        "b2_mean",
        "b2_std",
    ]
    assert rcf.band_stats(pixels, np.zeros((8, 8), bool), ("mean",)) is None
