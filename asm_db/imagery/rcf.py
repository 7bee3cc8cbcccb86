"""The compute core of `asmdb featurize`: filter banks, random convolutional features, band stats.

Everything here is numpy on one tile at a time, with no I/O, so a GPU backend only has to
replace `rcf_features` (one matrix product per tile) and can be tested against it.

A tile is `pixels` (bands, H, W) float32, already scaled, and `valid` (H, W) bool. For the
random convolutional features of MOSAIKS (Rolf et al. 2021) with a bank of K/2 filters
w_k (bands x 3 x 3) and bias b, over every 3x3 window lying wholly inside the tile whose nine
pixels are all valid (no padding):

    z_k = w_k . x + b,   feature k = mean relu(z_k),   feature K/2 + k = mean relu(-z_k).

The windows are one (n_windows x 9*bands) matrix and the bank one (9*bands x K/2) matrix, in
the order of a torch `Conv2d` weight (band, row, column), so the whole tile is one float32
matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

GAUSSIAN_BIAS = -1.0  # the `mosaiks` package's bias for N(0, 1) filters
PATCHES_BIAS = 1.0  # the paper's bias for whitened image patches
ZCA_EPSILON = 1e-3  # regularises the whitening of nearly constant patches (e.g. water)
WINDOW = 3
# Windows per matrix product: the product (1 MB at K = 4,000) stays in cache while its |z| is
# summed. A constant, never derived from the host: with SUM_GROUP it fixes the order of every
# float32 sum, so a tile gives the same bits whatever the batch or the machine's cache.
CHUNK_WINDOWS = 128
SUM_GROUP = 8  # rows of a chunk summed apart (CHUNK_WINDOWS / SUM_GROUP terms each)
STATS = ("mean", "std")


@dataclass(frozen=True)
class FilterBank:
    """K/2 filters of `bands` x 3 x 3 and one bias: the whole RCF model, as data."""

    kind: str
    weights: np.ndarray  # (K/2, bands * 9) float32, rows in Conv2d (band, row, column) order
    bias: float

    @property
    def n_bands(self) -> int:
        return self.weights.shape[1] // (WINDOW * WINDOW)

    @property
    def n_features(self) -> int:
        return 2 * self.weights.shape[0]

    def to_json(self) -> dict:
        """The bank as JSON: float32 values survive the round trip through float64 exactly."""
        return {
            "kind": self.kind,
            "bias": self.bias,
            "shape": [self.weights.shape[0], self.n_bands, WINDOW, WINDOW],
            "weights": self.weights.astype(np.float64).tolist(),
        }

    @classmethod
    def from_json(cls, data: dict) -> FilterBank:
        weights = np.asarray(data["weights"], dtype=np.float32)
        return cls(data["kind"], weights, float(data["bias"]))


def gaussian_filters(n_features: int, n_bands: int, seed: int) -> FilterBank:
    """K/2 filters with weights drawn from N(0, 1) by `seed`, bias -1 (the `mosaiks` package)."""
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((n_features // 2, n_bands * WINDOW * WINDOW)).astype(np.float32)
    return FilterBank("gaussian", weights, GAUSSIAN_BIAS)


def tile_windows(pixels: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The (n, bands * 9) matrix of every 3x3 window inside the tile whose pixels are all valid."""
    bands, height, width = pixels.shape
    if height < WINDOW or width < WINDOW:
        return np.empty((0, bands * WINDOW * WINDOW), dtype=np.float32)
    ok = sliding_window_view(valid, (WINDOW, WINDOW)).all(axis=(2, 3))
    views = sliding_window_view(pixels, (WINDOW, WINDOW), axis=(1, 2))  # (b, H-2, W-2, 3, 3)
    rows, cols = np.nonzero(ok)
    chosen = views[:, rows, cols]  # (b, n, 3, 3)
    return np.ascontiguousarray(chosen.transpose(1, 0, 2, 3)).reshape(
        len(rows), bands * WINDOW * WINDOW
    )


def zca_whiten(patches: np.ndarray, epsilon: float = ZCA_EPSILON) -> np.ndarray:
    """Patches (n, d) whitened by ZCA: centred, then multiplied by C^(-1/2) of their covariance."""
    x = patches.astype(np.float64)
    x -= x.mean(axis=0)
    cov = x.T @ x / max(len(x) - 1, 1)
    values, vectors = np.linalg.eigh(cov)
    whitening = (vectors / np.sqrt(np.maximum(values, 0) + epsilon)) @ vectors.T
    return x @ whitening


def patch_filters(windows: np.ndarray, n_features: int, seed: int) -> FilterBank:
    """K/2 filters that are ZCA-whitened 3x3 patches of the imagery (the paper's bank), bias +1.

    `windows` is a sample of valid windows (n, bands * 9) from the imagery; the patches are
    whitened over the whole sample and K/2 of them are drawn by `seed`, with replacement only
    when the sample is smaller than K/2.
    """
    half = n_features // 2
    if len(windows) < 2:
        raise ValueError("too few valid 3x3 patches in the imagery to build a patch filter bank")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(windows), size=half, replace=len(windows) < half)
    whitened = zca_whiten(windows)[pick]
    return FilterBank("patches", whitened.astype(np.float32), PATCHES_BIAS)


def rcf_features(pixels: np.ndarray, valid: np.ndarray, bank: FilterBank) -> np.ndarray | None:
    """The K random convolutional features of one tile (float32), or None with no valid window.

    The windows, with a column of ones for the bias, are multiplied by the bank in chunks of
    CHUNK_WINDOWS, and each chunk's |z| is summed while it is still in cache. Both halves come
    from sum |z| and sum z: sum relu(z) = (sum |z| + sum z) / 2 and sum relu(-z) =
    (sum |z| - sum z) / 2, where sum z = (sum of the windows) . w + n b, one matrix-vector
    product in float64.
    """
    x = tile_windows(pixels, valid)
    n = len(x)
    if n == 0:
        return None
    d = x.shape[1]
    half = bank.weights.shape[0]
    weights = np.empty((d + 1, half), dtype=np.float32)
    weights[:d] = bank.weights.T
    weights[d] = bank.bias
    chunk = np.ones((CHUNK_WINDOWS, d + 1), dtype=np.float32)
    z = np.zeros((CHUNK_WINDOWS, half), dtype=np.float32)
    absolute = np.zeros(half, dtype=np.float64)
    for start in range(0, n, CHUNK_WINDOWS):
        rows = min(CHUNK_WINDOWS, n - start)
        chunk[:rows, :d] = x[start : start + rows]
        if rows < CHUNK_WINDOWS:
            z[rows:] = 0  # the last chunk: rows that add nothing, so every sum has one shape
        out = z[:rows]
        np.matmul(chunk[:rows], weights, out=out)
        # abs rather than maximum(z, 0): numpy's maximum against a scalar is several times
        # slower, and sum |z| with sum z gives both halves.
        np.abs(out, out=out)
        # Summed in groups of SUM_GROUP rows, then the groups in float64: float32 sums of a few
        # terms each, as accurate as summing in float64 and as fast as summing in float32.
        partial = z.reshape(-1, SUM_GROUP, half).sum(axis=0)
        absolute += partial.sum(axis=0, dtype=np.float64)
    total = x.sum(axis=0, dtype=np.float64) @ weights[:d].astype(np.float64) + n * bank.bias
    positive = (absolute + total) / 2
    negative = (absolute - total) / 2
    return (np.concatenate([positive, negative]) / n).astype(np.float32)


def band_stats(pixels: np.ndarray, valid: np.ndarray, stats: tuple[str, ...]) -> np.ndarray | None:
    """Per-band statistics of the valid pixels, band-major (b0_mean, b0_std, b1_mean, ...)."""
    if not valid.any():
        return None
    values = pixels[:, valid].astype(np.float64)  # (bands, n)
    out = []
    mean = values.mean(axis=1)
    for band in range(len(values)):
        for stat in stats:
            if stat == "mean":
                out.append(mean[band])
            elif stat == "std":
                out.append(values[band].std())
            else:
                raise ValueError(f"unknown statistic {stat!r} (choose from {', '.join(STATS)})")
    return np.asarray(out, dtype=np.float32)


def stat_names(bands: list[str], stats: tuple[str, ...]) -> list[str]:
    """Feature names of `band_stats`: {band}_{stat}, in its order."""
    return [f"{band}_{stat}" for band in bands for stat in stats]
