"""Benchmark of `asmdb featurize`: the RCF core per core, against the `mosaiks` package and the
roofline; peak memory at 1x and 10x the tiles; 1 vs 2 Dask workers.

    .venv/bin/python bench/featurize.py [--torch-python /path/to/python-with-torch]

1. Core: rcf with K=4000 on random 3-band tiles of 48x48 and 110x110 pixels, one BLAS thread:
   tiles/s of `asm_db.imagery.rcf.rcf_features`, of the roofline (the same-shaped float32
   matrix product alone: window pixels x 27 by 27 x 2000), and, when a Python with torch is
   given, of the `mosaiks` package's RCF model (its featurize/model.py loaded by path, the
   package installed with --no-deps), all on the same tiles.
2. Memory: `asmdb featurize` of a synthetic GeoTIFF of N and 10 N tiles in a process of its own
   (peak resident memory from os.wait4; the PostgreSQL server is not counted).
3. Dask: the same run with --workers 1 and --workers 2.
Results are printed and written as JSON to bench/results/featurize.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql
from threadpoolctl import threadpool_info, threadpool_limits

from asm_db.imagery import rcf

HERE = Path(__file__).resolve().parent
K = 4000
ADMIN_URL = os.environ.get("ASMDB_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

MOSAIKS_SCRIPT = r"""
import importlib.util, json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
spec = importlib.util.spec_from_file_location("mosaiks_model", sys.argv[1])
model_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model_module)
size, n_tiles = int(sys.argv[2]), int(sys.argv[3])
model = model_module.RCF(num_features=4000, kernel_size=3, num_input_channels=3)
model.eval()
tiles = torch.from_numpy(np.random.default_rng(0).uniform(0, 0.3, (n_tiles, 3, size, size)).astype("float32"))
with torch.no_grad():
    model(tiles[:1])
    start = time.perf_counter()
    for i in range(n_tiles):
        model(tiles[i : i + 1])
    seconds = time.perf_counter() - start
    first = model(tiles[:1]).numpy()
np.savez(sys.argv[4], weights=model.conv1.weight.numpy(), features=first, tile=tiles[0].numpy())
print(json.dumps({"tiles_per_s": n_tiles / seconds, "torch": torch.__version__}))
"""


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)  # the machine is shared: the least disturbed of the repeats


def core(size: int, n_tiles: int) -> dict:
    rng = np.random.default_rng(0)
    tiles = rng.uniform(0, 0.3, (n_tiles, 3, size, size)).astype(np.float32)
    valid = np.ones((size, size), bool)
    bank = rcf.gaussian_filters(K, 3, 0)
    weights = np.ascontiguousarray(bank.weights.T)
    windows = [rcf.tile_windows(t, valid) for t in tiles]
    buffer = np.empty((rcf.CHUNK_WINDOWS, K // 2), np.float32)

    def ours():
        for t in tiles:
            rcf.rcf_features(t, valid, bank)

    def roofline():  # the same products, in the same chunks, into a buffer: nothing else
        for x in windows:
            for start in range(0, len(x), rcf.CHUNK_WINDOWS):
                chunk = x[start : start + rcf.CHUNK_WINDOWS]
                np.matmul(chunk, weights, out=buffer[: len(chunk)])

    with threadpool_limits(1):
        ours()
        t_ours, t_roof = _best(ours), _best(roofline)
    return {
        "tile_pixels": size,
        "tiles": n_tiles,
        "windows_per_tile": len(windows[0]),
        "asmdb_tiles_per_s_per_core": n_tiles / t_ours,
        "roofline_tiles_per_s_per_core": n_tiles / t_roof,
        "fraction_of_roofline": t_roof / t_ours,
    }


def mosaiks(python: str, model_py: str, size: int, n_tiles: int) -> dict:
    """The mosaiks package's RCF on the same tiles; and asmdb's features with its filters."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "mosaiks.npz"
        out = subprocess.run(
            [python, "-c", MOSAIKS_SCRIPT, model_py, str(size), str(n_tiles), str(dump)],
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
        )
        if out.returncode != 0:
            return {"error": out.stderr.strip().splitlines()[-1]}
        result = json.loads(out.stdout)
        saved = np.load(dump)
    weights = saved["weights"].reshape(len(saved["weights"]), -1)
    bank = rcf.FilterBank("mosaiks", weights.astype(np.float32), -1.0)
    tile = saved["tile"]
    ours = rcf.rcf_features(tile, np.ones(tile.shape[1:], bool), bank)
    theirs = saved["features"].ravel()
    # Differences relative to the mean feature size: float32 sums in different orders.
    result["max_difference_over_mean_feature_same_filters"] = float(
        np.max(np.abs(ours - theirs)) / np.mean(np.abs(theirs))
    )
    return result


def write_region(path: Path, n_side: int, pixels: int) -> Path:
    """A 3-band uint16 GeoTIFF in EPSG:4326 of n_side x n_side tiles of `pixels` pixels."""
    import rasterio
    from rasterio.transform import from_origin

    res = 0.01 / pixels
    width = n_side * pixels
    profile = dict(
        driver="GTiff",
        width=width,
        height=width,
        count=3,
        dtype="uint16",
        crs="EPSG:4326",
        transform=from_origin(-11.2, 8.4 + 0.01 * n_side, res, res),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    )
    rng = np.random.default_rng(1)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, width, 256):
            h = min(256, width - row)
            block = rng.integers(200, 3000, (3, h, width), dtype=np.uint16)
            dst.write(block, window=rasterio.windows.Window(0, row, width, h))
    return path


def run_featurize(url: str, path: Path, name: str, *extra: str) -> dict:
    env = {**os.environ, "ASMDB_DATABASE_URL": url}
    asmdb = str(Path(sys.executable).with_name("asmdb"))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            asmdb,
            "featurize",
            str(path),
            "--feature-set",
            name,
            "--features",
            str(K),
            "--scale",
            "1/10000",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out = proc.stdout.read().decode()
    if status != 0:
        raise SystemExit(f"featurize failed: {proc.stderr.read().decode()}")
    return {"seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024, "stdout": out.strip()}


def database() -> tuple[str, str]:
    name = f"asmdb_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    url = f"postgresql+psycopg://{base.get('user', '')}@{base.get('host', '127.0.0.1')}:{base.get('port', 5432)}/{name}"
    subprocess.run(
        [str(Path(sys.executable).with_name("asmdb")), "db", "upgrade"],
        env={**os.environ, "ASMDB_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    return name, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", help="A Python with torch (for the mosaiks package).")
    parser.add_argument("--mosaiks-model", help="Path of the mosaiks package's featurize/model.py.")
    parser.add_argument("--region-side", type=int, default=4, help="1x region: N x N tiles.")
    parser.add_argument(
        "--pixels", type=int, default=48, help="Pixels per tile edge (memory, Dask)."
    )
    parser.add_argument("--core-only", action="store_true", help="Only part 1 (no database).")
    args = parser.parse_args()
    blas = [
        {k: i.get(k) for k in ("internal_api", "version", "architecture")}
        for i in threadpool_info()
    ]
    results = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "blas": blas,
        "core": [],
    }
    for size, n in ((48, 40), (110, 8)):
        row = core(size, n)
        if args.torch_python and args.mosaiks_model:
            row["mosaiks"] = mosaiks(args.torch_python, args.mosaiks_model, size, n)
        results["core"].append(row)
        print(json.dumps(row), flush=True)
    out = HERE / "results" / ("featurize-core.json" if args.core_only else "featurize.json")
    if args.core_only:
        out.write_text(json.dumps(results, indent=2))
        return
    name, url = database()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            side = args.region_side
            small = write_region(Path(tmp) / "x1.tif", side, args.pixels)
            big = write_region(Path(tmp) / "x10.tif", round(side * 10**0.5), args.pixels)
            results["memory"] = {
                "1x": run_featurize(url, small, "m1", "--workers", "0"),
                "10x": run_featurize(url, big, "m10", "--workers", "0"),
            }
            print(json.dumps(results["memory"]), flush=True)
            results["dask"] = {
                "1": run_featurize(url, big, "d1", "--workers", "1"),
                "2": run_featurize(url, big, "d2", "--workers", "2"),
            }
            print(json.dumps(results["dask"]), flush=True)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    results["load_average_at_end"] = os.getloadavg()
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
