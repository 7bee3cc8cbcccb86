"""Area of ASM and the map's accuracy, with 95% confidence intervals, from the reviewed
stratified random sample (Olofsson et al. 2014, "Good practices for estimating area and
assessing accuracy of land change"; ratio estimators of Stehman 2014 where the sample's strata,
the map's probability classes, are finer than the map's two classes).

The map calls a tile ASM when its probability is at least `threshold`. Each reviewed sample
tile gives the reference: confirmed = ASM, rejected = not; unclear and pending ones are left
out (and counted). Strata are weighted by their area.
"""

from __future__ import annotations

import numpy as np
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.probability_classes import sql_params
from asm_db.review.options import MAP_THRESHOLD
from asm_db.review.queue import CLASS_NAMES

Z95 = 1.959964


def _interval(value: float, se: float, scale: float = 1.0) -> dict:
    return {
        "value": value * scale,
        "low": (value - Z95 * se) * scale,
        "high": (value + Z95 * se) * scale,
        "se": se * scale,
    }


def stratified_estimates(strata: list[dict], threshold: float) -> dict:
    """The estimators on per-stratum samples.

    Each stratum: {"name", "tiles" (N_h), "area_km2", "probability" (array), "reference"
    (0/1 array)}. Returns area, user's, producer's and overall accuracy with 95% intervals.
    """
    area = sum(s["area_km2"] for s in strata)
    rows = []
    for s in strata:
        n, big_n = len(s["reference"]), s["tiles"]
        if n < 2 and n < big_n:  # a stratum reviewed whole (a census) has no sampling error
            raise AsmdbError(
                f"stratum {s['name']} has {n} reviewed sample tile(s); review at least 2 "
                "(confirmed or rejected) in every probability class"
            )
        ref = np.asarray(s["reference"], dtype=float)
        mapped = (np.asarray(s["probability"]) >= threshold).astype(float)
        rows.append(
            {
                "w": s["area_km2"] / area,
                "n": n,
                "fpc": 1 - n / big_n,
                "ref": ref,
                "map": mapped,
                "both": ref * mapped,
                "agree": (ref == mapped).astype(float),
            }
        )

    def total(key: str) -> tuple[float, float]:
        value = sum(r["w"] * r[key].mean() for r in rows)
        var = sum(
            r["w"] ** 2 * r["fpc"] * r[key].var(ddof=1) / r["n"] for r in rows if r["fpc"] > 0
        )
        return value, float(np.sqrt(var))

    def ratio(num: str, den: str) -> tuple[float, float]:
        y = sum(r["w"] * r[num].mean() for r in rows)
        x = sum(r["w"] * r[den].mean() for r in rows)
        if x == 0:
            return float("nan"), float("nan")
        value = y / x
        var = (
            sum(
                r["w"] ** 2
                * r["fpc"]
                * (
                    r[num].var(ddof=1)
                    + value**2 * r[den].var(ddof=1)
                    - 2 * value * np.cov(r[num], r[den], ddof=1)[0, 1]
                )
                / r["n"]
                for r in rows
            )
            / x**2
        )
        return value, float(np.sqrt(max(var, 0.0)))

    share, share_se = total("ref")
    return {
        "threshold": threshold,
        "total_area_km2": area,
        "asm_area_km2": _interval(share, share_se, area),
        "asm_share": _interval(share, share_se),
        "users_accuracy": _interval(*ratio("both", "map")),
        "producers_accuracy": _interval(*ratio("both", "ref")),
        "overall_accuracy": _interval(*total("agree")),
        "reviewed": int(sum(r["n"] for r in rows)),
    }


def estimate_area(
    engine: Engine, run_id: int, threshold: float = MAP_THRESHOLD, map_id: int | None = None
) -> dict:
    """Estimate from a run's reviewed sample, store it with the run, and return it. The strata
    are those of map `map_id` (default: the map the run made on its own feature set)."""
    from asm_db.maps.registry import resolve_map

    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        if map_id is None:
            map_id = resolve_map(pg, run_id=run_id).map_id
        sizes = pg.execute(
            load_sql("review_strata_sizes"),
            {"map_id": map_id, "threshold": threshold, **sql_params()},
        ).fetchall()
        if not sizes:
            raise AsmdbError(f"run {run_id} has no predictions; `asmdb runs list` lists runs")
        sample = pg.execute(load_sql("review_sample"), {"run_id": run_id}).fetchall()
        by_stratum: dict[str, list] = {}
        unreviewed = 0
        for stratum, probability, status in sample:
            if status in ("confirmed", "rejected"):
                by_stratum.setdefault(stratum, []).append((probability, status == "confirmed"))
            else:
                unreviewed += 1
        strata = []
        for klass, tiles, area_km2, _ in sizes:
            name = CLASS_NAMES[klass]
            reviewed = by_stratum.get(name, [])
            strata.append(
                {
                    "name": name,
                    "tiles": tiles,
                    "area_km2": float(area_km2),
                    "probability": [p for p, _ in reviewed],
                    "reference": [int(r) for _, r in reviewed],
                }
            )
        estimate = stratified_estimates(strata, threshold)
        estimate["mapped_area_km2"] = float(sum(m or 0 for *_, m in sizes))
        estimate["not_reviewed_in_sample"] = unreviewed
        estimate["strata"] = [
            {
                "name": s["name"],
                "tiles": s["tiles"],
                "area_km2": s["area_km2"],
                "reviewed": len(s["reference"]),
                "asm": int(sum(s["reference"])),
            }
            for s in strata
        ]
        pg.execute(
            load_sql("run_area_estimate_save"), {"run_id": run_id, "estimate": Jsonb(estimate)}
        )
    return estimate
