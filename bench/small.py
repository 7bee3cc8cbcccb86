"""Speed on small data: the README demo's `asmdb train` and every model on the sample data.

    .venv/bin/python bench/small.py            # asmdb sample-data's defaults: 1,600 tiles
    .venv/bin/python bench/small.py --models ridge logistic

One run writes the sample data into a throwaway database, ingests it, then times each command
in its own process (start-up included, as a user waits for it): `asmdb train --plots DIR` as the
README's quick start runs it (spatial CV, block size auto, its map), the same with
`--cv seed` (the notebook's protocol), and `train --no-map` for each model. Prints seconds
against the targets (the demo's train under 10 s, every model under 60 s) and writes JSON to
bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import asmdb_url, run, throwaway_database  # noqa: E402

MODELS = ("ridge", "logistic", "random-forest", "gradient-boosting")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", type=Path, default=None, help="default: bench/results/")
    args = parser.parse_args()

    asmdb = str(Path(sys.executable).with_name("asmdb"))
    work = Path(tempfile.mkdtemp(prefix="asmdb-small-"))
    timings = {}
    try:
        with throwaway_database(args.admin_url, "asmdb_small") as url:
            env = {**os.environ, "ASMDB_DATABASE_URL": asmdb_url(url)}
            run([asmdb, "sample-data", str(work / "data")])
            run([asmdb, "db", "upgrade"], env)
            run([asmdb, "ingest", "labels", str(work / "data" / "SLE_mines.csv")], env)
            run([asmdb, "ingest", "features", str(work / "data" / "SLE_features.feather")], env)
            steps = [
                ("README demo: train --plots DIR (spatial, its map)",
                 ["train", "--plots", str(work / "plots")]),
                ("train --cv seed (the notebook's protocol)", ["train", "--cv", "seed"]),
            ] + [
                (f"train --model {m} --no-map", ["train", "--model", m, "--no-map", "--no-promote"])
                for m in args.models
            ]  # fmt: skip
            for label, argv in steps:
                done = run([asmdb, *argv], env)
                timings[label] = round(done["seconds"], 2)
                print(f"{label:52} {done['seconds']:7.1f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    demo = timings[steps[0][0]]
    models = {k: v for k, v in timings.items() if k.startswith("train --model")}
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg(),
        "seconds": timings,
        "targets": {
            "README demo's train < 10 s": demo < 10,
            "every model < 60 s": all(v < 60 for v in models.values()),
        },
    }
    print()
    for target, met in report["targets"].items():
        print(f"{target:52} {'met' if met else 'NOT met'}")
    out = args.json or HERE / "results" / "small.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
