"""Coverage of the review estimates' 95% intervals, on sample data whose truth is known.

    .venv/bin/python bench/coverage.py                  # 1,000 seeds
    .venv/bin/python bench/coverage.py --seeds 200 --sample-size 300

One run writes the sample data (two periods) into a throwaway database and makes, as a user
would, run 1 on the first period, its map of the later one and the change between them. Then,
in memory with the pure estimator (asm_db.review.estimation), for each seed it draws the review
samples as `asmdb review queue` does (the change's, over its classes; the first map's, over its
probability classes), answers every tile from the truth (SLE_truth.csv, SLE_truth_later.csv),
estimates, and counts how often each 95% interval, stratified and model-assisted, holds the true
area. Only a class the sample can see is counted: one with an expected 10 or more reviewed tiles.
Prints each coverage with its own 95% Wilson interval (the bar: its lower bound at least 0.91) and
the mean standard error ratio (model-assisted / stratified), and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from asm_db.change.classes import SAMPLED_CLASSES  # noqa: E402
from asm_db.probability_classes import CLASSES  # noqa: E402
from asm_db.review.area import stratified_estimates  # noqa: E402
from asm_db.review.change_area import auxiliary, change_estimates  # noqa: E402
from asm_db.review.estimation import allocate, draw, wilson  # noqa: E402
from asm_db.review.options import ChangeQueueOptions, QueueOptions  # noqa: E402

REFERENCE = {(0, 1): "new", (1, 0): "gone", (1, 1): "persistent", (0, 0): "absent"}
MIN_EXPECTED = 10  # reviewed tiles of a class the sample is expected to hold, to be counted
BAR = 0.91  # the coverage's own 95% lower bound must reach this


@dataclass(frozen=True)
class ChangePopulation:
    """Every sampled tile of a change: its class (stratum), area, both probabilities, truth."""

    klass: np.ndarray
    area: np.ndarray
    p_from: np.ndarray
    p_to: np.ndarray
    truth: np.ndarray  # the true change class


@dataclass(frozen=True)
class MapPopulation:
    """Every tile of a map: its probability, probability class, area and truth (0/1)."""

    probability: np.ndarray
    klass: np.ndarray
    area: np.ndarray
    truth: np.ndarray


def read_change(url: str, truth: dict[str, str], change_id: int = 1) -> ChangePopulation:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.class, c.area_km2, c.p_from, c.p_to, t.image_id "
            "FROM asmdb.change_tiles AS c JOIN asmdb.tiles AS t USING (tile_id) "
            "WHERE c.change_id = %s AND c.class <> 'no_data' ORDER BY c.tile_id",
            (change_id,),
        ).fetchall()
    return ChangePopulation(
        np.array([r[0] for r in rows], dtype=object),
        np.array([r[1] for r in rows], dtype=float),
        np.array([r[2] for r in rows], dtype=float),
        np.array([r[3] for r in rows], dtype=float),
        np.array([truth[r[4]] for r in rows], dtype=object),
    )


def read_map(url: str, truth: dict[str, int], map_id: int = 1) -> MapPopulation:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT p.probability, ST_Area(p.geom::geography) / 1e6, t.image_id "
            "FROM asmdb.predictions AS p JOIN asmdb.tiles AS t USING (tile_id) "
            "WHERE p.map_id = %s ORDER BY p.tile_id",
            (map_id,),
        ).fetchall()
    p = np.array([r[0] for r in rows], dtype=float)
    klass = np.array([sum(1 for c in CLASSES if x >= c.lower) for x in p])
    return MapPopulation(
        p,
        klass,
        np.array([r[1] for r in rows], dtype=float),
        np.array([truth[r[2]] for r in rows], dtype=int),
    )


def change_trial(pop: ChangePopulation, seed: int, sample_size: int, minimum: int) -> dict:
    """One draw of the change's sample, answered from the truth: for each class the sample can
    see, (true km2, stratified estimate, model-assisted estimate)."""
    members = {k: np.flatnonzero(pop.klass == k) for k in SAMPLED_CLASSES}
    members = {k: m for k, m in members.items() if len(m)}
    take = allocate({k: len(m) for k, m in members.items()}, sample_size, minimum)
    drawn = draw(members, take, np.random.default_rng(seed))
    aux = auxiliary(pop.p_from, pop.p_to)
    strata = []
    for h, m in members.items():
        idx = [i for i, s, _ in drawn if s == h]
        a = pop.area[m]
        strata.append(
            {
                "name": h,
                "tiles": len(m),
                "area_km2": float(a.sum()),
                "mapped": [h] * len(idx),
                "reference": list(pop.truth[idx]),
                "unit_km2": list(pop.area[idx]),
                "aux": {k: list(aux[k][idx]) for k in SAMPLED_CLASSES},
                "aux_mean": {k: float((a * aux[k][m]).sum() / a.sum()) for k in SAMPLED_CLASSES},
            }
        )
    e = change_estimates(strata)
    out = {}
    for k in SAMPLED_CLASSES:
        expected = sum(take[h] * np.mean(pop.truth[m] == k) for h, m in members.items())
        if expected >= MIN_EXPECTED:
            c = e["classes"][k]
            true_km2 = float(pop.area[pop.truth == k].sum())
            out[k] = (true_km2, c["area_km2"], c["area_km2_model_assisted"])
    return out


def map_trial(pop: MapPopulation, seed: int, per_stratum: int, threshold: float) -> dict:
    """One draw of the map's stratified sample, answered from the truth (as `change_trial`)."""
    names = {c.number: c.stratum for c in CLASSES}
    members = {names[k]: np.flatnonzero(pop.klass == k) for k in names}
    members = {h: m for h, m in members.items() if len(m)}
    take = {h: per_stratum for h in members}
    drawn = draw(members, take, np.random.default_rng(seed))
    strata = []
    for h, m in members.items():
        idx = [i for i, s, _ in drawn if s == h]
        a = pop.area[m]
        strata.append(
            {
                "name": h,
                "tiles": len(m),
                "area_km2": float(a.sum()),
                "probability": list(pop.probability[idx]),
                "reference": list(pop.truth[idx]),
                "mean_probability": float((a * pop.probability[m]).sum() / a.sum()),
            }
        )
    expected = sum(min(take[h], len(m)) * np.mean(pop.truth[m]) for h, m in members.items())
    if expected < MIN_EXPECTED:
        return {}
    e = stratified_estimates(strata, threshold)
    true_km2 = float(pop.area[pop.truth == 1].sum())
    return {"asm": (true_km2, e["asm_area_km2"], e["asm_area_km2_model_assisted"])}


def tally(trials: list[dict]) -> dict:
    """Per class and estimator: trials, hits, coverage with its 95% Wilson interval, mean SE
    ratio (model-assisted / stratified)."""
    out = {}
    for k in sorted({k for t in trials for k in t}):
        rows = [t[k] for t in trials if k in t]
        entry = {"trials": len(rows)}
        for name, i in (("stratified", 1), ("model_assisted", 2)):
            hits = sum(1 for r in rows if r[i]["low"] <= r[0] <= r[i]["high"])
            low, high = wilson(hits / len(rows), len(rows))
            entry[name] = {"hits": hits, "coverage": hits / len(rows), "low": low, "high": high}
        ratios = [r[2]["se"] / r[1]["se"] for r in rows if r[1]["se"]]
        entry["se_ratio"] = float(np.mean(ratios)) if ratios else math.nan
        out[k] = entry
    return out


def coverage(
    change: ChangePopulation,
    area_map: MapPopulation,
    seeds: range,
    sample_size: int = ChangeQueueOptions().sample_size,
    minimum: int = ChangeQueueOptions().min_per_stratum,
    per_stratum: int = QueueOptions().per_stratum,
    threshold: float = QueueOptions().threshold,
) -> dict:
    """Coverage of the change's and the map's intervals over `seeds`."""
    return {
        "change": tally([change_trial(change, s, sample_size, minimum) for s in seeds]),
        "map": tally([map_trial(area_map, s, per_stratum, threshold) for s in seeds]),
    }


def truths(sample) -> tuple[dict[str, str], dict[str, int]]:
    """image_id -> true change class, and image_id -> truth of the first period."""
    first = dict(pd.read_csv(sample.truth).itertuples(index=False, name=None))
    later = dict(pd.read_csv(sample.later_truth).itertuples(index=False, name=None))
    return {i: REFERENCE[(first[i], later[i])] for i in first}, first


def make_maps(url: str, sample, asmdb: str) -> None:
    """Run 1 on the first period, its map of the later one, change 1 between them."""
    env = {
        **os.environ,
        "ASMDB_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
    }
    for args in (
        ["db", "upgrade"],
        ["ingest", "labels", str(sample.labels)],
        ["ingest", "features", str(sample.features), "--feature-set", "y2019"]
        + ["--period", "2019-01-01/2019-12-31"],
        ["ingest", "features", str(sample.later_features), "--feature-set", "y2024"]
        + ["--period", "2024-01-01/2024-12-31"],
        ["train", "--feature-set", "y2019", "--cv", "seed", "--bootstrap", "0"],
        ["predict", "--run", "1", "--feature-set", "y2024"],
        ["change", "--from", "1", "--to", "2"],
    ):
        done = subprocess.run([asmdb, *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"failed: asmdb {' '.join(args)}\n{done.stderr}")


def main() -> None:
    from run import throwaway_database

    from asm_db.ingest.sample import write_sample_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--side", type=int, default=40, help="tiles per side of the sample")
    parser.add_argument("--sample-size", type=int, default=ChangeQueueOptions().sample_size)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", type=Path, default=None, help="default: bench/results/")
    args = parser.parse_args()

    asmdb = str(Path(sys.executable).with_name("asmdb"))
    with tempfile.TemporaryDirectory(prefix="asmdb-coverage-") as work:
        sample = write_sample_data(
            work, n_lat=args.side, n_lon=args.side, n_features=256, n_labels=1000
        )
        with throwaway_database(args.admin_url, "asmdb_coverage") as url:
            make_maps(url, sample, asmdb)
            change_truth, first_truth = truths(sample)
            change = read_change(url, change_truth)
            area_map = read_map(url, first_truth)
    report = {
        "tiles": args.side**2,
        "seeds": args.seeds,
        "sample_size": args.sample_size,
        "machine": platform.platform(),
        **coverage(change, area_map, range(args.seeds), sample_size=args.sample_size),
    }
    print(f"{args.seeds} seeds, {args.side**2} tiles; 95% intervals holding the true area")
    print(f"{'':<14}{'trials':>7}  {'stratified':>26}  {'model-assisted':>26}  se ratio")
    ok = True
    for what in ("change", "map"):
        for k, e in report[what].items():
            cells = []
            for name in ("stratified", "model_assisted"):
                c = e[name]
                cells.append(f"{c['coverage']:.3f} ({c['low']:.3f}-{c['high']:.3f})")
                ok &= c["low"] >= BAR
            print(f"{what + ' ' + k:<14}{e['trials']:>7}  {cells[0]:>26}  {cells[1]:>26}  "
                  f"{e['se_ratio']:.2f}")  # fmt: skip
    out = args.json or HERE / "results" / f"coverage-{args.seeds}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{'every' if ok else 'NOT every'} coverage's lower bound at least {BAR}; {out}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
