"""Soak: QGIS-like readers query `asmdb.latest_predictions` by bounding box while `asmdb train`
writes new runs. Reports latency percentiles, errors, and whether any reader ever saw a partial
run (rows of two runs, or fewer tiles than the box holds). Loopback only, bounded in time.

    .venv/bin/python bench/soak_readers.py --readers 8 --trains 2 --max-seconds 300
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from asm_db.ingest.sample import write_sample_data

# QGIS asks for the features in the view's extent like this (binary geometry, bbox filter).
BBOX_QUERY = """
SELECT tile_id, run_id, probability, ST_AsBinary(geom)
FROM asmdb.latest_predictions
WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)
"""
TILES_IN_BOX = (
    "SELECT count(*) FROM asmdb.tiles WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
)


def reader(url: str, extent, stop: threading.Event, out: list, deadline: float, seed: int):
    rng = random.Random(seed)
    xmin, ymin, xmax, ymax = extent
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set() and time.monotonic() < deadline:
            w = rng.uniform(0.02, 0.2)
            x0, y0 = rng.uniform(xmin, xmax - w), rng.uniform(ymin, ymax - w)
            box = (x0, y0, x0 + w, y0 + w)
            started = time.perf_counter()
            try:
                with conn.transaction():  # one snapshot for the read and its check
                    rows = conn.execute(BBOX_QUERY, box).fetchall()
                    expected = conn.execute(TILES_IN_BOX, box).fetchone()[0]
                seconds = time.perf_counter() - started
                runs = {r[1] for r in rows}
                partial = len(runs) > 1 or (rows and len(rows) != expected)
                out.append((seconds, None, sorted(runs), bool(partial)))
            except psycopg.Error as exc:
                out.append((time.perf_counter() - started, str(exc).splitlines()[0], [], False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--trains", type=int, default=2)
    parser.add_argument("--tiles-per-side", type=int, default=60)
    parser.add_argument("--features", type=int, default=512)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "ASMDB_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    info = psycopg.conninfo.conninfo_to_dict(args.admin_url)
    if info.get("host", "127.0.0.1") not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the soak only runs against a server on this machine (loopback)")

    asmdb = str(Path(sys.executable).with_name("asmdb"))
    name = f"asmdb_soak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = {
        **os.environ,
        "ASMDB_DATABASE_URL": f"postgresql+psycopg://{info.get('user', '')}@"
        f"{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/{name}",
    }
    url = env["ASMDB_DATABASE_URL"].replace("+psycopg", "")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = write_sample_data(
                tmp,
                n_lat=args.tiles_per_side,
                n_lon=args.tiles_per_side,
                n_features=args.features,
                n_labels=1500,
            )
            for argv in (
                ["db", "upgrade"],
                ["ingest", "labels", str(data.labels)],
                ["ingest", "features", str(data.features)],
                ["train", "--cv", "seed", "--bootstrap", "0"],
            ):
                subprocess.run([asmdb, *argv], env=env, check=True, capture_output=True)
        with psycopg.connect(url) as conn:
            extent = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom) e FROM asmdb.tiles) s"
            ).fetchone()

        stop = threading.Event()
        deadline = time.monotonic() + args.max_seconds
        results: list = []
        threads = [
            threading.Thread(target=reader, args=(url, extent, stop, results, deadline, i))
            for i in range(args.readers)
        ]
        started = time.perf_counter()
        for t in threads:
            t.start()
        train_seconds = []
        for i in range(args.trains):
            t0 = time.perf_counter()
            done = subprocess.run(
                [asmdb, "train", "--cv", "seed", "--bootstrap", "0", "--random-state", str(i)],
                env=env,
                capture_output=True,
                text=True,
                timeout=max(1, deadline - time.monotonic()),
            )
            train_seconds.append(time.perf_counter() - t0)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
        time.sleep(1)  # a last round of reads of the final run
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    ok = np.array([r[0] for r in results if r[1] is None]) * 1000
    errors = [r[1] for r in results if r[1] is not None]
    partial = sum(r[3] for r in results)
    runs_seen = sorted({run for r in results for run in r[2]})
    figures = {
        "readers": args.readers,
        "queries": len(results),
        "queries_per_second": round(len(results) / elapsed, 1),
        "latency_ms": {
            p: round(float(np.percentile(ok, q)), 2)
            for p, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
        }
        if len(ok)
        else {},
        "errors": len(errors),
        "partial_reads": int(partial),
        "runs_seen": runs_seen,
        "train_seconds": [round(s, 1) for s in train_seconds],
        "seconds": round(elapsed, 1),
    }
    print(
        f"{figures['queries']} bbox reads by {args.readers} readers in {figures['seconds']} s "
        f"({figures['queries_per_second']}/s) while {args.trains} trains wrote runs {runs_seen}"
    )
    print("latency ms: " + ", ".join(f"{k} {v}" for k, v in figures["latency_ms"].items()))
    print(
        f"errors: {len(errors)}{' (' + errors[0] + ')' if errors else ''}; partial reads: {partial}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    sys.exit(1 if errors or partial else 0)


if __name__ == "__main__":
    main()
