"""One imagery tile of a large GeoTIFF without overviews: time and peak memory, with and without
the cap on what one tile may read (`asm_db.imagery.web_tiles.MAX_SOURCE_PIXELS`).

    .venv/bin/python bench/imagery_big_tile.py                 # 12000 x 12000 x 3 uint16, zooms 7, 10
    .venv/bin/python bench/imagery_big_tile.py --size 6000 --zooms 7 9 10

Writes a GeoTIFF like a Sentinel-2 true-colour scene without overviews (UTM zone 29N, 10 m
pixels, bands red, green, blue as uint16, DEFLATE, 512-pixel blocks) in a temporary folder, then
draws the tile at the scene's centre at each zoom, each case in a fresh Python process: its peak
resident memory (VmHWM, reset before the tile) over its resident memory before the tile:
  - "capped": `render_tile`, what `asmdb serve` draws now: below the file's lowest zoom it is
    refused (TooCoarse) before anything is read;
  - "uncapped": the same steps without the check (`read_tile`, the stretch, PNG), what the
    server drew before the cap.
Prints a table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
UTM = "EPSG:32629"
ORIGIN = (300000.0, 1000000.0)  # about 11.2 W, 9.0 N
PIXEL = 10.0


def write_plain(path: Path, size: int) -> Path:
    """A `size` x `size` x 3 uint16 GeoTIFF without overviews, written in strips of 512 rows."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    profile = dict(
        driver="GTiff", width=size, height=size, count=3, dtype="uint16", crs=UTM,
        transform=from_origin(*ORIGIN, PIXEL, PIXEL), tiled=True, blockxsize=512,
        blockysize=512, compress="DEFLATE", nodata=0,
    )  # fmt: skip
    rng = np.random.default_rng(7)
    with rasterio.open(path, "w", **profile) as dst:
        for top in range(0, size, 512):
            rows = min(512, size - top)
            r, c = np.mgrid[top : top + rows, 0:size].astype(np.float32) / 300
            base = 1500 + 700 * np.sin(r) * np.cos(c)
            data = np.stack([base + 300 * b for b in range(3)])
            data += rng.normal(0, 80, data.shape)
            dst.write(data.astype(np.uint16), window=Window(0, top, size, rows))
    return path


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def one_case(path: str, case: str, z: int) -> dict:
    """Draw the centre tile at zoom `z` in this process: seconds, peak memory over the baseline."""
    import morecantile
    import rasterio
    from rasterio.warp import transform_bounds

    from asm_db.imagery import web_tiles

    with rasterio.open(path) as src:
        w, s, e, n = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    tile = morecantile.tms.get("WebMercatorQuad").tile((w + e) / 2, (s + n) / 2, z)
    source = web_tiles.TileSource(
        name="big", bounds=(w, s, e, n), bands=("red", "green", "blue"), files=(path,),
        scale=(1.0,) * 3, offset=(0.0,) * 3,
        stretch={"red": [1000, 3000], "green": [1000, 3000], "blue": [1000, 3000]},
    )  # fmt: skip
    web_tiles.empty_tile()  # rio-tiler's PNG writer loaded before the baseline
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here (Linux)
    baseline = _status_mb("VmRSS")
    start = time.perf_counter()
    outcome = "drawn"
    if case == "capped":
        try:
            web_tiles.render_tile(source, tile.z, tile.x, tile.y)
        except web_tiles.TooCoarse as exc:
            outcome = f"refused (minzoom {exc.min_zoom})"
    else:  # the steps render_tile took before the cap
        with rasterio.Env():
            image = web_tiles.read_tile(path, [1, 2, 3], tile.z, tile.x, tile.y)
        image.rescale(in_range=[(1000, 3000)] * 3)
        image.render(img_format="PNG", **web_tiles.PNG_OPTIONS)
    seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM")
    return {
        "case": case,
        "z": z,
        "tile": [tile.z, tile.x, tile.y],
        "outcome": outcome,
        "seconds": round(seconds, 3),
        "peak_mb_over_baseline": round(peak - baseline, 1),
        "peak_mb": round(peak, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=12000, help="pixels a side")
    parser.add_argument("--zooms", type=int, nargs="+", default=[7, 10])
    parser.add_argument("--case", help=argparse.SUPPRESS)  # a child process: one case
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(one_case(args.file, args.case, args.zooms[0])))
        return
    results = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.tif"
        start = time.perf_counter()
        write_plain(path, args.size)
        print(f"wrote {args.size} x {args.size} x 3 uint16 in {time.perf_counter() - start:.0f} s")
        for z in args.zooms:
            for case in ("uncapped", "capped"):
                command = [sys.executable, __file__, "--case", case, "--file", str(path)]
                done = subprocess.run(
                    [*command, "--zooms", str(z)], capture_output=True, text=True, check=True
                )
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
                r = results[-1]
                print(
                    f"z{z:<3}{case:<9} {r['outcome']:<22} {r['seconds']:7.2f} s "
                    f"{r['peak_mb_over_baseline']:8.0f} MB over the baseline"
                )
    out = HERE / "results" / f"imagery-big-tile-{args.size}.json"
    out.write_text(
        json.dumps({"size": args.size, "machine": platform.machine(), "results": results}, indent=1)
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
