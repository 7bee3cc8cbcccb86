"""Monitoring at scale: `asmdb predict` on a second period against the prediction part of
`asmdb train`, and `asmdb change` between the two maps.

    .venv/bin/python bench/monitor.py                 # Sierra Leone: 75,076 tiles x 4,000
    .venv/bin/python bench/monitor.py --scale 0.05 --features 256   # a quick run

One run generates the sample data (two periods of the same tiles, `asmdb sample-data`) in a
throwaway database, ingests both periods, trains on the first (`--cv seed --bootstrap 0`), then
applies the run to the second period (`asmdb predict`) and maps the change (`asmdb change`).
Printed, and written as JSON to bench/results/:
  - train's own predict + write seconds (scoring and writing its map) and predict's, with
    their ratio (target: about 1);
  - predict's wall time, process start-up and model load included;
  - change: the one SQL statement comparing the two maps on the tile key (target < 2 s), the
    index build and attach, and the command's wall time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import BASE_SIDE, asmdb_url, run, throwaway_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="tiles x this (1 = 75,076)")
    parser.add_argument("--features", type=int, default=4000)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--readers", type=int, default=2, help="--readers of train and predict")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workdir", type=Path, default=None, help="kept if given")
    parser.add_argument("--json", type=Path, default=None, help="default: bench/results/")
    args = parser.parse_args()

    asmdb = str(Path(sys.executable).with_name("asmdb"))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="asmdb-monitor-"))
    data = work / "data"
    side = round(BASE_SIDE * math.sqrt(args.scale))
    report: dict = {
        "scale": args.scale,
        "tiles": side * side,
        "features": args.features,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
    }
    print(f"data: {side * side:,} tiles x {args.features:,} features, two periods", flush=True)
    if not (data / "SLE_features_later.feather").exists():
        run([asmdb, "sample-data", str(data), "--tiles-per-side", str(side),
             "--features", str(args.features), "--labels", str(args.labels)])  # fmt: skip

    try:
        with throwaway_database(args.admin_url, "asmdb_monitor") as url:
            env = {**os.environ, "ASMDB_DATABASE_URL": asmdb_url(url)}
            run([asmdb, "db", "upgrade"], env)
            run([asmdb, "ingest", "labels", str(data / "SLE_mines.csv")], env)
            for feature_set, file, period in (
                ("y2019", "SLE_features.feather", "2019-01-01/2019-12-31"),
                ("y2024", "SLE_features_later.feather", "2024-01-01/2024-12-31"),
            ):
                done = run([asmdb, "ingest", "features", str(data / file), "--feature-set",
                            feature_set, "--period", period], env)  # fmt: skip
                print(f"ingest {feature_set}: {done['seconds']:.1f} s", flush=True)
            readers = ["--readers", str(args.readers)]
            train = run([asmdb, "train", "--feature-set", "y2019", "--cv", "seed", "--bootstrap",
                         "0", "--json", *readers], env)  # fmt: skip
            trained = json.loads(train["out"])
            predict = run([asmdb, "predict", "--run", str(trained["run_id"]), "--feature-set",
                           "y2024", "--json", *readers], env)  # fmt: skip
            predicted = json.loads(predict["out"])
            change = run([asmdb, "change", "--from", str(trained["map_id"]), "--to",
                          str(predicted["map_id"]), "--json"], env)  # fmt: skip
            changed = json.loads(change["out"])
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    in_train = trained["seconds"]["predict"] + trained["seconds"]["write"]
    in_predict = predicted["seconds"]["predict"] + predicted["seconds"]["write"]
    report.update(
        train_seconds=trained["seconds"],
        train_wall=round(train["seconds"], 2),
        predict_seconds=predicted["seconds"],
        predict_wall=round(predict["seconds"], 2),
        predict_peak_rss_mib=round(predict["peak_mib"]),
        change_seconds=changed["seconds"],
        change_wall=round(change["seconds"], 2),
        change_classes=changed["classes"],
        ratios={
            "predict (score + write) / train's own (target about 1)": round(
                in_predict / in_train, 2
            ),
            "change statement seconds (target < 2)": round(changed["seconds"]["compare"], 3),
        },
    )
    print(f"\n{report['tiles']:,} tiles x {report['features']:,} features; {report['machine']}")
    print(f"{'step':44} {'seconds':>9}")
    rows = [
        ("train: score every tile", trained["seconds"]["predict"]),
        ("train: write its map", trained["seconds"]["write"]),
        ("predict: load the model", predicted["seconds"]["load"]),
        ("predict: score every tile", predicted["seconds"]["predict"]),
        ("predict: write the map", predicted["seconds"]["write"]),
        ("predict: whole command", predict["seconds"]),
        ("change: the comparison (one SQL statement)", changed["seconds"]["compare"]),
        ("change: index and attach", changed["seconds"]["index"]),
        ("change: whole command", change["seconds"]),
    ]
    for label, seconds in rows:
        print(f"{label:44} {seconds:9.2f}")
    print()
    for label, value in report["ratios"].items():
        print(f"{label:56} {value}")
    out = args.json or HERE / "results" / f"monitor-{args.scale:g}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
