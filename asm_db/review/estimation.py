"""The review sample's design and its estimates, as pure functions with no database: the
stratified draw (of a map's probability classes and of a change's classes alike), its
extension, its planning, and one estimator of area and accuracy with 95% intervals.

The estimator is Olofsson et al. 2014 (Remote Sensing of Environment 148: 42-57) with
Stehman's 2014 ratio estimators for the accuracies, which equal Olofsson's while every stratum
is one map class and stay right where they are not: a map's probability classes, finer than its
two map classes, or the strata of another map whose sample is reused (Stehman 2014, "Estimating
area and map accuracy for stratified random sampling when the strata are different from the
map classes"). A map is the case of two classes (`asm`, `not`); a change has four.

Each sample tile counts by its area relative to its stratum's mean tile (a Horvitz-Thompson
estimate of area: with equal tiles, Olofsson's proportions), so a stratum reviewed whole gives
its exact area. A stratum with fewer than two reviewed tiles (and not reviewed whole) is
collapsed into a partner for the variance (Cochran 1977, 5A.12); one with none at all has no
mean and is merged for the estimate too.

Intervals: Wilson's score interval on the design's effective sample size p(1 - p) / var(p),
not capped at the number of tiles reviewed: stratification can make a sample worth more than a
simple random sample of its size, and the interval must keep that (Olofsson's worked example:
n = 640 reviewed, an effective 1,890). Its half-width is then within a few per cent of 1.96 SE,
it stays within [0, 1], and it widens on the side a rare class is uncertain on.

The model-assisted estimate is the combined generalised regression (GREG) estimator with the
map's calibrated probability as the auxiliary (Cochran 1977, 7.7; Stehman 2013 and McRoberts'
model-assisted estimators for maps of probabilities): the stratified estimate corrected by the
slope times the difference between the auxiliary's known mean and its sample mean. It is
approximately unbiased whatever the model, and narrower where the probability predicts the
reference well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from asm_db.errors import AsmdbError

Z95 = 1.959964


class TooFewReviews(AsmdbError):
    """Fewer than two reviewed tiles in all: nothing to estimate a variance from."""

    def __init__(self, reviewed: int) -> None:
        self.reviewed = reviewed
        super().__init__(f"{reviewed} reviewed sample tile(s): review at least {2 - reviewed} more")


# ---------------------------------------------------------------------------- the draw


def draw(
    members: Mapping[str, np.ndarray], take: Mapping[str, int], rng: np.random.Generator
) -> list[tuple[int, str, float]]:
    """(index, stratum, inclusion probability) of `take[h]` tiles drawn at random without
    replacement from each stratum's `members` (indices), in the order of `take`, then of
    index; the inclusion probability of each is n_h / N_h."""
    drawn = []
    for h, n in take.items():
        pool = np.asarray(members[h])
        if len(pool) == 0 or n <= 0:
            continue
        chosen = rng.choice(pool, size=min(n, len(pool)), replace=False)
        drawn += [(int(i), h, len(chosen) / len(pool)) for i in sorted(chosen)]
    return drawn


def extend(
    members: Mapping[str, np.ndarray],
    sampled: Mapping[str, Sequence[int]],
    add: Mapping[str, int],
    rng: np.random.Generator,
) -> tuple[list[tuple[int, str]], dict[str, float]]:
    """Draw `add[h]` more tiles from each stratum's tiles not yet `sampled`; returns the new
    (index, stratum) and each stratum's inclusion probability for the union, (n_h + m_h) / N_h.

    A simple random sample of m of the N - n tiles a simple random sample of n left out makes,
    with it, a simple random sample of n + m: the union is stratified random sampling of the
    larger size, and every tile of the stratum, old or new, has that inclusion probability."""
    new, inclusion = [], {}
    for h, pool in members.items():
        pool = np.asarray(pool)
        have = set(int(i) for i in sampled.get(h, ()))
        free = np.array([i for i in pool if int(i) not in have], dtype=np.int64)
        m = min(int(add.get(h, 0)), len(free))
        if m > 0:
            new += [(int(i), h) for i in sorted(rng.choice(free, size=m, replace=False))]
        if len(pool):
            inclusion[h] = (len(have) + m) / len(pool)
    return new, inclusion


def allocate(sizes: Mapping[str, int], sample_size: int, min_per_stratum: int) -> dict[str, int]:
    """Tiles to draw per stratum: `min_per_stratum` each (all, where fewer), then the rest of
    `sample_size` in proportion to the strata's sizes (largest remainders), never more than a
    stratum holds (Olofsson et al. 2014, section 5.1)."""
    take = {h: min(n, min_per_stratum) for h, n in sizes.items()}
    rest = sample_size - sum(take.values())
    while rest > 0:
        room = {h: sizes[h] - take[h] for h in sizes if sizes[h] > take[h]}
        if not room:
            break
        weight = sum(sizes[h] for h in room)
        quota = {h: rest * sizes[h] / weight for h in room}
        whole = {h: min(int(quota[h]), room[h]) for h in room}
        if sum(whole.values()) == 0:  # fewer left than strata with room: largest quotas first
            for h in sorted(room, key=lambda h: (-quota[h], h))[:rest]:
                take[h] += 1
            break
        for h, n in whole.items():
            take[h] += n
        rest -= sum(whole.values())
    return take


# ---------------------------------------------------------------------------- planning


def apportion(n: int, weight: Mapping[str, float], room: Mapping[str, int]) -> dict[str, int]:
    """`n` tiles shared in proportion to `weight` (largest remainders), never more than a
    stratum's `room`; what a full stratum cannot take goes to the others, and where no weight
    is left, in proportion to the room left."""
    take = {h: 0 for h in room}
    left = n
    while left > 0:
        open_ = {h: room[h] - take[h] for h in room if room[h] > take[h]}
        if not open_:
            break
        w = {h: max(float(weight.get(h, 0.0)), 0.0) for h in open_}
        if sum(w.values()) <= 0:
            w = {h: float(r) for h, r in open_.items()}
        total = sum(w.values())
        quota = {h: left * w[h] / total for h in open_}
        whole = {h: min(int(quota[h]), open_[h]) for h in open_}
        if sum(whole.values()) == 0:
            for h in sorted(open_, key=lambda h: (-quota[h], h))[:left]:
                take[h] += 1
            left -= min(left, len(open_))
            continue
        for h, k in whole.items():
            take[h] += k
        left -= sum(whole.values())
    return take


def extension_sizes(
    n: int,
    room: Mapping[str, int],
    shortfall: Mapping[str, int] | None,
    variance: Mapping[str, float],
) -> dict[str, int]:
    """How many of `n` more tiles each stratum gets: first the planned sizes a stratum still
    lacks (`shortfall`, shared in proportion to it when `n` is less), then the rest in
    proportion to each stratum's part of the estimate's `variance`; never more than a
    stratum's `room` (its tiles not yet sampled)."""
    take = {h: 0 for h in room}
    if shortfall:
        need = {h: min(max(int(shortfall.get(h, 0)), 0), room[h]) for h in room}
        if sum(need.values()) <= n:
            take = need
        else:
            take = apportion(n, need, need)
    rest = n - sum(take.values())
    if rest > 0:
        more = apportion(rest, variance, {h: room[h] - take[h] for h in room})
        take = {h: take[h] + more[h] for h in room}
    return take


def expected_se(
    sizes: Mapping[str, int], weights: Mapping[str, float], share: Mapping[str, float], take
) -> float:
    """The standard error (as a share of the area) of a class's area that samples of `take[h]`
    tiles per stratum would give, where `share[h]` of stratum h is that class (anticipated)."""
    var = 0.0
    for h, big_n in sizes.items():
        n = take.get(h, 0)
        p = min(max(share.get(h, 0.0), 0.0), 1.0)
        if n >= big_n:
            continue
        if n == 0:
            return math.inf if p * (1 - p) > 0 else var
        var += weights[h] ** 2 * (1 - n / big_n) * p * (1 - p) / n
    return math.sqrt(var)


def plan(
    sizes: Mapping[str, int],
    weights: Mapping[str, float],
    share: Mapping[str, float],
    target_se: float,
    min_per_stratum: int,
) -> tuple[dict[str, int], int, float]:
    """The sample sizes per stratum that give a class's area a standard error of at most
    `target_se` (a share of the area), with `share[h]` the class's anticipated share of
    stratum h (the stratum's own class: its user's accuracy); returns the sizes, Cochran's
    total and the expected standard error.

    Cochran's formula for stratified random sampling (Olofsson et al. 2014, eq. 13) gives the
    total: n = (sum W_h S_h)^2 / (SE^2 + sum W_h S_h^2 / N), S_h = sqrt(p_h (1 - p_h)). It is
    shared as Olofsson et al. recommend, `min_per_stratum` each for the rare strata and the
    rest in proportion to size; as that is not the optimal allocation, the total grows until
    the expected standard error reaches the target (or every tile is taken)."""
    if target_se <= 0:
        raise AsmdbError("the target standard error must be more than 0")
    total_tiles = sum(sizes.values())
    p = {h: min(max(share.get(h, 0.0), 0.0), 1.0) for h in sizes}
    s = {h: math.sqrt(p[h] * (1 - p[h])) for h in sizes}
    top = sum(weights[h] * s[h] for h in sizes) ** 2
    bottom = target_se**2 + sum(weights[h] * s[h] ** 2 for h in sizes) / total_tiles
    cochran = min(total_tiles, math.ceil(top / bottom)) if bottom > 0 else 0
    n = cochran
    while True:
        take = allocate(sizes, n, min_per_stratum)
        se = expected_se(sizes, weights, share, take)
        if se <= target_se or sum(take.values()) >= total_tiles:
            return take, cochran, se
        n = max(n + 1, math.ceil(n * 1.02))


# ---------------------------------------------------------------------------- the estimator


def wilson(p: float, n: float) -> tuple[float, float]:
    """Wilson's 95% score interval of a proportion `p` on a sample of (effective) size `n`."""
    z2 = Z95**2
    shrink = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / shrink
    half = Z95 / shrink * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def interval(
    value: float | None,
    se: float | None,
    n: int,
    exact: bool = False,
    scale: float = 1.0,
    known: tuple[float, float] = (0.0, 0.0),
) -> dict:
    """A proportion, its 95% interval and standard error, times `scale`.

    The interval is Wilson's on the effective sample size p(1 - p) / se^2 (not capped at the
    `n` tiles behind the estimate: the design's variance decides the width), or on `n` where
    that has no meaning (p at 0 or 1, or no variance). `known` is (the part of the value from
    strata reviewed whole, their share of the area): that part has no error, so the interval is
    that of the rest, a proportion of the area sampled, where a rare class is rarer and its
    interval leans further toward the side it is uncertain on. Only an `exact` value (every
    stratum reviewed whole) has no width. No estimate (nothing to divide by) is null, never
    NaN."""
    if value is None or se is None or not (math.isfinite(value) and math.isfinite(se)) or n == 0:
        return {"value": None, "low": None, "high": None, "se": None}
    value = min(max(float(value), 0.0), 1.0)
    low = high = value
    if not exact:
        fixed, weight = known
        share = 1.0 - weight  # of the area, sampled
        p = min(max((value - fixed) / share, 0.0), 1.0) if share > 0 else value
        s = se / share if share > 0 else se
        n_eff = p * (1 - p) / s**2 if p * (1 - p) > 0 and s > 0 else n
        low, high = (fixed + share * x for x in wilson(p, n_eff))
    return {"value": value * scale, "low": low * scale, "high": high * scale, "se": se * scale}


def spread(y: np.ndarray, z: np.ndarray) -> float:
    """The sample variance of `z`, a 0/1 indicator `y` weighted by the tiles' areas, within a
    stratum, where a sample holding none (or only) of the class counts as if half a tile had
    gone the other way: a rare class the sample missed in a large stratum is not certainly
    absent from it."""
    n, found = len(y), float(y.sum())
    if 0 < found < n:
        return float(z.var(ddof=1))
    p = 0.5 / (n + 1)  # the same for all and for none
    return n / (n - 1) * p * (1 - p)


def collapse(
    strata: list[dict],
    minimum: int,
    partner: Callable[[int, list[dict]], int],
    join: Callable[[dict, dict], str],
) -> tuple[list[dict], list[dict]]:
    """Merge every stratum with fewer than `minimum` reviewed tiles (and not reviewed whole)
    into `partner(its position, strata)`, named `join(into, small)`, until none is left;
    returns the strata left and what was merged into what ({"stratum", "reviewed", "into"}).
    Each stratum left lists in `members` the positions, among the strata given, it holds.
    Raises TooFewReviews when not even one stratum of two reviews can be formed."""
    strata = [{**s, "members": list(s.get("members", [i]))} for i, s in enumerate(strata)]
    merged = []
    while True:
        weak = [
            i
            for i, s in enumerate(strata)
            if len(s["reference"]) < minimum and len(s["reference"]) < s["tiles"]
        ]
        if not weak:
            break
        if len(strata) == 1:
            raise TooFewReviews(len(strata[0]["reference"]))
        i = weak[0]
        j = partner(i, strata)
        small, into = strata[i], strata[j]
        merged.append(
            {"stratum": small["name"], "reviewed": len(small["reference"]), "into": into["name"]}
        )
        both = {
            "name": join(into, small),
            "classes": _union(into.get("classes"), small.get("classes")),
            "members": into["members"] + small["members"],
            "tiles": into["tiles"] + small["tiles"],
            "area_km2": into["area_km2"] + small["area_km2"],
        }
        for key in ("mapped", "reference", "unit_km2"):
            both[key] = list(into.get(key, ())) + list(small.get(key, ()))
        aux = {}
        for k in set(into.get("aux", {})) & set(small.get("aux", {})):
            aux[k] = list(into["aux"][k]) + list(small["aux"][k])
        both["aux"] = aux
        if "aux_mean" in into and "aux_mean" in small:
            a, b = into["area_km2"], small["area_km2"]
            both["aux_mean"] = {
                k: (into["aux_mean"][k] * a + small["aux_mean"][k] * b) / (a + b)
                if a + b > 0
                else 0.0
                for k in set(into["aux_mean"]) & set(small["aux_mean"])
            }
        strata[j] = both
        del strata[i]
    if sum(len(s["reference"]) for s in strata) < min(2, sum(s["tiles"] for s in strata)):
        raise TooFewReviews(sum(len(s["reference"]) for s in strata))
    return strata, merged


def _union(a, b):
    return None if a is None or b is None else list(a) + list(b)


def _rows(strata: list[dict], area: float) -> list[dict]:
    rows = []
    for s in strata:
        n = len(s["reference"])
        scale = (
            np.asarray(s["unit_km2"], dtype=float) / (s["area_km2"] / s["tiles"])
            if s.get("unit_km2")
            else np.ones(n)
        )
        rows.append(
            {
                "w": s["area_km2"] / area,
                "n": n,
                "fpc": 1 - n / s["tiles"],
                "map": np.asarray(s["mapped"], dtype=object),
                "ref": np.asarray(s["reference"], dtype=object),
                "classes": s.get("classes"),
                "scale": scale,
                "aux": {k: np.asarray(v, dtype=float) * scale for k, v in s.get("aux", {}).items()},
                "aux_mean": dict(s.get("aux_mean", {})),
            }
        )
    return rows


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


def estimate(
    strata: list[dict],
    classes: Sequence[str],
    partner: Callable[[int, list[dict]], int],
    join: Callable[[dict, dict], str] = lambda into, small: f"{into['name']}+{small['name']}",
) -> dict:
    """Area, accuracies and error matrix from a stratified sample, with 95% intervals.

    Each stratum: {"name", "tiles" (N_h), "area_km2", "mapped" (each reviewed sample tile's
    map class), "reference" (its reference class); optionally "unit_km2" (each tile's area),
    "classes" (the map classes its tiles hold, when it is known that no other: a stratum that
    holds none of class k adds no uncertainty to k's mapped area), and for the model-assisted
    estimate "aux" ({class: each tile's predicted probability of the class}) with "aux_mean"
    ({class: its area-weighted mean over all the stratum's tiles})}. `partner` chooses the
    stratum a stratum with too few reviews is collapsed into.

    Returns, per class, the area (km2) with its interval, the model-assisted area and the
    ratio of its standard error to the stratified one (where the strata carry "aux"), user's
    and producer's accuracy; overall accuracy; the error matrix (shares of the area); the
    strata used and what was collapsed."""
    strata = [s for s in strata if s["tiles"] > 0]
    # No review at all: no mean; merged for the estimate too. Fewer than two: pooled for the
    # variance, as a group of the strata kept.
    kept, collapsed = collapse(strata, 1, partner, join)
    groups, pooled = collapse(kept, 2, partner, join)
    collapsed += pooled
    area = sum(s["area_km2"] for s in kept)
    if area <= 0:
        raise AsmdbError("no tiles to estimate from")
    rows = _rows(kept, area)
    for group, g in zip(groups, _rows(groups, area), strict=True):
        for member in group["members"]:
            # positions in `groups` members are positions among `strata`; map to `kept`
            for r, s in zip(rows, kept, strict=True):
                if member in s["members"]:
                    r["pooled"] = g
    sampled = [r for r in rows if r["fpc"] > 0]  # a stratum reviewed whole adds no variance
    exact = not sampled
    reviewed = int(sum(r["n"] for r in rows))

    census = [r for r in rows if r["fpc"] <= 0]
    census_weight = sum(r["w"] for r in census)

    def total(indicator) -> tuple[float, float, int, bool]:
        value = sum(r["w"] * _mean(r["scale"] * indicator(r)) for r in rows)
        var = 0.0
        for r in sampled:
            g = r["pooled"]
            y = indicator(g).astype(float)
            var += r["w"] ** 2 * r["fpc"] * spread(y, g["scale"] * y) / r["n"]
        return value, math.sqrt(var), reviewed, exact

    def known(indicator) -> tuple[float, float]:
        """The part of a total from strata reviewed whole, and their share of the area."""
        return sum(r["w"] * _mean(r["scale"] * indicator(r)) for r in census), census_weight

    def ratio(num, den, mapped: str | None = None):
        units = int(sum(den(r).sum() for r in rows))
        y_total = sum(r["w"] * _mean(r["scale"] * num(r)) for r in rows)
        x_total = sum(r["w"] * _mean(r["scale"] * den(r)) for r in rows)
        if x_total == 0:
            return None, None, 0, exact
        known = all(
            r["fpc"] == 0 or (mapped and r["classes"] is not None and mapped not in r["classes"])
            for r in rows
        )
        value = y_total / x_total
        var = 0.0
        for r in sampled:
            g = r["pooled"]
            y, x = g["scale"] * num(g), g["scale"] * den(g)
            cov = np.cov(y, x, ddof=1)[0, 1]
            residual = y.var(ddof=1) + value**2 * x.var(ddof=1) - 2 * value * cov
            var += r["w"] ** 2 * r["fpc"] * residual / r["n"]
        return value, math.sqrt(max(var / x_total**2, 0.0)), units, known

    def assisted(k: str) -> tuple[float, float] | None:
        """The combined regression estimate of class k's share and its standard error."""
        if not all(k in r["aux"] and k in r["aux_mean"] for r in rows):
            return None
        c = {id(r): r["w"] ** 2 * r["fpc"] / r["n"] for r in sampled}
        sxy = sxx = 0.0
        for r in sampled:
            g = r["pooled"]
            y, x = g["scale"] * (g["ref"] == k), g["aux"][k]
            sxy += c[id(r)] * np.cov(y.astype(float), x, ddof=1)[0, 1]
            sxx += c[id(r)] * x.var(ddof=1)
        b = sxy / sxx if sxx > 0 else 0.0
        value = sum(
            r["w"]
            * (_mean(r["scale"] * (r["ref"] == k)) + b * (r["aux_mean"][k] - _mean(r["aux"][k])))
            for r in rows
        )
        var = 0.0
        for r in sampled:
            g = r["pooled"]
            y = (g["ref"] == k).astype(float)
            e = g["scale"] * y - b * g["aux"][k]
            residual = float(np.var(e, ddof=1))
            if not 0 < y.sum() < len(y):  # found none (or only): as uncertain as stratified
                residual = max(residual, spread(y, g["scale"] * y))
            var += c[id(r)] * residual
        return value, math.sqrt(var)

    per_class = {}
    for k in classes:
        found = total(lambda r, k=k: r["ref"] == k)
        entry = {
            "area_km2": interval(*found, scale=area, known=known(lambda r, k=k: r["ref"] == k)),
            "mapped_area_km2": None,
            "users_accuracy": interval(
                *ratio(
                    lambda r, k=k: (r["map"] == k) & (r["ref"] == k),
                    lambda r, k=k: r["map"] == k,
                    k,
                )
            ),
            "producers_accuracy": interval(
                *ratio(
                    lambda r, k=k: (r["map"] == k) & (r["ref"] == k), lambda r, k=k: r["ref"] == k
                )
            ),
        }
        ma = assisted(k)
        if ma is not None:
            entry["area_km2_model_assisted"] = interval(
                ma[0], ma[1], reviewed, exact, area, known(lambda r, k=k: r["ref"] == k)
            )
            entry["se_ratio"] = ma[1] / found[1] if found[1] > 0 else None
        per_class[k] = entry
    matrix = {
        m: {k: total(lambda r, m=m, k=k: (r["map"] == m) & (r["ref"] == k))[0] for k in classes}
        for m in classes
    }
    return {
        "total_area_km2": area,
        "classes": per_class,
        "overall_accuracy": interval(*total(lambda r: r["map"] == r["ref"])),
        "error_matrix": matrix,
        "reviewed": reviewed,
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
