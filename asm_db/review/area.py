"""Area of ASM and the map's accuracy, with 95% confidence intervals, from the reviewed
stratified random sample (Olofsson et al. 2014, "Good practices for estimating area and
assessing accuracy of land change"; ratio estimators of Stehman 2014 where the sample's strata,
the map's probability classes, are finer than the map's two classes).

The map calls a tile ASM when its probability is at least `threshold`. Each reviewed sample
tile gives the reference: confirmed = ASM, rejected = not; unclear and pending ones are left
out (and counted). Strata are weighted by their area.

A stratum with fewer than two reviewed sample tiles (and not reviewed whole) has no variance
estimate of its own: it is collapsed into its neighbouring probability class, and the estimate
says so. Collapsing pools the variance only: each stratum keeps its own mean, its own area
weight and its own sample size in the estimate and in its term of the variance, w_h^2 (1 - f_h)
s_g^2 / n_h, where s_g^2 is the sample variance of its collapsed group (around the group's
mean, so a little wider than the truth when the merged classes differ: collapsed strata,
Cochran 1977, 5A.12). Pooling the means as well would weight a small class's one review by its
neighbour's sample size. A stratum with no review at all has no mean: it is merged for the
estimate too.
The estimator is the one of `asm_db.review.estimation`, a map being the case of two classes
(`asm`, `not`): intervals are Wilson's on the design's effective sample size, inside [0, 1];
a stratum whose sample found no ASM (or only ASM) still counts as uncertain about it. An
accuracy that cannot be computed (no tile mapped as ASM, or none found) is null, never NaN.
The model-assisted estimate uses the map's calibrated probability as the auxiliary of `asm`.
"""

from __future__ import annotations

import numpy as np
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.probability_classes import sql_params
from asm_db.review import estimation
from asm_db.review.options import MAP_THRESHOLD
from asm_db.review.sampling import CLASS_NAMES

ASM, NOT = "asm", "not"


def _partner(i: int, strata: list[dict]) -> int:
    """A probability class with too few reviews joins the next class up (the last, the one
    below)."""
    return i + 1 if i + 1 < len(strata) else i - 1


def _join(into: dict, small: dict) -> str:
    return "+".join(sorted(into["name"].split("+") + small["name"].split("+")))


def _note(merge: dict) -> str:
    return (
        f"stratum {merge['stratum']} had {merge['reviewed']} reviewed sample tile(s): "
        f"collapsed with {merge['into']}"
        + (" to estimate the variance" if merge["reviewed"] else "")
    )


def stratified_estimates(strata: list[dict], threshold: float) -> dict:
    """The estimators on per-stratum samples.

    Each stratum: {"name", "tiles" (N_h), "area_km2", "probability" (array), "reference"
    (0/1 array)}, and optionally "mean_probability" (the area-weighted mean probability of all
    its tiles, for the model-assisted estimate). Returns area, user's, producer's and overall
    accuracy with 95% intervals.
    """
    two = []
    for s in strata:
        p = np.asarray(s["probability"], dtype=float)
        entry = {
            "name": s["name"],
            "tiles": s["tiles"],
            "area_km2": s["area_km2"],
            "mapped": [ASM if x >= threshold else NOT for x in p],
            "reference": [ASM if r else NOT for r in s["reference"]],
        }
        if "mean_probability" in s:
            entry["aux"] = {ASM: list(p), NOT: list(1 - p)}
            m = float(s["mean_probability"] or 0.0)
            entry["aux_mean"] = {ASM: m, NOT: 1 - m}
        two.append(entry)
    try:
        e = estimation.estimate(two, (ASM, NOT), _partner, _join)
    except estimation.TooFewReviews as exc:
        raise AsmdbError(
            f"{exc.reviewed} reviewed sample tile(s): review at least {2 - exc.reviewed} more "
            "(confirmed or rejected) before estimating"
        ) from None
    area = e["total_area_km2"]
    asm = e["classes"][ASM]
    share = {k: (v / area if v is not None else None) for k, v in asm["area_km2"].items()}
    out = {
        "threshold": threshold,
        "total_area_km2": area,
        "asm_area_km2": asm["area_km2"],
        "asm_share": share,
        "users_accuracy": asm["users_accuracy"],
        "producers_accuracy": asm["producers_accuracy"],
        "overall_accuracy": e["overall_accuracy"],
        "reviewed": e["reviewed"],
        "collapsed": [_note(m) for m in e["collapsed"]],
    }
    if "area_km2_model_assisted" in asm:
        out["asm_area_km2_model_assisted"] = asm["area_km2_model_assisted"]
        out["se_ratio"] = asm["se_ratio"]
    return out


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
            load_sql("review/strata_sizes"),
            {"map_id": map_id, "threshold": threshold, **sql_params()},
        ).fetchall()
        if not sizes:
            raise AsmdbError(f"run {run_id} has no predictions; `asmdb runs list` lists runs")
        sample = pg.execute(load_sql("review/sample"), {"run_id": run_id}).fetchall()
        by_stratum: dict[str, list] = {}
        unreviewed = 0
        for stratum, probability, status in sample:
            if status in ("confirmed", "rejected"):
                by_stratum.setdefault(stratum, []).append((probability, status == "confirmed"))
            else:
                unreviewed += 1
        strata = []
        for klass, tiles, area_km2, _, mean_probability in sizes:
            name = CLASS_NAMES[klass]
            reviewed = by_stratum.get(name, [])
            strata.append(
                {
                    "name": name,
                    "tiles": tiles,
                    "area_km2": float(area_km2),
                    "probability": [p for p, _ in reviewed],
                    "reference": [int(r) for _, r in reviewed],
                    "mean_probability": float(mean_probability),
                }
            )
        estimate = stratified_estimates(strata, threshold)
        estimate["mapped_area_km2"] = float(sum(row[3] or 0 for row in sizes))
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
            load_sql("review/run_area_estimate_save"),
            {"run_id": run_id, "estimate": Jsonb(estimate)},
        )
    return estimate
