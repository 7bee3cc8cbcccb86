"""Benchmark of the RCF core (`asm_db.imagery.rcf.rcf_features`) against one core's float32 peak.

    .venv/bin/python bench/rcf.py [--repeats 7] [--out bench/results/rcf.json]

One BLAS thread throughout (threadpoolctl), for the reference and for the cores:
1. The reference: a 2,000 x 2,000 float32 matrix product (sgemm), GFLOPS.
2. The core on random tiles of 64, 110 and 256 pixels, 3 and 4 bands, K = 4,000, about 0.2%
   of the pixels invalid: GFLOPS counting 2 x windows x (9 x bands) x K/2 flops a tile, and
   its ratio to the reference; the same for the previous core (kept below as `old_rcf_features`,
   1,024-window chunks rectified with maximum), in the same run, interleaved with the new one.
3. The largest difference of the features from the old core's, and from a float64
   computation, relative to the mean absolute feature.

Each figure is the median of --repeats timings, with the fastest and slowest, in CPU seconds of
this process (time.process_time: what one core does while it runs; the machine may be shared)
and in wall seconds; the load average is recorded at the start and the end. Results are
printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_info, threadpool_limits

from asm_db.imagery import rcf

HERE = Path(__file__).resolve().parent
K = 4000
SGEMM_N = 2000
MIN_SECONDS = 0.2  # each timing repeats a tile until it takes about this long


def old_tile_windows(pixels: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The previous core's window matrix, as it was."""
    bands, height, width = pixels.shape
    if height < 3 or width < 3:
        return np.empty((0, bands * 9), dtype=np.float32)
    ok = sliding_window_view(valid, (3, 3)).all(axis=(2, 3))
    views = sliding_window_view(pixels, (3, 3), axis=(1, 2))
    rows, cols = np.nonzero(ok)
    chosen = views[:, rows, cols]
    return np.ascontiguousarray(chosen.transpose(1, 0, 2, 3)).reshape(len(rows), bands * 9)


def old_rcf_features(pixels: np.ndarray, valid: np.ndarray, bank: rcf.FilterBank):
    """The previous core, as it was: chunks of 1,024 windows, maximum(z, 0), sum z subtracted."""
    chunk_windows = 1024
    x = old_tile_windows(pixels, valid)
    n = len(x)
    if n == 0:
        return None
    d = x.shape[1]
    half = bank.weights.shape[0]
    weights = np.empty((d + 1, half), dtype=np.float32)
    weights[:d] = bank.weights.T
    weights[d] = bank.bias
    chunk = np.ones((min(n, chunk_windows), d + 1), dtype=np.float32)
    z = np.empty((len(chunk), half), dtype=np.float32)
    positive = np.zeros(half, dtype=np.float64)
    for start in range(0, n, chunk_windows):
        rows = min(chunk_windows, n - start)
        chunk[:rows, :d] = x[start : start + rows]
        out = z[:rows]
        np.matmul(chunk[:rows], weights, out=out)
        np.maximum(out, 0, out=out)
        positive += out.sum(axis=0)
    total = x.sum(axis=0, dtype=np.float64) @ weights[:d].astype(np.float64) + n * bank.bias
    negative = positive - total
    return (np.concatenate([positive, negative]) / n).astype(np.float32)


def float64_features(pixels: np.ndarray, valid: np.ndarray, bank: rcf.FilterBank) -> np.ndarray:
    """The definition in float64 (one product of the whole tile)."""
    x = rcf.tile_windows(pixels, valid).astype(np.float64)
    z = x @ bank.weights.T.astype(np.float64) + bank.bias
    return np.concatenate([np.maximum(z, 0).mean(axis=0), np.maximum(-z, 0).mean(axis=0)])


def summary(flops: float, cpu: list[float], wall: list[float]) -> dict:
    """GFLOPS as median, slowest and fastest of the timings, in CPU and in wall seconds."""

    def rates(seconds):
        g = sorted(flops / s / 1e9 for s in seconds)
        return {"median": float(np.median(g)), "min": g[0], "max": g[-1]}

    return {"cpu_gflops": rates(cpu), "wall_gflops": rates(wall)}


def timed(fn, times: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(times):
        fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def sgemm_reference(repeats: int) -> dict:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((SGEMM_N, SGEMM_N)).astype(np.float32)
    b = rng.standard_normal((SGEMM_N, SGEMM_N)).astype(np.float32)
    c = np.empty_like(a)
    np.matmul(a, b, out=c)
    cpu, wall = zip(
        *(timed(lambda: np.matmul(a, b, out=c), 1) for _ in range(repeats)), strict=True
    )
    return {"n": SGEMM_N, **summary(2 * SGEMM_N**3, cpu, wall)}


def core(size: int, bands: int, repeats: int, reference: dict) -> dict:
    rng = np.random.default_rng(size * 10 + bands)
    pixels = rng.uniform(0, 0.3, (bands, size, size)).astype(np.float32)
    valid = rng.random((size, size)) > 0.002
    pixels[:, ~valid] = np.nan  # what lies under an invalid pixel must never count
    bank = rcf.gaussian_filters(K, bands, 0)
    windows = len(rcf.tile_windows(pixels, valid))
    flops_per_tile = 2 * windows * 9 * bands * K / 2
    new = rcf.rcf_features(pixels, valid, bank)
    old = old_rcf_features(pixels, valid, bank)
    exact = float64_features(pixels, valid, bank)
    scale = float(np.mean(np.abs(old)))
    per_timing = max(1, round(MIN_SECONDS / (flops_per_tile / 40e9)))
    timings = {"new": ([], []), "old": ([], [])}
    fns = {
        "new": lambda: rcf.rcf_features(pixels, valid, bank),
        "old": lambda: old_rcf_features(pixels, valid, bank),
    }
    for _ in range(repeats):
        for name, fn in fns.items():  # interleaved, so both see the same load
            cpu, wall = timed(fn, per_timing)
            timings[name][0].append(cpu / per_timing)
            timings[name][1].append(wall / per_timing)
    row = {"tile_pixels": size, "bands": bands, "K": K, "windows": windows}
    for name, (cpu, wall) in timings.items():
        s = summary(flops_per_tile, cpu, wall)
        s["cpu_fraction_of_sgemm"] = s["cpu_gflops"]["median"] / reference["cpu_gflops"]["median"]
        s["wall_fraction_of_sgemm"] = (
            s["wall_gflops"]["median"] / reference["wall_gflops"]["median"]
        )
        row[name] = s
    row["max_difference_new_vs_old_over_mean_feature"] = float(np.max(np.abs(new - old)) / scale)
    row["max_difference_new_vs_float64_over_mean_feature"] = float(
        np.max(np.abs(new - exact)) / scale
    )
    row["max_difference_old_vs_float64_over_mean_feature"] = float(
        np.max(np.abs(old - exact)) / scale
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="Timings per figure.")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "rcf.json")
    args = parser.parse_args()
    results = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "blas": [
            {k: i.get(k) for k in ("internal_api", "version", "architecture")}
            for i in threadpool_info()
        ],
        "chunk_windows": rcf.CHUNK_WINDOWS,
        "load_average_at_start": os.getloadavg(),
    }
    with threadpool_limits(1), np.errstate(invalid="ignore"):
        reference = sgemm_reference(args.repeats)
        results["sgemm"] = reference
        print(json.dumps({"sgemm": reference}), flush=True)
        results["core"] = []
        for bands in (3, 4):
            for size in (64, 110, 256):
                row = core(size, bands, args.repeats, reference)
                results["core"].append(row)
                print(
                    f"{size:4d} px {bands} bands: new {row['new']['cpu_gflops']['median']:5.1f}"
                    f" GFLOPS ({row['new']['cpu_fraction_of_sgemm']:.0%} of sgemm),"
                    f" old {row['old']['cpu_gflops']['median']:5.1f}"
                    f" ({row['old']['cpu_fraction_of_sgemm']:.0%}), CPU time;"
                    f" wall {row['new']['wall_fraction_of_sgemm']:.0%}"
                    f" vs {row['old']['wall_fraction_of_sgemm']:.0%};"
                    f" new - old {row['max_difference_new_vs_old_over_mean_feature']:.1e},"
                    f" new - f64 {row['max_difference_new_vs_float64_over_mean_feature']:.1e},"
                    f" old - f64 {row['max_difference_old_vs_float64_over_mean_feature']:.1e}",
                    flush=True,
                )
    results["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"sgemm {reference['cpu_gflops']['median']:.1f} GFLOPS (CPU time); written to {args.out}")


if __name__ == "__main__":
    main()
