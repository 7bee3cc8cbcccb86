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
so. The estimator, its collapsing and its intervals are `asm_db.review.estimation`'s (the one
estimator of maps and changes alike). The model-assisted estimate of each class uses the two
maps' calibrated probabilities as the auxiliary: new p_to (1 - p_from), gone p_from (1 - p_to),
persistent p_from p_to, absent (1 - p_from)(1 - p_to), the probability of that class if the two
periods' errors are independent. An accuracy with no tile to divide by (a class neither mapped
nor found) is null, never NaN.
"""

from __future__ import annotations

from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.change.classes import SAMPLED_CLASSES, sql_params
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.review import estimation

# Collapse partner: the class the later map calls the same (mined, or not, at the end).
NEIGHBOUR = {"new": "persistent", "persistent": "new", "gone": "absent", "absent": "gone"}


def _partner(i: int, strata: list[dict]) -> int:
    """The stratum a stratum with too few reviews joins: its neighbour class, else the largest."""
    wanted = {NEIGHBOUR.get(c) for c in strata[i]["name"].split("+")}
    others = [j for j in range(len(strata)) if j != i]
    for j in others:
        if wanted & set(strata[j]["name"].split("+")):
            return j
    return max(others, key=lambda j: strata[j]["area_km2"])


def collapse_strata(strata: list[dict], minimum: int = 2) -> tuple[list[dict], list[dict]]:
    """Merge every stratum with fewer than `minimum` reviewed tiles (and not reviewed whole)
    into its neighbour; returns the strata left and what was merged into what."""
    try:
        return estimation.collapse([s for s in strata if s["tiles"] > 0], minimum, _partner, _join)
    except estimation.TooFewReviews as exc:
        raise AsmdbError(
            f"only {exc.reviewed} sample tile(s) reviewed (answered confirmed or rejected for "
            "both periods): review at least 2"
        ) from None


def _join(into: dict, small: dict) -> str:
    return f"{into['name']}+{small['name']}"


def change_estimates(strata: list[dict], classes: tuple[str, ...] = SAMPLED_CLASSES) -> dict:
    """The estimators on per-stratum samples (`asm_db.review.estimation.estimate`).

    Each stratum: {"name", "tiles" (N_h), "area_km2", "mapped" (each sample tile's map
    class), "reference" (its reference class), and optionally "unit_km2" (its area; tiles
    shrink toward the poles), "aux" and "aux_mean" (the model-assisted estimate's auxiliary),
    "classes" (the map classes its tiles hold; default: its name)}. Returns, per class, the
    area with its 95% interval, the mapped area, user's and producer's accuracy; the overall
    accuracy; the error matrix in proportions of the area; and the strata after collapsing.
    """
    strata = [{"classes": [s["name"]], **s} for s in strata]  # unless given
    mapped_km2 = {k: 0.0 for k in classes}
    for s in strata:
        if s["name"] in mapped_km2:
            mapped_km2[s["name"]] += s["area_km2"]
    try:
        e = estimation.estimate(strata, classes, _partner, _join)
    except estimation.TooFewReviews as exc:
        raise AsmdbError(
            f"only {exc.reviewed} sample tile(s) reviewed (answered confirmed or rejected for "
            "both periods): review at least 2"
        ) from None
    for k in classes:
        e["classes"][k]["mapped_area_km2"] = mapped_km2[k]
    return e


def auxiliary(p_from: float, p_to: float) -> dict[str, float]:
    """Each change class's probability from the two maps' probabilities of a tile."""
    return {
        "new": (1 - p_from) * p_to,
        "gone": p_from * (1 - p_to),
        "persistent": p_from * p_to,
        "absent": (1 - p_from) * (1 - p_to),
    }


def estimate_change(
    engine: Engine,
    change_id: int | None = None,
    zones: str | None = None,
    zone_field: str | None = None,
    sample_of: int | None = None,
) -> dict:
    """Estimate from a change's reviewed sample (default: the newest change), store it with the
    change (`asmdb.changes.area_estimate`), and return it; with `zones` and `zone_field`, also
    per zone, the zones kept with the change (asm_db.review.change_zones).

    With `sample_of`, the sample reviewed is that other change's (of the same two periods: its
    answers are the truth of those periods), and its strata, that change's classes, differ from
    the classes of the change estimated (Stehman 2014): each sample tile keeps its stratum and
    its inclusion probability, and takes its map class and probabilities from this change."""
    if (zones is None) != (zone_field is None):
        raise AsmdbError("--zones and --zone-field go together: name the file and its field")
    from asm_db.change.compute import get_change, read_zones

    zone_rows = read_zones(zones, zone_field) if zones is not None else None
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        change = get_change(pg, change_id)
        change_id = change.change_id
        drawn_from = change
        if sample_of is not None:
            if zone_rows is not None:
                raise AsmdbError("--zones: per zone, a change is estimated from its own sample")
            drawn_from = get_change(pg, sample_of)
            if (drawn_from.from_period, drawn_from.to_period) != (
                change.from_period,
                change.to_period,
            ):
                raise AsmdbError(
                    f"change {sample_of}'s sample was answered for other periods than change "
                    f"{change_id}'s: its answers say nothing of change {change_id}"
                )
        strata_id = drawn_from.change_id
        params = {"change_id": strata_id, "map_change_id": change_id, **sql_params()}
        sizes = pg.execute(load_sql("review/change_strata"), params).fetchall()
        mapped_sizes = pg.execute(
            load_sql("review/change_strata"), {"change_id": change_id, **sql_params()}
        ).fetchall()
        means = {
            row[0]: dict(zip(SAMPLED_CLASSES, map(float, row[1:]), strict=True))
            for row in pg.execute(load_sql("review/change_auxiliary"), params)
        }
        sample = pg.execute(load_sql("review/change_sample"), params).fetchall()
        if not sample:
            raise AsmdbError(
                f"change {strata_id} has no review sample: `asmdb review queue --change "
                f"{strata_id}` draws one"
            )
        by_stratum: dict[str, list[tuple]] = {}
        unreviewed = 0
        for stratum, reference, km2, mapped, p_from, p_to in sample:
            if reference is None:
                unreviewed += 1
            else:
                by_stratum.setdefault(stratum, []).append(
                    (reference, float(km2), mapped, auxiliary(p_from, p_to))
                )
        if not by_stratum:
            raise AsmdbError(
                f"no sample tile of change {strata_id} is answered yet (answer_from and "
                f"answer_to, confirmed or rejected); `asmdb review export OUT.gpkg --change "
                f"{strata_id}` writes them to review"
            )
        strata = []
        for name, tiles, km2 in sizes:
            rows = by_stratum.get(name, [])
            strata.append(
                {
                    "name": name,
                    "tiles": int(tiles),
                    "area_km2": float(km2),
                    "mapped": [r[2] for r in rows],
                    "reference": [r[0] for r in rows],
                    "unit_km2": [r[1] for r in rows],
                    "aux": {k: [r[3][k] for r in rows] for k in SAMPLED_CLASSES},
                    "aux_mean": means[name],
                    # its own change's strata are its map classes; another's are not
                    "classes": [name] if sample_of is None else None,
                }
            )
        found = change_estimates(strata)
        mapped_km2 = {name: float(km2) for name, _, km2 in mapped_sizes}
        for k, entry in found["classes"].items():
            entry["mapped_area_km2"] = mapped_km2.get(k, 0.0)
        estimate = {
            "change_id": change_id,
            "from_map": change.from_map,
            "to_map": change.to_map,
            "threshold": change.threshold,
            **found,
            "not_reviewed_in_sample": unreviewed,
        }
        if sample_of is not None:
            estimate["sample_of"] = strata_id
        if zone_rows is not None:
            from asm_db.review.change_zones import store_zone_estimates, zone_estimates

            estimate["zones"] = zone_estimates(pg, change_id, zone_rows)
            store_zone_estimates(pg, change_id, estimate["zones"])
        pg.execute(
            load_sql("review/change_estimate_save"),
            {"change_id": change_id, "estimate": Jsonb(estimate)},
        )
    return estimate
