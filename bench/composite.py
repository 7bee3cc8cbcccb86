"""Compositing throughput: `asmdb imagery composite`'s blocks against a plain pystac-client +
odc-stac median of the same items onto the same grid, in the same run.

Starts the tests' STAC API on loopback (tests/stac_api.py: stac-fastapi-pgstac in .venv-stac,
or ASMDB_TEST_STAC_VENV), loads its Sentinel-2-like items (two UTM zones, four dates), and
runs each method in a process of its own, reporting output Mpx/s and the process's peak
resident memory. The output grid is the area's 0.01-degree cells at --tile-pixels a side.

    python bench/composite.py [--tile-pixels 444] [--block-cells 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
ASSETS = ["red", "green", "blue"]
MASK = [3, 8, 9, 10]


def run_asmdb(api: str, tile_pixels: int, block_cells: int, out: str) -> dict:
    from stac_api import AREA, COLLECTION

    from asm_db.features.provenance import parse_period
    from asm_db.grid import Grid
    from asm_db.imagery.composite import Block, Spec, _meets, plan_blocks, run_blocks
    from asm_db.imagery.stac import search_items

    started = time.perf_counter()
    found = search_items(
        api, COLLECTION, AREA, parse_period("2021-01-01/2022-12-31"), [*ASSETS, "scl"],
        max_cloud=80,
    )  # fmt: skip
    threads = os.cpu_count() or 1  # as `imagery composite` runs without Dask
    spec = Spec(tuple(ASSETS), "scl", tuple(float(v) for v in MASK), "median", tile_pixels, threads)
    items = [i.to_dict() for i in found.items]
    blocks, pixels = [], 0
    for bounds, shape, file in plan_blocks(Grid(), AREA, tile_pixels, block_cells):
        chosen = [i for i, item in enumerate(items) if _meets(item, bounds)]
        blocks.append(
            Block(bounds, shape, f"{out}/{file}", tuple(items[i] for i in chosen),
                  tuple(found.bands[i] for i in chosen), spec)
        )  # fmt: skip
        pixels += shape[0] * shape[1]
    for _ in run_blocks(blocks, workers=0):
        pass
    return {"seconds": time.perf_counter() - started, "pixels": pixels}


def run_plain(api: str, tile_pixels: int) -> dict:
    """What a user writes with the libraries alone: search, load the area, mask, median."""
    import odc.stac
    from odc.geo.geobox import GeoBox
    from pystac_client import Client
    from stac_api import AREA, COLLECTION

    from asm_db.grid import Grid

    started = time.perf_counter()
    items = [
        i
        for i in Client.open(api)
        .search(collections=[COLLECTION], bbox=AREA, datetime="2021-01-01/2022-12-31")
        .items()
        if i.properties.get("eo:cloud_cover", 0) <= 80
    ]
    grid = Grid()
    row0, row1, col0, col1 = grid._cell_range(*AREA)
    bounds = (
        grid.origin_lon + col0 * grid.cell_size,
        grid.origin_lat + row0 * grid.cell_size,
        grid.origin_lon + col1 * grid.cell_size,
        grid.origin_lat + row1 * grid.cell_size,
    )
    shape = ((row1 - row0) * tile_pixels, (col1 - col0) * tile_pixels)
    odc.stac.configure_rio(cloud_defaults=True, GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR")
    data = odc.stac.load(
        items,
        bands=[*ASSETS, "scl"],
        geobox=GeoBox.from_bbox(bounds, "EPSG:4326", shape=shape),
        groupby="solar_day",
        resampling="nearest",
        chunks=None,
        pool=1,
    )
    bands = data[ASSETS].where(~data.scl.isin([0, *MASK]))
    bands = bands.where(bands != 0)
    bands.median("time").compute()
    return {"seconds": time.perf_counter() - started, "pixels": shape[0] * shape[1]}


def child(args) -> None:
    with tempfile.TemporaryDirectory() as out:
        if args.method == "asmdb":
            result = run_asmdb(args.api, args.tile_pixels, args.block_cells, out)
        else:
            result = run_plain(args.api, args.tile_pixels)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-pixels", type=int, default=444)
    parser.add_argument("--block-cells", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        child(args)
        return
    import stac_api

    with tempfile.TemporaryDirectory() as folder, stac_api.running_stac_api(Path(folder)) as api:
        api.load(stac_api.collection(), stac_api.write_items(Path(folder), api.assets_url))
        for method in ("plain", "asmdb") * args.repeat:
            done = subprocess.run(
                [sys.executable, __file__, "--method", method, "--api", api.url,
                 "--tile-pixels", str(args.tile_pixels), "--block-cells", str(args.block_cells)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(done.stdout.strip().splitlines()[-1])
            name = (
                "odc-stac median"
                if method == "plain"
                else f"asmdb ({args.block_cells}-cell blocks)"
            )
            print(
                f"{name:28s} {r['pixels'] / 1e6:6.2f} Mpx in {r['seconds']:6.2f} s = "
                f"{r['pixels'] / 1e6 / r['seconds']:6.2f} Mpx/s, peak {r['peak_mb']:7.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
