"""`asmdb serve` drawing registered imagery: PNG tile latency and throughput under 8 clients.

    .venv/bin/python bench/imagery_tiles.py                    # 4096 x 4096 x 3 uint16 COG
    .venv/bin/python bench/imagery_tiles.py --size 1024 --requests 100   # a quick run

One run writes a Cloud-Optimized GeoTIFF like a Sentinel-2 true-colour scene (UTM zone 29N,
10 m pixels, bands red, green, blue as uint16 reflectance x 10000, nodata 0 in one corner,
DEFLATE, 512-pixel blocks, overviews), registers it with `asmdb imagery add` in a throwaway
database, starts `asmdb serve --public` as the reader role `asmdb roles create` makes, and then:
  - asks for tiles at zooms 8-14 over the imagery (zoom drawn uniformly, then a tile of that
    zoom), with --clients concurrent clients, bounded by --requests and --max-seconds;
  - draws the same tiles in this process with the library alone (`render_tile`, rio-tiler), one
    after the other: what a tile costs without HTTP, the database lookup and the thread pool;
  - times `/healthz` with the same clients: the server's round trip doing nothing.
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
from serve import ASMDB, free_port, percentiles, run

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


def tiles_over(bounds) -> dict[int, list[tuple[int, int, int]]]:
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    return {z: [(t.z, t.x, t.y) for t in tms.tiles(*bounds, zooms=[z])] for z in ZOOMS}


def plan(tiles: dict, requests: int, seed: int) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    zooms = sorted(tiles)
    return [rng.choice(tiles[rng.choice(zooms)]) for _ in range(requests)]


async def load(base: str, paths: list[str], clients: int, max_seconds: float) -> dict:
    latencies: list[float] = []
    sizes: list[int] = []
    errors = 0
    deadline = time.perf_counter() + max_seconds
    queue = iter(paths)

    async def client(http: httpx.AsyncClient):
        nonlocal errors
        for path in queue:
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            r = await http.get(base + path)
            latencies.append(time.perf_counter() - start)
            sizes.append(len(r.content))
            errors += r.status_code != 200

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - start
    return {
        "clients": clients,
        **percentiles(latencies),
        "per_s": round(len(latencies) / wall, 1),
        "errors": errors,
        "mean_kib": round(float(np.mean(sizes)) / 1024, 1),
        "seconds": round(wall, 1),
    }


def in_process(record: dict, tiles: list[tuple[int, int, int]]) -> dict:
    """The same tiles drawn by the library in this process, one after the other."""
    from asm_db.imagery.web_tiles import TileSource, render_tile

    source = TileSource(
        name=record["name"],
        bounds=tuple(record["bounds"]),
        bands=tuple(record["bands"]),
        files=tuple(record["files"]),
        scale=tuple(record["scale"]),
        offset=tuple(record["offset"]),
        stretch=record["stretch"],
    )
    render_tile(source, *tiles[0])  # warm-up: imports, GDAL's caches
    times = []
    start = time.perf_counter()
    for z, x, y in tiles:
        t0 = time.perf_counter()
        render_tile(source, z, x, y)
        times.append(time.perf_counter() - t0)
    wall = time.perf_counter() - start
    return {**percentiles(times), "per_s": round(len(times) / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="pixels a side of the COG")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=800, help="tile requests")
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
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(work / "serve.log", "w")
        server = subprocess.Popen(
            [ASMDB, "serve", "--public", "--port", str(port)],
            env={**env, "ASMDB_DATABASE_URL": reader_url},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        listed = httpx.get(base + "/api/imagery").json()["imagery"]
        template = listed[0]["tiles"]
        tiles = tiles_over(record["bounds"])
        report["tiles_per_zoom"] = {z: len(t) for z, t in tiles.items()}
        wanted = plan(tiles, args.requests, 1)
        paths = [template.format(z=z, x=x, y=y) for z, x, y in wanted]

        asyncio.run(load(base, paths[:20], 2, 60))  # warm-up: connections, GDAL's caches
        report["tiles"] = asyncio.run(load(base, paths, args.clients, args.max_seconds))
        print(f"tiles, {args.clients} clients: {report['tiles']}", flush=True)
        report["healthz"] = asyncio.run(
            load(base, ["/healthz"] * min(args.requests, 400), args.clients, args.max_seconds)
        )
        print(f"/healthz, {args.clients} clients: {report['healthz']}", flush=True)
        # Stop the server first: the in-process reference has the cores to itself.
        server.terminate()
        server.wait(timeout=30)
        server = None
        report["in_process"] = in_process(record, wanted[: report["tiles"]["n"]])
        print(f"in process, one at a time: {report['in_process']}", flush=True)
        tiles_p50, own_p50 = report["tiles"]["p50_ms"], report["in_process"]["p50_ms"]
        report["ratios"] = {
            "server p50 / in-process p50": round(tiles_p50 / own_p50, 2) if own_p50 else None,
            "server tiles/s / in-process tiles/s": round(
                report["tiles"]["per_s"] / report["in_process"]["per_s"], 2
            ),
            "server p50 - /healthz p50 (ms)": round(tiles_p50 - report["healthz"]["p50_ms"], 1),
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
