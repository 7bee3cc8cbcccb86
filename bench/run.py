"""asmdb against the seed's in-memory notebook and a raw COPY, on the same generated files.

    .venv/bin/python bench/run.py --scale 1      # Sierra Leone: 75,076 tiles x 4,000 features
    .venv/bin/python bench/run.py --scale 10     # about 750,000 tiles, 12 GB of float32

One run generates the data in the seed's formats (a feather file of image_id + feature_0..K-1
float32, a labels CSV), then times, each in its own process:
  - the seed notebook in memory (pandas, geopandas, scikit-learn as the notebook), with its
    steps timed inside; run under a memory limit so a region too large fails cleanly;
  - the raw reference: read the feather with pyarrow, COPY each tile's float32 bytes into a
    plain bytea table (the practical floor for moving those bytes into PostgreSQL);
  - asmdb ingest labels, ingest features, the SQL join (EXPLAIN ANALYZE of the label-tile
    join), train with the seed's protocol and its default bootstrap (join, fit, predict every
    tile, write back).
Wall time is measured around each process and peak memory is its maximum resident set
(os.wait4; the PostgreSQL server's own processes are not included). A table of seconds, MB/s of
feature bytes, peak RSS and the target ratios is printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
BASE_SIDE = 274  # 274 x 274 = 75,076 tiles: Sierra Leone at 0.01 degree
MiB = 2**20


@contextmanager
def throwaway_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new empty database on the server of `admin_url`, dropped (even with connections open)
    when the block ends; yields its psycopg URL (asmdb's is `asmdb_url(url)`)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    host, port = info.get("host", "127.0.0.1"), info.get("port", 5432)
    url = f"postgresql://{info.get('user', '')}@{host}:{port}/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def asmdb_url(url: str) -> str:
    """The SQLAlchemy URL asmdb reads from ASMDB_DATABASE_URL, for a psycopg URL."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


SEED = f"""
import json, sys
sys.path.insert(0, {str(HERE.parent / "tests")!r})
from seed_reference import run_seed
r = run_seed(sys.argv[1], sys.argv[2], int(sys.argv[3]))
print(json.dumps({{"seconds": r["seconds"], "best_alpha": r["best_alpha"], "rows": r["n_rows"],
                  "auc": [r["auc_uncalibrated"], r["auc_calibrated"]]}}))
"""

RAW = """
import struct, sys, numpy as np, psycopg, pyarrow as pa
path, url, table = sys.argv[1:4]
reader = pa.ipc.open_file(pa.OSFile(path, "r"))
names = [n for n in reader.schema.names if n.startswith("feature_")]
k = len(names)
row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("id", ">i4"), ("l2", ">i4"), ("v", "<f4", (k,))])
with psycopg.connect(url) as conn, conn.cursor() as cur:
    cur.execute(f"CREATE TABLE {table} (id int4, v bytea)")
    done = 0
    with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(b"PGCOPY\\n\\xff\\r\\n\\x00" + struct.pack(">ii", 0, 0))
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            for start in range(0, batch.num_rows, 2000):
                part = batch.slice(start, 2000)
                rows = np.empty(part.num_rows, row)
                rows["n"], rows["l1"], rows["l2"] = 2, 4, 4 * k
                rows["id"] = np.arange(done, done + part.num_rows)
                rows["v"] = np.column_stack([part.column(n).to_numpy() for n in names])
                copy.write(memoryview(rows.view(np.uint8)))
                done += part.num_rows
        copy.write(struct.pack(">h", -1))
print(done)
"""


def measure(argv: list[str], env: dict | None = None, memory_limit: int | None = None) -> dict:
    """Seconds, peak RSS (MiB), exit code and output of one command."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
            text=True,
            preexec_fn=limit if memory_limit else None,
        )
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.stdout.close()
        errors.seek(0)
        err = errors.read().strip()
    return {
        "seconds": seconds,
        "peak_mib": usage.ru_maxrss / 1024,
        "code": os.waitstatus_to_exitcode(status),
        "out": out.strip(),
        "err": err.splitlines()[-1:] if err else [],
    }


def run(argv: list[str], env: dict | None = None, **kwargs) -> dict:
    result = measure(argv, env, **kwargs)
    if result["code"] != 0 and not kwargs:
        sys.exit(f"failed: {' '.join(argv)}\n{result['out']}\n{result['err']}")
    return result


def explain_join(url: str) -> tuple[float, list[str]]:
    """The label-to-tile join as asmdb runs it: execution time (s) and the plan's lines."""
    with psycopg.connect(url) as conn:
        conn.execute("SET jit = off")  # as asmdb's own sessions (asm_db.db.engine)
        conn.execute("SELECT count(*) FROM asmdb.label_tiles")  # warm, as the seed's is
        plan = [
            r[0]
            for r in conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT label_id, tile_id, label FROM asmdb.label_tiles"
            )
        ]
    ms = next(float(line.split()[2]) for line in plan if line.startswith("Execution Time"))
    return ms / 1000, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="tiles x this (1 = 75,076)")
    parser.add_argument("--features", type=int, default=4000)
    parser.add_argument("--labels", type=int, default=10_000, help="a field campaign's size")
    parser.add_argument("--seed-memory-gb", type=float, default=20.0, help="the seed's limit")
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workdir", type=Path, default=None, help="kept if given")
    parser.add_argument("--json", type=Path, default=None, help="default: bench/results/")
    args = parser.parse_args()

    asmdb = str(Path(sys.executable).with_name("asmdb"))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="asmdb-bench-"))
    data = work / "data"
    side = round(BASE_SIDE * math.sqrt(args.scale))
    tiles, k = side * side, args.features
    feature_mib = tiles * k * 4 / MiB
    report: dict = {
        "scale": args.scale,
        "tiles": tiles,
        "features": k,
        "labels": args.labels,
        "feature_bytes_mib": round(feature_mib),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "stages": {},
    }
    stages = report["stages"]
    print(
        f"data: {tiles:,} tiles x {k:,} features ({feature_mib:,.0f} MiB float32), "
        f"{args.labels:,} labels, in {data}",
        flush=True,
    )
    if not (data / "SLE_features.feather").exists():
        gen = run(
            [
                asmdb,
                "sample-data",
                str(data),
                "--tiles-per-side",
                str(side),
                "--features",
                str(k),
                "--labels",
                str(args.labels),
            ]
        )
        print(f"generated in {gen['seconds']:.0f} s", flush=True)
    labels_csv, feather = data / "SLE_mines.csv", data / "SLE_features.feather"
    report["feather_mib"] = round(feather.stat().st_size / MiB)

    if not args.skip_seed:
        seed = measure(
            [sys.executable, "-c", SEED, str(labels_csv), str(feather), str(k)],
            memory_limit=int(args.seed_memory_gb * 2**30),
        )
        if seed["code"] == 0:
            detail = json.loads(seed["out"])
            stages["seed notebook (whole)"] = _stage(seed, feature_mib)
            stages["seed: sjoin step"] = {"seconds": detail["seconds"]["sjoin"]}
            report["seed"] = detail
            print(
                f"seed: {seed['seconds']:.1f} s, {seed['peak_mib']:,.0f} MiB; steps "
                + ", ".join(f"{n} {s:.1f} s" for n, s in detail["seconds"].items()),
                flush=True,
            )
        else:
            stages["seed notebook (whole)"] = {
                **_stage(seed, feature_mib),
                "failed": " ".join(seed["err"]) or f"exit {seed['code']}",
            }
            print(
                f"seed: FAILED after {seed['seconds']:.0f} s at {seed['peak_mib']:,.0f} MiB "
                f"(limit {args.seed_memory_gb:g} GiB): {stages['seed notebook (whole)']['failed']}",
                flush=True,
            )

    try:
        with throwaway_database(args.admin_url, "asmdb_bench") as url:
            env = {**os.environ, "ASMDB_DATABASE_URL": asmdb_url(url)}
            run([asmdb, "db", "upgrade"], env)
            raw = run([sys.executable, "-c", RAW, str(feather), url, "raw_reference"])
            stages["raw reference (pyarrow + COPY bytea)"] = _stage(raw, feature_mib)
            _print(stages, "raw reference (pyarrow + COPY bytea)")
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP TABLE raw_reference")
                conn.execute("CHECKPOINT")  # asmdb starts from the same clean state
            steps = [
                ("asmdb ingest labels", ["ingest", "labels", str(labels_csv)], 0),
                ("asmdb ingest features", ["ingest", "features", str(feather)], feature_mib),
            ]
            for label, argv, mib in steps:
                stages[label] = _stage(run([asmdb, *argv], env), mib)
                _print(stages, label)
            join_seconds, plan = explain_join(url)
            stages["asmdb SQL join"] = {"seconds": join_seconds}
            report["join_plan"] = plan
            report["join_uses_gist"] = any("tiles_geom_idx" in line for line in plan)
            _print(stages, "asmdb SQL join")
            # The seed protocol with its default bootstrap (200 resamples), as a user runs it.
            train = run([asmdb, "train", "--cv", "seed", "--json"], env)
            stages["asmdb train (seed protocol)"] = _stage(train, feature_mib)
            report["asmdb_train"] = json.loads(train["out"])
            _print(stages, "asmdb train (seed protocol)")
            print(
                "  inside: "
                + ", ".join(
                    f"{name} {s:.1f} s" for name, s in report["asmdb_train"]["seconds"].items()
                ),
                flush=True,
            )
            with psycopg.connect(url) as conn:
                report["database_mib"] = round(
                    conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / MiB
                )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    report["ratios"] = _ratios(stages)
    _table(report)
    out = args.json or HERE / "results" / f"scale-{args.scale:g}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {out}")


def _stage(result: dict, mib: float) -> dict:
    stage = {"seconds": round(result["seconds"], 2), "peak_rss_mib": round(result["peak_mib"])}
    if mib:
        stage["mb_per_s"] = round(mib * MiB / 1e6 / result["seconds"], 1)
    return stage


def _print(stages: dict, label: str) -> None:
    s = stages[label]
    rss = f", {s['peak_rss_mib']:,} MiB" if "peak_rss_mib" in s else ""
    print(f"{label}: {s['seconds']:.2f} s{rss}", flush=True)


def _ratios(stages: dict) -> dict:
    def seconds(name: str) -> float | None:
        stage = stages.get(name)
        return None if stage is None or "failed" in stage else stage["seconds"]

    def ratio(a: str, b: str) -> float | None:
        x, y = seconds(a), seconds(b)
        return round(x / y, 2) if x is not None and y else None

    train = stages.get("asmdb train (seed protocol)", {})
    return {
        "ingest features / raw reference (target <= 2)": ratio(
            "asmdb ingest features", "raw reference (pyarrow + COPY bytea)"
        ),
        "SQL join / seed sjoin (target <= 1)": ratio("asmdb SQL join", "seed: sjoin step"),
        "train / seed notebook (target <= 0.35)": ratio(
            "asmdb train (seed protocol)", "seed notebook (whole)"
        ),
        "train peak RSS MiB (target <= 1536)": train.get("peak_rss_mib"),
    }


def _table(report: dict) -> None:
    print(
        f"\n{report['tiles']:,} tiles x {report['features']:,} features "
        f"({report['feature_bytes_mib']:,} MiB float32, feather {report['feather_mib']:,} MiB), "
        f"{report['labels']:,} labels; {report['machine']}"
    )
    print(f"{'stage':40} {'seconds':>9} {'MB/s':>7} {'peak RSS MiB':>13}")
    for label, s in report["stages"].items():
        rss = f"{s['peak_rss_mib']:,}" if "peak_rss_mib" in s else "-"
        mbs = f"{s['mb_per_s']:.0f}" if "mb_per_s" in s else "-"
        note = f"  FAILED: {s['failed']}" if "failed" in s else ""
        print(f"{label:40} {s['seconds']:9.2f} {mbs:>7} {rss:>13}{note}")
    print()
    for name, value in report["ratios"].items():
        print(f"{name:48} {value if value is not None else 'n/a'}")
    if "join_uses_gist" in report:
        print(f"{'SQL join uses the GiST index on tiles':48} {report['join_uses_gist']}")


if __name__ == "__main__":
    main()
