"""`asmdb serve` drawing registered imagery: PNG tile latency and throughput under 8 clients.

    .venv/bin/python bench/imagery_tiles.py                    # 4096 x 4096 x 3 uint16 COG
    .venv/bin/python bench/imagery_tiles.py --size 1024 --requests 100   # a quick run
    .venv/bin/python bench/imagery_tiles.py --imagery-cache-mb 0   # the server keeps no tiles

One run writes a Cloud-Optimized GeoTIFF like a Sentinel-2 true-colour scene (UTM zone 29N,
10 m pixels, bands red, green, blue as uint16 reflectance x 10000, nodata 0 in one corner,
DEFLATE, 512-pixel blocks, overviews), registers it with `asmdb imagery add` in a throwaway
database, starts `asmdb serve --public` as the reader role `asmdb roles create` makes, and then:
  - draws --requests tiles at zooms 8-14 over the imagery (zoom drawn uniformly, then a tile of
    that zoom) and keeps each tile once: the distinct tiles, in that order;
  - asks the server for them with --clients concurrent clients ("cold": none drawn before, the
    headline figure), then for the same tiles again ("warm": from the server's cache of drawn
    tiles, if it has one), each bounded by --max-seconds, with the CPU time the server (all its
    threads) and the clients spent per tile;
  - times `/healthz` with the same clients: the server's round trip doing nothing;
  - with the server stopped, draws the same tiles in this process one after the other, the
    straightforward way (the reference: rio-tiler's `Reader(file).tile` with its defaults, the
    same stretch, `render` to PNG, the file opened for each tile), then with asmdb's
    `render_tile`: wall time and CPU time (this process's) per tile. CPU time per tile depends
    little on what else the machine runs; the latencies do.
Everything runs on this machine: the clients, the server and PostgreSQL share its cores. Prints
the figures and writes JSON to bench/results/. The database and roles are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import psycopg
from psycopg import sql
from serve import ASMDB, fetch_all, percentiles, run, start_server

HERE = Path(__file__).resolve().parent
UTM = "EPSG:32629"
ORIGIN = (300000.0, 1000000.0)  # west, north in UTM 29N: about 11.2 W, 9.0 N (Sierra Leone)
PIXEL = 10.0
ZOOMS = range(8, 15)


def write_cog(path: Path, size: int) -> Path:
    """A true-colour COG of `size` x `size` pixels: smooth fields and noise, an empty corner."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / 256
    base = 1500 + 900 * np.sin(rows) * np.cos(cols * 1.3) + 400 * np.sin((rows + cols) / 5)
    data = np.empty((3, size, size), dtype=np.uint16)
    for b in range(3):
        noise = rng.normal(0, 120, (size, size)).astype(np.float32)
        data[b] = np.clip(base + 250 * b + noise, 1, 10000)
    data[:, : size // 8, : size // 8] = 0  # no data in the north-west corner
    profile = dict(
        driver="COG",
        width=size,
        height=size,
        count=3,
        dtype="uint16",
        crs=UTM,
        transform=from_origin(*ORIGIN, PIXEL, PIXEL),
        nodata=0,
        compress="DEFLATE",
        blocksize=512,
        overview_resampling="average",
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for band, name in enumerate(("red", "green", "blue"), 1):
            dst.set_band_description(band, name)
    return path


def tiles_over(bounds, zooms=ZOOMS) -> dict[int, list[tuple[int, int, int]]]:
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    return {z: [(t.z, t.x, t.y) for t in tms.tiles(*bounds, zooms=[z])] for z in zooms}


def plan(tiles: dict, requests: int, seed: int) -> list[tuple[int, int, int]]:
    """`requests` draws of a zoom then a tile of it, each tile kept once (in the order drawn)."""
    rng = random.Random(seed)
    zooms = sorted(tiles)
    drawn = [rng.choice(tiles[rng.choice(zooms)]) for _ in range(requests)]
    return list(dict.fromkeys(drawn))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tile_source(record: dict):
    from asm_db.imagery.web_tiles import TileSource

    return TileSource(
        name=record["name"],
        bounds=tuple(record["bounds"]),
        bands=tuple(record["bands"]),
        files=tuple(record["files"]),
        scale=tuple(record["scale"]),
        offset=tuple(record["offset"]),
        stretch=record["stretch"],
    )


def timed(draw, tiles: list[tuple[int, int, int]]) -> dict:
    """Each tile drawn one after the other: latencies, tiles/s, CPU ms per tile (this process)."""
    draw(*tiles[0])  # warm-up: imports, GDAL's drivers
    times = []
    cpu, start = time.process_time(), time.perf_counter()
    for z, x, y in tiles:
        t0 = time.perf_counter()
        draw(z, x, y)
        times.append(time.perf_counter() - t0)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        **percentiles(times),
        "per_s": round(len(times) / wall, 1),
        "cpu_ms_per_tile": round(cpu / len(times) * 1000, 1),
    }


def reference(record: dict, tiles: list[tuple[int, int, int]]) -> dict:
    """The straightforward way: rio-tiler's Reader on the file for each tile, its tile() with
    the defaults, the registry's stretch, render() to PNG."""
    from rio_tiler.io import Reader

    from asm_db.imagery.display import display_bands, stored_range

    source = tile_source(record)
    (path,) = source.files
    shown = display_bands(source.bands)
    indexes = [band + 1 for band in shown]

    def draw(z: int, x: int, y: int) -> bytes:
        with Reader(path) as src:
            image = src.tile(x, y, z, indexes=indexes)
        dtype = image.array.dtype
        image.rescale(in_range=[stored_range(source, band, dtype) for band in shown])
        return image.render(img_format="PNG")

    return timed(draw, tiles)


def in_process(record: dict, tiles: list[tuple[int, int, int]]) -> dict:
    """asmdb's drawing of the same tiles in this process (no HTTP, database or thread pool)."""
    from functools import partial

    from asm_db.imagery.web_tiles import render_tile

    return timed(partial(render_tile, tile_source(record)), tiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="pixels a side of the COG")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--requests", type=int, default=800, help="tiles drawn (each distinct one asked once)"
    )
    parser.add_argument(
        "--imagery-cache-mb", default=None, help="the server's cache of drawn tiles (0: off)"
    )
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workdir", type=Path, default=None, help="the COG (kept if given)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="asmdb-bench-imagery-"))
    work.mkdir(parents=True, exist_ok=True)
    name = f"asmdb_bench_imagery_{uuid.uuid4().hex[:8]}"
    reader = f"{name}_reader"
    info = psycopg.conninfo.conninfo_to_dict(args.admin_url)
    who = info.get("user", "")
    url = f"postgresql://{who}@{info.get('host', '127.0.0.1')}:{info.get('port', '5432')}/{name}"
    env = {**os.environ, "ASMDB_DATABASE_URL": url}
    if args.imagery_cache_mb is not None:
        env["ASMDB_IMAGERY_CACHE_MB"] = args.imagery_cache_mb
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    report: dict = {
        "size": args.size,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "prepare_seconds": {},
    }
    server = None
    try:
        prep = report["prepare_seconds"]
        cog = work / f"scene-{args.size}.tif"
        if not cog.exists():
            start = time.perf_counter()
            write_cog(cog, args.size)
            prep["write COG"] = round(time.perf_counter() - start, 1)
        report["cog_mib"] = round(cog.stat().st_size / 2**20, 1)
        prep["upgrade"] = round(run([ASMDB, "db", "upgrade"], env), 1)
        prep["imagery add"] = round(
            run(
                [ASMDB, "imagery", "add", "scene", str(cog), "--period", "2024-01-01/2024-12-31"],
                env,
            ),
            1,
        )
        run([ASMDB, "roles", "create", "--name", reader, "--force"], env)
        shown = subprocess.run(
            [ASMDB, "imagery", "show", "scene", "--json"], env=env, capture_output=True, text=True
        )
        record = json.loads(shown.stdout)
        print(f"prepared: {prep}; COG {report['cog_mib']} MiB", flush=True)

        reader_url = url.replace(f"//{who}@", f"//{reader}@", 1)
        server, base = start_server(env, reader_url, work / "serve.log")
        listed = httpx.get(base + "/api/imagery").json()["imagery"]
        template = listed[0]["tiles"]
        tiles = tiles_over(record["bounds"])
        report["tiles_per_zoom"] = {z: len(t) for z, t in tiles.items()}
        wanted = plan(tiles, args.requests, 1)
        report["distinct_tiles"] = len(wanted)
        paths = [template.format(z=z, x=x, y=y) for z, x, y in wanted]
        # Warm-up (connections, imports, opening the file) on tiles of a zoom not measured.
        deeper = tiles_over(record["bounds"], [max(ZOOMS) + 1])[max(ZOOMS) + 1]
        step = max(1, len(deeper) // 4)
        warm_up = [template.format(z=z, x=x, y=y) for z, x, y in deeper[::step][:4]]
        asyncio.run(fetch_all(base, ["/healthz"] * 20 + warm_up, 2, 60))

        for run_name in ("tiles_cold", "tiles_warm"):
            used, own = cpu_seconds(server.pid), time.process_time()
            report[run_name] = asyncio.run(fetch_all(base, paths, args.clients, args.max_seconds))
            used, own = cpu_seconds(server.pid) - used, time.process_time() - own
            n = report[run_name]["n"]
            report[run_name]["server_cpu_ms_per_tile"] = round(used / n * 1000, 1)
            report[run_name]["clients_cpu_ms_per_tile"] = round(own / n * 1000, 1)
            print(f"{run_name}, {args.clients} clients: {report[run_name]}", flush=True)
        report["healthz"] = asyncio.run(
            fetch_all(base, ["/healthz"] * min(args.requests, 400), args.clients, args.max_seconds)
        )
        report["server_imagery_cache"] = httpx.get(base + "/healthz").json().get("imagery_cache")
        print(f"/healthz, {args.clients} clients: {report['healthz']}", flush=True)
        # Stop the server first: the in-process figures have the cores to themselves.
        server.terminate()
        server.wait(timeout=30)
        server = None
        measured = wanted[: report["tiles_cold"]["n"]]
        report["reference"] = reference(record, measured)
        print(f"reference (rio-tiler, one at a time): {report['reference']}", flush=True)
        report["in_process"] = in_process(record, measured)
        print(f"asmdb render_tile, one at a time: {report['in_process']}", flush=True)
        cold, ref = report["tiles_cold"], report["reference"]
        report["ratios"] = {
            "server cold p50 / reference p50": round(cold["p50_ms"] / ref["p50_ms"], 2),
            "server cold tiles/s / reference tiles/s": round(cold["per_s"] / ref["per_s"], 2),
            "server cold p50 - /healthz p50 (ms)": round(
                cold["p50_ms"] - report["healthz"]["p50_ms"], 1
            ),
            "render_tile CPU / reference CPU": round(
                report["in_process"]["cpu_ms_per_tile"] / ref["cpu_ms_per_tile"], 2
            ),
        }
        report["p95_target_ms"] = 150
        print(f"ratios: {report['ratios']}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            for role in (reader, f"{reader}_public"):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    report["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    out = args.json or HERE / "results" / f"imagery-tiles-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
