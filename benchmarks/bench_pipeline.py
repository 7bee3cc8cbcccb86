"""Time and peak memory of the seed's in-memory notebook against asmdb, on the same data.

    .venv/bin/python benchmarks/bench_pipeline.py --tiles-per-side 274 --features 4000

274 x 274 = 75,076 tiles x 4,000 features is the seed's real scale (a 1.2 GB feather file of
float32). Each stage runs in its own process; peak memory is that process's maximum resident
set (os.wait4), wall time is measured around it. asmdb runs against a throwaway database made
with --admin-url (default: the local server) and dropped after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
SEED = f"""
import sys
sys.path.insert(0, {str(HERE.parent / "tests")!r})
from seed_reference import run_seed
r = run_seed(sys.argv[1], sys.argv[2], int(sys.argv[3]))
print(f"seed: best alpha {{r['best_alpha']}} auc {{r['auc_uncalibrated']:.3f}}/{{r['auc_calibrated']:.3f}} rows {{r['n_rows']}}")
"""


def measure(argv: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(seconds, peak MiB, stdout) of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{out}")
    return seconds, usage.ru_maxrss / 1024, out.strip()


SEED_TRAIN = ["train", "--cv", "seed", "--bootstrap", "0"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles-per-side", type=int, default=100)
    parser.add_argument("--features", type=int, default=4000)
    parser.add_argument("--labels", type=int, default=3000)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    asmdb = str(Path(sys.executable).with_name("asmdb"))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="asmdb-bench-"))
    data = work / "data"
    n = args.tiles_per_side
    print(f"data: {n * n} tiles x {args.features} features, {args.labels} labels in {data}")
    seconds, peak, _ = measure(
        [
            asmdb,
            "sample-data",
            str(data),
            "--tiles-per-side",
            str(n),
            "--features",
            str(args.features),
            "--labels",
            str(args.labels),
        ]
    )
    size = (data / "SLE_features.feather").stat().st_size / 2**20
    print(f"generated in {seconds:.1f} s; feather file {size:.0f} MiB")

    rows = []
    seconds, peak, out = measure(
        [
            sys.executable,
            "-c",
            SEED,
            str(data / "SLE_mines.csv"),
            str(data / "SLE_features.feather"),
            str(args.features),
        ]
    )
    print(out)
    rows.append(("seed notebook, in memory (load+join+train+predict)", seconds, peak))

    name = f"asmdb_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(args.admin_url)
    url = (
        f"postgresql+psycopg://{info.get('user', '')}@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', 5432)}/{name}"
    )
    env = {**os.environ, "ASMDB_DATABASE_URL": url}
    try:
        measure([asmdb, "db", "upgrade"], env)
        stages = [
            ("asmdb ingest labels", ["ingest", "labels", str(data / "SLE_mines.csv")]),
            ("asmdb ingest features", ["ingest", "features", str(data / "SLE_features.feather")]),
            # The seed's protocol, so both sides do the same work.
            ("asmdb train (SQL join+train+predict+write)", SEED_TRAIN),
            ("asmdb train again (data already in PostGIS)", SEED_TRAIN),
        ]
        for label, argv in stages:
            seconds, peak, out = measure([asmdb, *argv], env)
            if argv == SEED_TRAIN:
                print(
                    "asmdb: "
                    + " ".join(
                        line
                        for line in out.splitlines()
                        if line.startswith(("Best alpha", "AUC before", "AUC after"))
                    )
                )
            rows.append((label, seconds, peak))
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            db_size = (
                conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20
            )
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    seed_s, seed_mb = rows[0][1], rows[0][2]
    print(f"\n{'stage':52} {'seconds':>8} {'peak MiB':>9} {'time/seed':>9} {'mem/seed':>9}")
    for label, seconds, peak in rows:
        print(
            f"{label:52} {seconds:8.1f} {peak:9.0f} {seconds / seed_s:9.2f} {peak / seed_mb:9.2f}"
        )
    print(f"\ndatabase size after load and two runs: {db_size:.0f} MiB")


if __name__ == "__main__":
    main()
