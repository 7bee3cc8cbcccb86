"""`asmdb serve` under load: vector-tile latency and throughput, and "find more like this".

    .venv/bin/python bench/serve.py                       # Sierra Leone: 75,076 tiles x 4,000
    .venv/bin/python bench/serve.py --tiles-per-side 60 --features 256   # a quick run
    .venv/bin/python bench/serve.py --features 32 --skip-similar  # tiles only, Sierra Leone

One run makes a throwaway database (generated data in the seed's formats, ingested and trained
with the installed `asmdb`), starts `asmdb serve --public` on a loopback port, then:
  - requests vector tiles at zooms 6-12 over the data's extent (zoom drawn uniformly, then a
    tile of that zoom covering the data), with 1, 8 and 32 concurrent clients, each level
    bounded by --requests and --max-seconds. `--layers page` (the default) asks what the web
    page asks: below the full-resolution zoom the block size of `asmdb.latest_overviews` for
    that zoom, above it `asmdb.latest_predictions`, with the page's columns; `--layers full`
    asks `asmdb.latest_predictions` at every zoom with all columns, as a plain OGC client;
  - times 100 similarity searches through the server's endpoint (`/api/similar`, random query
    tiles, top 100) after the first one has built the index, and the same searches in-process
    (the library's search alone), with their recall against an exact brute-force search.
Everything runs on this machine: the clients, the server and PostgreSQL share its cores. Prints a
table and writes JSON to bench/results/. The database is dropped at the end (--keep to keep it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
ASMDB = str(Path(sys.executable).with_name("asmdb"))


def run(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:3])} failed: {done.stderr.strip()}")
    return time.perf_counter() - start


def free_port() -> int:
    for port in random.sample(range(18000, 19000), 1000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit("no free port in 18000-18999")


def percentiles(values: list[float]) -> dict:
    a = np.asarray(values) * 1000
    return {
        "n": len(values),
        "p50_ms": round(float(np.percentile(a, 50)), 1),
        "p95_ms": round(float(np.percentile(a, 95)), 1),
        "p99_ms": round(float(np.percentile(a, 99)), 1),
        "max_ms": round(float(a.max()), 1),
    }


def tiles_over(bounds, zooms) -> dict[int, list[tuple[int, int, int]]]:
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    return {z: [(t.z, t.x, t.y) for t in tms.tiles(*bounds, zooms=[z])] for z in zooms}


# The columns the page asks for (asm_db/server/static/app.js TILE_PROPERTIES).
PAGE_PROPERTIES = {
    "asmdb.latest_predictions": "tile_id,probability,run_id",
    "asmdb.latest_overviews": "overview_id,cells,tiles,probability,probability_mean",
}


def tile_paths(config: dict, layers: str):
    """z -> the path template (x, y to fill in) of the tile a client asks for at zoom z."""
    tiles = "/collections/{}/tiles/WebMercatorQuad/{}/{{}}/{{}}"
    full = "asmdb.latest_predictions"

    def path(z: int) -> str:
        if layers == "full":
            return tiles.format(full, z)
        level = next((lv for lv in config["overviews"] if lv["minzoom"] <= z < lv["maxzoom"]), None)
        if level is None or "asmdb.latest_overviews" not in config["collections"]:
            return tiles.format(full, z) + f"?properties={PAGE_PROPERTIES[full]}"
        overviews = "asmdb.latest_overviews"
        return (
            tiles.format(overviews, z)
            + f"?properties={PAGE_PROPERTIES[overviews]}&filter=cells%3D{level['cells']}"
        )

    return path


def start_server(env: dict, reader_url: str, log_path: Path) -> tuple[subprocess.Popen, str]:
    """`asmdb serve --public` as `reader_url`'s role on a free loopback port, its output in
    `log_path`, once it answers /healthz: the process and its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
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
    return server, base


async def fetch_all(base: str, paths: list[str], clients: int, max_seconds: float) -> dict:
    """GET every path (in order, shared by `clients` concurrent clients) until done or
    `max_seconds`: latency percentiles, requests per second, errors, mean size."""
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


async def load(base: str, tiles, paths, clients: int, requests: int, max_seconds: float, seed: int):
    """`requests` tiles drawn at random (a zoom, then a tile of it), fetched by `clients`."""
    rng = random.Random(seed)
    zooms = sorted(tiles)
    plan = [rng.choice(tiles[rng.choice(zooms)]) for _ in range(requests)]
    result = await fetch_all(
        base, [paths(z).format(x, y) for z, x, y in plan], clients, max_seconds
    )
    result["requests_per_s"] = result.pop("per_s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles-per-side", type=int, default=274, help="274 = 75,076 tiles")
    parser.add_argument("--features", type=int, default=4000)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=600, help="tile requests per level")
    parser.add_argument("--max-seconds", type=float, default=180, help="per concurrency level")
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument(
        "--layers", choices=("page", "full"), default="page", help="which tiles to ask for"
    )
    parser.add_argument("--skip-similar", action="store_true", help="time the tiles only")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workdir", type=Path, default=None, help="generated data (kept if given)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--database",
        default=None,
        help="measure a database a --keep run left (upgraded to head, not prepared, kept)",
    )
    parser.add_argument(
        "--tile-cache-mb", default=None, help="the server's tile cache (0: off; default its own)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="asmdb-bench-serve-"))
    data = work / "data"
    name = args.database or f"asmdb_bench_serve_{uuid.uuid4().hex[:8]}"
    reader = f"{name}_reader"  # the server's role (roles are the server's: dropped at the end)
    args.keep = args.keep or args.database is not None
    info = psycopg.conninfo.conninfo_to_dict(args.admin_url)
    url = (
        f"postgresql://{info.get('user', '')}@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', '5432')}/{name}"
    )
    env = {**os.environ, "ASMDB_DATABASE_URL": url, "ASMDB_CACHE_DIR": str(work / "cache")}
    if args.tile_cache_mb is not None:
        env["ASMDB_TILE_CACHE_MB"] = args.tile_cache_mb
    if args.database is None:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    report: dict = {
        "tiles": args.tiles_per_side**2,
        "features": args.features,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
        "prepare_seconds": {},
    }
    server = None
    try:
        prep = report["prepare_seconds"]
        if args.database is not None:
            prep["upgrade"] = run([ASMDB, "db", "upgrade"], env)
            report["tiles"] = int(
                psycopg.connect(url).execute("SELECT count(*) FROM asmdb.tiles").fetchone()[0]
            )
        elif not (data / "SLE_features.feather").exists():
            prep["generate"] = run(
                [
                    ASMDB,
                    "sample-data",
                    str(data),
                    "--tiles-per-side",
                    str(args.tiles_per_side),
                    "--features",
                    str(args.features),
                    "--labels",
                    str(args.labels),
                ],
                env,
            )
        if args.database is None:
            prep["upgrade"] = run([ASMDB, "db", "upgrade"], env)
            prep["ingest labels"] = run(
                [ASMDB, "ingest", "labels", str(data / "SLE_mines.csv")], env
            )
            prep["ingest features"] = run(
                [ASMDB, "ingest", "features", str(data / "SLE_features.feather")], env
            )
            prep["train"] = run([ASMDB, "train", "--cv", "seed", "--bootstrap", "0"], env)
        print(
            f"prepared {report['tiles']:,} tiles: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in prep.items()),
            flush=True,
        )

        # The server runs as the reader role, as the README says (trust on loopback here).
        run([ASMDB, "roles", "create", "--name", reader, "--force"], env)
        reader_url = url.replace(f"//{info.get('user', '')}@", f"//{reader}@", 1)
        server, base = start_server(env, reader_url, work / "serve.log")
        config = httpx.get(base + "/api/config").json()
        bounds = config["collections"]["asmdb.latest_predictions"]["bounds"]
        paths = tile_paths(config, args.layers)
        report["layers"] = args.layers
        report["paths"] = {z: paths(z) for z in range(6, 13)}
        tiles = tiles_over(bounds, range(6, 13))
        report["tiles_per_zoom"] = {z: len(t) for z, t in tiles.items()}
        asyncio.run(load(base, tiles, paths, 1, 20, 60, 0))  # warm-up: connections, plans, cache
        report["tile_load"] = []
        for clients in (1, 8, 32):
            result = asyncio.run(
                load(base, tiles, paths, clients, args.requests, args.max_seconds, clients)
            )
            report["tile_load"].append(result)
            print(f"tiles, {clients:2d} clients: {result}", flush=True)
        # Per zoom, one client: where the time goes.
        report["tile_by_zoom"] = {}
        for z in sorted(tiles):
            result = asyncio.run(load(base, {z: tiles[z]}, paths, 1, 30, 60, z))
            report["tile_by_zoom"][z] = result
            print(f"zoom {z}: {result}", flush=True)

        if not args.skip_similar:
            # Similarity through the server: the first call builds the index.
            with psycopg.connect(url) as pg:
                all_ids = [r[0] for r in pg.execute("SELECT tile_id FROM asmdb.tile_features")]
            rng = random.Random(1991)
            queries = rng.sample(all_ids, args.searches)
            start = time.perf_counter()
            first = httpx.get(
                base + "/api/similar", params={"tile": queries[0], "top": 100}, timeout=1800
            )
            report["similar_index_build_seconds"] = round(time.perf_counter() - start, 1)
            assert first.status_code == 200, first.text
            endpoint = []
            with httpx.Client(timeout=120) as http:
                for q in queries:
                    t0 = time.perf_counter()
                    r = http.get(base + "/api/similar", params={"tile": q, "top": 100})
                    endpoint.append(time.perf_counter() - t0)
                    assert r.status_code == 200
            report["similar_endpoint"] = percentiles(endpoint)
            print(
                f"index built in {report['similar_index_build_seconds']} s; "
                f"endpoint: {report['similar_endpoint']}",
                flush=True,
            )

            # The search alone, in-process, and its recall against brute force on the full vectors.
            from asm_db.similar.index import choose_feature_set, load_index

            with psycopg.connect(url, autocommit=True) as pg:
                index = load_index(pg, choose_feature_set(pg), work / "cache")
            searches, recall = [], []
            for i, q in enumerate(queries):
                t0 = time.perf_counter()
                found, _ = index.search([q], 100)
                searches.append(time.perf_counter() - t0)
                if i < 20:
                    pos = index.positions([q])[0]
                    exact = np.asarray(index.full @ index.full[pos])
                    exact[pos] = -np.inf
                    truth = index.tile_ids[np.argsort(-exact)[:100]]
                    recall.append(len(set(found) & set(truth)) / 100)
            report["similar_search"] = percentiles(searches)
            report["similar_recall_at_100"] = round(float(np.mean(recall)), 4)
            print(
                f"search alone: {report['similar_search']}; recall@100 "
                f"{report['similar_recall_at_100']} over {len(recall)} queries",
                flush=True,
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep:
            with psycopg.connect(args.admin_url, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
                for role in (reader, f"{reader}_public"):
                    admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    report["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    out = args.json or HERE / "results" / f"serve-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
