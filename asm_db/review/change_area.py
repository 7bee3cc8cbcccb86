"""Area of new and of gone mining, and the change map's accuracy, with 95% confidence intervals,
from the reviewed stratified sample of a change (Olofsson et al. 2014, Remote Sensing of
Environment 148: 42-57, with the change classes as strata; the accuracies are Stehman's 2014
ratio estimators, which equal Olofsson's while every stratum is one map class).

The strata are the change map's classes (new, gone, persistent, absent; no_data tiles are not
sampled), weighted by their area. The reference class of a sample tile is what the reviewer
saw in the imagery of both periods (`answer_from`, `answer_to`): rejected then confirmed is
new, confirmed then rejected gone, confirmed twice persistent, rejected twice absent; a tile
answered unclear, or not yet, is left out (and counted).

A stratum with fewer than two reviewed tiles (and not reviewed whole) has no variance to
estimate: it is collapsed into its neighbour (the other class the later map calls the same:
new with persistent, gone with absent; else the largest stratum left), and the estimate says
so. Collapsing pools the variance only: each stratum keeps its own mean, area weight and sample
size, in the estimate and in its term of the variance, which takes the sample variance of its
collapsed group (collapsed strata, Cochran 1977, 5A.12: a little wider than the truth where the
merged classes differ). Pooling the means as well would weight a small class's one review by
its neighbour's sample size. A stratum with no review at all has no mean: it is merged for the
estimate too. Intervals are Wilson's on the effective sample size (at most the tiles reviewed), so
they stay within [0, total area] and [0, 1] and widen toward the side a rare class is
uncertain on; a stratum whose sample found none of a class still counts as uncertain about it
(see `_spread`). On the sample data's two periods their coverage of the true areas is at or
above 95% (conservative where strata are reviewed nearly whole). An accuracy with no tile to
divide by (a class neither mapped nor found) is null, never NaN.
"""

from __future__ import annotations

import numpy as np
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.change.classes import SAMPLED_CLASSES, sql_params
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError

Z95 = 1.959964
# Collapse partner: the class the later map calls the same (mined, or not, at the end).
NEIGHBOUR = {"new": "persistent", "persistent": "new", "gone": "absent", "absent": "gone"}


def _interval(
    value: float | None, se: float | None, n: int, exact: bool, scale: float = 1.0
) -> dict:
    """A proportion, its 95% interval and standard error, times `scale`.

    The interval is Wilson's on the effective sample size (the size of a simple random sample
    with the same variance, at most the `n` tiles behind the estimate, as Korn and Graubard
    1998 cap it): within [0, 1], and not symmetric where the proportion is near 0 or 1, as the area
    of a rare class is. Only an `exact` value (every stratum reviewed whole) has no width. No
    estimate (nothing to divide by) is null, never NaN.
    """
    if value is None or se is None or not (np.isfinite(value) and np.isfinite(se)) or n == 0:
        return {"value": None, "low": None, "high": None, "se": None}
    low = high = value
    if not exact:
        spread = value * (1 - value)
        n_eff = min(n, spread / se**2) if spread > 0 and se > 0 else n
        z2 = Z95**2
        shrink = 1 + z2 / n_eff
        centre = (value + z2 / (2 * n_eff)) / shrink
        half = Z95 / shrink * np.sqrt(spread / n_eff + z2 / (4 * n_eff**2))
        low, high = max(centre - half, 0.0), min(centre + half, 1.0)
    return {
        "value": value * scale,
        "low": float(low) * scale,
        "high": float(high) * scale,
        "se": se * scale,
    }


def _spread(y: np.ndarray, z: np.ndarray) -> float:
    """The sample variance of `z`, a 0/1 indicator `y` weighted by the tiles' areas, within a
    stratum, where a sample holding none (or only) of the class counts as if half a tile had
    gone the other way: a rare class the sample missed in a large stratum is not certainly
    absent from it."""
    n, found = len(y), float(y.sum())
    if 0 < found < n:
        return float(z.var(ddof=1))
    p = 0.5 / (n + 1)  # the same for all and for none
    return n / (n - 1) * p * (1 - p)


def _where(column: str, k: str):
    return lambda r: r[column] == k


def _agree_on(k: str):
    return lambda r: (r["map"] == k) & (r["ref"] == k)


def collapse_strata(strata: list[dict], minimum: int = 2) -> tuple[list[dict], list[dict]]:
    """Merge every stratum with fewer than `minimum` reviewed tiles (and not reviewed whole)
    into its neighbour; returns the strata left and what was merged into what. Each stratum
    left lists in `members` the positions, among the strata given, of those it holds."""
    strata = [{**s, "members": [i]} for i, s in enumerate(strata) if s["tiles"] > 0]
    collapsed = []
    while True:
        weak = [
            s for s in strata if len(s["reference"]) < minimum and len(s["reference"]) < s["tiles"]
        ]
        if not weak:
            return strata, collapsed
        if len(strata) == 1:
            raise AsmdbError(
                f"only {len(strata[0]['reference'])} sample tile(s) reviewed (answered confirmed "
                "or rejected for both periods): review at least 2"
            )
        small = weak[0]
        others = [s for s in strata if s is not small]
        wanted = {NEIGHBOUR.get(c) for c in small["classes"]}
        partners = [s for s in others if wanted & set(s["classes"])]
        into = partners[0] if partners else max(others, key=lambda s: s["area_km2"])
        collapsed.append(
            {"stratum": small["name"], "reviewed": len(small["reference"]), "into": into["name"]}
        )
        into["name"] = f"{into['name']}+{small['name']}"
        into["classes"] = into["classes"] + small["classes"]
        into["members"] = into["members"] + small["members"]
        for key in ("tiles", "area_km2"):
            into[key] += small[key]
        for key in ("mapped", "reference", "unit_km2"):
            if key in into and key in small:
                into[key] = list(into[key]) + list(small[key])
        strata = others


def _rows(strata: list[dict], area: float) -> list[dict]:
    rows = []
    for s in strata:
        n = len(s["reference"])
        rows.append(
            {
                "w": s["area_km2"] / area,
                "n": n,
                "fpc": 1 - n / s["tiles"],
                "map": np.asarray(s["mapped"], dtype=object),
                "ref": np.asarray(s["reference"], dtype=object),
                "classes": s["classes"],
                "scale": (
                    np.asarray(s["unit_km2"], dtype=float) / (s["area_km2"] / s["tiles"])
                    if "unit_km2" in s
                    else np.ones(n)
                ),
            }
        )
    return rows


def change_estimates(strata: list[dict], classes: tuple[str, ...] = SAMPLED_CLASSES) -> dict:
    """The estimators on per-stratum samples.

    Each stratum: {"name", "tiles" (N_h), "area_km2", "mapped" (each sample tile's map
    class), "reference" (its reference class), and optionally "unit_km2" (its area; tiles
    shrink toward the poles)}. A tile counts by its area relative to its stratum's mean tile
    (as Horvitz-Thompson estimates of area; with equal tiles, Olofsson's proportions), so a
    stratum reviewed whole gives its exact area. Returns, per class, the area with its 95%
    interval, the mapped area, user's and producer's accuracy; the overall accuracy; the error
    matrix in proportions of the area; and the strata after collapsing.
    """
    strata = [{"classes": [s["name"]], **s} for s in strata]
    mapped_km2 = {k: 0.0 for k in classes}
    for s in strata:
        if s["name"] in mapped_km2:
            mapped_km2[s["name"]] += s["area_km2"]
    # No review at all: no mean; merged for the estimate too. Fewer than two: pooled for the
    # variance, as a group of the strata kept.
    kept, collapsed = collapse_strata(strata, minimum=1)
    groups, pooled_notes = collapse_strata(kept)
    collapsed += pooled_notes
    area = sum(s["area_km2"] for s in kept)
    if area <= 0:
        raise AsmdbError("the change has no sampled tiles (all no_data?)")
    rows = _rows(kept, area)
    for group, pooled in zip(groups, _rows(groups, area), strict=True):
        for member in group["members"]:
            rows[member]["pooled"] = pooled
    sampled = [r for r in rows if r["fpc"] > 0]  # a stratum reviewed whole adds no variance

    def mean(values: np.ndarray) -> float:
        return float(values.mean()) if len(values) else 0.0

    exact = not sampled

    def total(indicator) -> tuple[float, float, int, bool]:
        value = sum(r["w"] * mean(r["scale"] * indicator(r)) for r in rows)
        var = 0.0
        for r in sampled:
            g = r["pooled"]
            y = indicator(g).astype(float)
            var += r["w"] ** 2 * r["fpc"] * _spread(y, g["scale"] * y) / r["n"]
        return value, float(np.sqrt(var)), sum(r["n"] for r in rows), exact

    def ratio(num, den, mapped: str | None = None) -> tuple[float | None, float | None, int, bool]:
        """A ratio of two totals; with `mapped`, the denominator is the tiles the map calls
        that class, which only strata of that class hold: the others add no uncertainty."""
        units = int(sum(den(r).sum() for r in rows))
        y_total = sum(r["w"] * mean(r["scale"] * num(r)) for r in rows)
        x_total = sum(r["w"] * mean(r["scale"] * den(r)) for r in rows)
        if x_total == 0:
            return None, None, 0, exact
        known = all(r["fpc"] == 0 or (mapped and mapped not in r["classes"]) for r in rows)
        value = y_total / x_total
        var = 0.0
        for r in sampled:
            g = r["pooled"]
            y, x = g["scale"] * num(g), g["scale"] * den(g)
            cov = np.cov(y, x, ddof=1)[0, 1]
            residual = y.var(ddof=1) + value**2 * x.var(ddof=1) - 2 * value * cov
            var += r["w"] ** 2 * r["fpc"] * residual / r["n"]
        return value, float(np.sqrt(max(var / x_total**2, 0.0))), units, known

    per_class = {}
    for k in classes:
        mapped, found, both = _where("map", k), _where("ref", k), _agree_on(k)
        per_class[k] = {
            "area_km2": _interval(*total(found), scale=area),
            "mapped_area_km2": mapped_km2[k],
            "users_accuracy": _interval(*ratio(both, mapped, k)),
            "producers_accuracy": _interval(*ratio(both, found)),
        }
    matrix = {
        m: {k: total(lambda r, m=m, k=k: (r["map"] == m) & (r["ref"] == k))[0] for k in classes}
        for m in classes
    }
    return {
        "total_area_km2": area,
        "classes": per_class,
        "overall_accuracy": _interval(*total(lambda r: r["map"] == r["ref"])),
        "error_matrix": matrix,
        "reviewed": int(sum(r["n"] for r in rows)),
        "strata": [
            {
                "name": s["name"],
                "tiles": s["tiles"],
                "area_km2": s["area_km2"],
                "reviewed": len(s["reference"]),
            }
            for s in kept
        ],
        "collapsed": collapsed,
    }


def estimate_change(
    engine: Engine,
    change_id: int | None = None,
    zones: str | None = None,
    zone_field: str | None = None,
) -> dict:
    """Estimate from a change's reviewed sample (default: the newest change), store it with the
    change (`asmdb.changes.area_estimate`), and return it; with `zones` and `zone_field`, also
    per zone, the zones kept with the change (asm_db.review.change_zones)."""
    if (zones is None) != (zone_field is None):
        raise AsmdbError("--zones and --zone-field go together: name the file and its field")
    from asm_db.change.compute import get_change, read_zones

    zone_rows = read_zones(zones, zone_field) if zones is not None else None
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        change = get_change(pg, change_id)
        change_id = change.change_id
        sizes = pg.execute(
            load_sql("review/change_strata"), {"change_id": change_id, **sql_params()}
        ).fetchall()
        sample = pg.execute(load_sql("review/change_sample"), {"change_id": change_id}).fetchall()
        if not sample:
            raise AsmdbError(
                f"change {change_id} has no review sample: `asmdb review queue --change "
                f"{change_id}` draws one"
            )
        by_stratum: dict[str, list[tuple[str, float]]] = {}
        unreviewed = 0
        for stratum, reference, km2 in sample:
            if reference is None:
                unreviewed += 1
            else:
                by_stratum.setdefault(stratum, []).append((reference, float(km2)))
        if not by_stratum:
            raise AsmdbError(
                f"no sample tile of change {change_id} is answered yet (answer_from and "
                f"answer_to, confirmed or rejected); `asmdb review export OUT.gpkg --change "
                f"{change_id}` writes them to review"
            )
        strata = [
            {
                "name": name,
                "tiles": int(tiles),
                "area_km2": float(km2),
                "mapped": [name] * len(by_stratum.get(name, [])),
                "reference": [r for r, _ in by_stratum.get(name, [])],
                "unit_km2": [a for _, a in by_stratum.get(name, [])],
            }
            for name, tiles, km2 in sizes
        ]
        estimate = {
            "change_id": change_id,
            "from_map": change.from_map,
            "to_map": change.to_map,
            "threshold": change.threshold,
            **change_estimates(strata),
            "not_reviewed_in_sample": unreviewed,
        }
        if zone_rows is not None:
            from asm_db.review.change_zones import store_zone_estimates, zone_estimates

            estimate["zones"] = zone_estimates(pg, change_id, zone_rows)
            store_zone_estimates(pg, change_id, estimate["zones"])
        pg.execute(
            load_sql("review/change_estimate_save"),
            {"change_id": change_id, "estimate": Jsonb(estimate)},
        )
    return estimate
