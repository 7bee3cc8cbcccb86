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
Intervals of proportions (the ASM share, the accuracies) are computed on the logit scale, so
they stay inside [0, 1]; where the standard error is zero or the estimate is 0 or 1, a Wilson
score interval on the reviewed sample size is used instead. An accuracy that cannot be computed
(no tile mapped as ASM, or none found) is null, never NaN.
"""

from __future__ import annotations

import math

import numpy as np
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.probability_classes import sql_params
from asm_db.review.options import MAP_THRESHOLD
from asm_db.review.sampling import CLASS_NAMES

Z95 = 1.959964


def _wilson(p: float, n: int) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    z2 = Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _interval(value: float | None, se: float | None, n: int, scale: float = 1.0) -> dict:
    """A proportion with its 95% interval inside [0, 1] (times `scale`)."""
    if value is None or se is None or not (math.isfinite(value) and math.isfinite(se)):
        return {"value": None, "low": None, "high": None, "se": None}
    value = min(max(value, 0.0), 1.0)
    if 0 < value < 1 and se > 0:
        centre = math.log(value / (1 - value))
        spread = Z95 * se / (value * (1 - value))
        low, high = (1 / (1 + math.exp(-(centre + d))) for d in (-spread, spread))
    else:
        low, high = _wilson(value, n)
    return {"value": value * scale, "low": low * scale, "high": high * scale, "se": se * scale}


def _reviewable(stratum: dict, minimum: int) -> bool:
    n = len(stratum["reference"])
    return n >= minimum or n >= stratum["tiles"]  # reviewed whole: a census, no sampling error


def collapse_small_strata(strata: list[dict], minimum: int = 2) -> tuple[list[dict], list[str]]:
    """Merge each stratum with fewer than `minimum` reviews into its neighbour (the next class
    up, or for the last the one below) until every stratum has that many; returns the strata
    and a note per merge; each stratum's `members` are the positions of the strata given that
    it holds. Raises, with the number still needed, when even one stratum of two reviews cannot
    be formed."""
    strata = [{**s, "members": [i]} for i, s in enumerate(strata)]
    notes = []
    while len(strata) > 1:
        small = next((i for i, s in enumerate(strata) if not _reviewable(s, minimum)), None)
        if small is None:
            break
        other = small + 1 if small + 1 < len(strata) else small - 1
        a, b = sorted((small, other))
        reviewed = len(strata[small]["reference"])
        notes.append(
            f"stratum {strata[small]['name']} had {reviewed} reviewed sample tile(s): "
            f"collapsed with {strata[other]['name']}"
            + (" to estimate the variance" if reviewed else "")
        )
        strata[a : b + 1] = [
            {
                "name": f"{strata[a]['name']}+{strata[b]['name']}",
                "tiles": strata[a]["tiles"] + strata[b]["tiles"],
                "area_km2": strata[a]["area_km2"] + strata[b]["area_km2"],
                "probability": list(strata[a]["probability"]) + list(strata[b]["probability"]),
                "reference": list(strata[a]["reference"]) + list(strata[b]["reference"]),
                "members": strata[a]["members"] + strata[b]["members"],
            }
        ]
    if not strata or not _reviewable(strata[0], 2):
        n = sum(len(s["reference"]) for s in strata)
        raise AsmdbError(
            f"{n} reviewed sample tile(s): review at least {2 - n} more (confirmed or rejected) "
            "before estimating"
        )
    return strata, notes


def _rows(strata: list[dict], area: float, threshold: float) -> list[dict]:
    rows = []
    for s in strata:
        n, big_n = len(s["reference"]), s["tiles"]
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
    return rows


def stratified_estimates(strata: list[dict], threshold: float) -> dict:
    """The estimators on per-stratum samples.

    Each stratum: {"name", "tiles" (N_h), "area_km2", "probability" (array), "reference"
    (0/1 array)}. Returns area, user's, producer's and overall accuracy with 95% intervals.
    """
    # No review at all: no mean; merged for the estimate too. Fewer than two: pooled for the
    # variance, as a group of the strata kept.
    kept, notes = collapse_small_strata(strata, minimum=1)
    groups, pooled_notes = collapse_small_strata(kept)
    notes += pooled_notes
    area = sum(s["area_km2"] for s in kept)
    rows = _rows(kept, area, threshold)
    for group, pooled in zip(groups, _rows(groups, area, threshold), strict=True):
        for member in group["members"]:
            rows[member]["pooled"] = pooled
    sampled = [r for r in rows if r["fpc"] > 0]  # a stratum reviewed whole adds no variance

    def total(key: str) -> tuple[float, float]:
        value = sum(r["w"] * r[key].mean() for r in rows)
        var = sum(r["w"] ** 2 * r["fpc"] * r["pooled"][key].var(ddof=1) / r["n"] for r in sampled)
        return value, float(np.sqrt(var))

    def ratio(num: str, den: str) -> tuple[float, float]:
        y = sum(r["w"] * r[num].mean() for r in rows)
        x = sum(r["w"] * r[den].mean() for r in rows)
        if x == 0:
            return None, None  # nothing mapped (or found) as ASM: no such accuracy
        value = y / x
        var = 0.0
        for r in sampled:
            g = r["pooled"]
            residual = (
                g[num].var(ddof=1)
                + value**2 * g[den].var(ddof=1)
                - 2 * value * np.cov(g[num], g[den], ddof=1)[0, 1]
            )
            var += r["w"] ** 2 * r["fpc"] * residual / r["n"]
        return value, float(np.sqrt(max(var / x**2, 0.0)))

    share, share_se = total("ref")
    reviewed = int(sum(r["n"] for r in rows))
    mapped = int(sum(r["map"].sum() for r in rows))
    found = int(sum(r["ref"].sum() for r in rows))
    return {
        "threshold": threshold,
        "total_area_km2": area,
        "asm_area_km2": _interval(share, share_se, reviewed, area),
        "asm_share": _interval(share, share_se, reviewed),
        "users_accuracy": _interval(*ratio("both", "map"), mapped),
        "producers_accuracy": _interval(*ratio("both", "ref"), found),
        "overall_accuracy": _interval(*total("agree"), reviewed),
        "reviewed": reviewed,
        "collapsed": notes,
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
            load_sql("review/run_area_estimate_save"),
            {"run_id": run_id, "estimate": Jsonb(estimate)},
        )
    return estimate
