"""Plan the review sample before anyone goes to the field, and extend it later.

A plan gives each stratum the number of tiles to review so that one class's area (new mining,
say) has at most a target standard error, from the user's accuracies anticipated for the map's
classes (Olofsson et al. 2014, section 5.1.1: Cochran's total for stratified random sampling,
`min_per_stratum` in each rare stratum, the rest in proportion to size; the pure arithmetic is
`asm_db.review.estimation.plan`). Anticipated accuracies are given, or those the map's
calibration implies: the area-weighted mean calibrated probability of a stratum's own class
over its tiles (for the change class new, the mean of p_to (1 - p_from)). The anticipated share
of the class in a stratum of another class is the rest, 1 - U, shared among the other classes
as the calibration shares it (for a map's two classes, exactly 1 - U); a map's probability
class on both sides of the threshold keeps its calibrated share.

A plan is stored (`asmdb.review_plans`); the last one of a change or a map is what
`review queue --plan` draws and what `review queue --extend N` fills first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.change.classes import SAMPLED_CLASSES, sql_params
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.probability_classes import CLASSES as PROBABILITY_CLASSES
from asm_db.probability_classes import MAP_THRESHOLD
from asm_db.probability_classes import sql_params as map_sql_params
from asm_db.review import estimation
from asm_db.review.options import PlanOptions

MAP_CLASSES = ("asm", "not")
PLAN = PlanOptions()


def change_design(pg, change_id: int) -> dict[str, dict]:
    """Each stratum of a change's sample (its sampled change classes): tiles, area (km2), its
    map class (itself) and each class's calibrated mean probability over its tiles."""
    params = {"change_id": change_id, "map_change_id": change_id, **sql_params()}
    means = {
        row[0]: dict(zip(SAMPLED_CLASSES, map(float, row[1:]), strict=True))
        for row in pg.execute(load_sql("review/change_auxiliary"), params)
    }
    return {
        name: {
            "tiles": int(tiles),
            "area_km2": float(km2),
            "map_class": name,
            "calibrated": means[name],
        }
        for name, tiles, km2 in pg.execute(load_sql("review/change_strata"), params).fetchall()
    }


def map_design(pg, map_id: int, threshold: float = MAP_THRESHOLD) -> dict[str, dict]:
    """Each stratum of a map's sample (its probability classes): tiles, area (km2), its map
    class (asm at or above the threshold, not below, None where it holds both) and the
    calibrated mean probability of each map class over its tiles."""
    rows = pg.execute(
        load_sql("review/strata_sizes"),
        {"map_id": map_id, "threshold": threshold, **map_sql_params()},
    ).fetchall()
    design = {}
    for number, tiles, km2, _, mean in rows:
        klass = PROBABILITY_CLASSES[number - 1]
        mapped = "asm" if klass.lower >= threshold else "not" if klass.upper <= threshold else None
        p = float(mean or 0.0)
        design[klass.stratum] = {
            "tiles": int(tiles),
            "area_km2": float(km2),
            "map_class": mapped,
            "calibrated": {"asm": p, "not": 1 - p},
        }
    return design


def anticipated(
    design: Mapping[str, dict], klass: str, users_accuracy: Mapping[str, float]
) -> dict[str, dict]:
    """Per stratum: its map class, the user's accuracy anticipated for it and where it came
    from (given, or the calibration), and the share of `klass` anticipated in it."""
    out = {}
    for name, s in design.items():
        c, cal = s["map_class"], s["calibrated"]
        if c is None:
            out[name] = {
                "map_class": None,
                "users_accuracy": None,
                "source": "calibration (the stratum holds both map classes)",
                "share": cal[klass],
            }
            continue
        given = c in users_accuracy
        u = float(users_accuracy[c]) if given else cal[c]
        if c == klass:
            share = u
        else:  # the errors, 1 - U, shared among the other classes as the calibration shares them
            others = 1 - cal[c]
            rest = len(cal) - 1
            share = (1 - u) * (cal[klass] / others if others > 0 else 1 / rest)
        out[name] = {
            "map_class": c,
            "users_accuracy": u,
            "source": "given" if given else "calibration",
            "share": min(max(share, 0.0), 1.0),
        }
    return out


def _check(
    classes: tuple[str, ...],
    klass: str,
    target_se_km2: float | None,
    target_moe: float | None,
    users_accuracy: Mapping[str, float],
    min_per_stratum: int,
) -> None:
    known = ", ".join(classes)
    if klass not in classes:
        raise AsmdbError(f"--class {klass}: not one of the classes here ({known})")
    if (target_se_km2 is None) == (target_moe is None):
        raise AsmdbError("name one target: --target-se KM2 or --target-moe PERCENT")
    if target_se_km2 is not None and not (math.isfinite(target_se_km2) and target_se_km2 > 0):
        raise AsmdbError(f"--target-se {target_se_km2:g}: must be more than 0 km2")
    if target_moe is not None and not (math.isfinite(target_moe) and target_moe > 0):
        raise AsmdbError(f"--target-moe {target_moe:g}: must be more than 0 per cent")
    for c, u in users_accuracy.items():
        if c not in classes:
            raise AsmdbError(f"--users-accuracy {c}={u:g}: {c} is not one of {known}")
        if not (math.isfinite(u) and 0 < u <= 1):
            raise AsmdbError(f"--users-accuracy {c}={u:g}: must be more than 0 and at most 1")
    if min_per_stratum < 0:
        raise AsmdbError("--min-per-stratum must be 0 or more")


def plan_design(
    design: Mapping[str, dict],
    klass: str,
    *,
    target_se_km2: float | None = None,
    target_moe: float | None = None,
    users_accuracy: Mapping[str, float] | None = None,
    min_per_stratum: int = PLAN.min_per_stratum,
) -> dict:
    """The plan of a sample of `design`'s strata (see `change_design`, `map_design`) for the
    area of `klass`: a target standard error in km2, or a margin of error (95%) in per cent of
    the class's anticipated area."""
    users_accuracy = dict(users_accuracy or {})
    classes = tuple(next(iter(design.values()))["calibrated"]) if design else (klass,)
    _check(classes, klass, target_se_km2, target_moe, users_accuracy, min_per_stratum)
    if not design:
        raise AsmdbError("no tiles to plan a sample of")
    area = sum(s["area_km2"] for s in design.values())
    sizes = {h: s["tiles"] for h, s in design.items()}
    weights = {h: s["area_km2"] / area for h, s in design.items()}
    expected = anticipated(design, klass, users_accuracy)
    share = {h: e["share"] for h, e in expected.items()}
    class_km2 = area * sum(weights[h] * share[h] for h in design)
    if target_moe is not None:
        if class_km2 <= 0:
            raise AsmdbError(
                f"--target-moe: {klass} is anticipated to cover no area; give --target-se KM2"
            )
        target_se_km2 = target_moe / 100 * class_km2 / estimation.Z95
    take, cochran, se = estimation.plan(
        sizes, weights, share, target_se_km2 / area, min_per_stratum
    )
    return {
        "class": klass,
        "target": {"se_km2": target_se_km2, "moe_percent": target_moe},
        "expected_se_km2": se * area if math.isfinite(se) else None,
        "anticipated_area_km2": class_km2,
        "total_area_km2": area,
        "cochran_total": cochran,
        "sample_size": sum(take.values()),
        "min_per_stratum": min_per_stratum,
        "users_accuracy": {
            c: {
                "value": users_accuracy.get(c),
                "source": "given" if c in users_accuracy else "calibration",
            }
            for c in classes
        },
        "strata": [
            {
                "name": h,
                "tiles": sizes[h],
                "area_km2": design[h]["area_km2"],
                "sample_size": take[h],
                **expected[h],
            }
            for h in design
        ],
    }


def plan_sample(
    engine: Engine,
    *,
    change_id: int | None = None,
    run_id: int | None = None,
    klass: str | None = None,
    target_se_km2: float | None = None,
    target_moe: float | None = None,
    users_accuracy: Mapping[str, float] | None = None,
    min_per_stratum: int = PLAN.min_per_stratum,
) -> dict:
    """Plan the review sample of a change (with `change_id`) or of a run's map (default: the
    promoted map), store the plan and return it (`plan_design`, with the plan's id)."""
    from asm_db.change.compute import get_change
    from asm_db.maps.registry import resolve_map

    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        if change_id is not None:
            change_id = get_change(pg, change_id).change_id
            design, map_id, default = change_design(pg, change_id), None, "new"
        else:
            chosen = resolve_map(pg, run_id=run_id)
            run_id, map_id = chosen.run_id, chosen.map_id
            design, default = map_design(pg, map_id), "asm"
        found = plan_design(
            design,
            klass or default,
            target_se_km2=target_se_km2,
            target_moe=target_moe,
            users_accuracy=users_accuracy,
            min_per_stratum=min_per_stratum,
        )
        found = {"change_id": change_id, "run_id": run_id, "map_id": map_id, **found}
        (plan_id,) = pg.execute(
            load_sql("review/plan_save"),
            {
                "change_id": change_id,
                "map_id": map_id,
                "class": found["class"],
                "target_se_km2": found["target"]["se_km2"],
                "expected_se_km2": found["expected_se_km2"],
                "sample_sizes": Jsonb({s["name"]: s["sample_size"] for s in found["strata"]}),
                "plan": Jsonb(found),
            },
        ).fetchone()
    return {"plan_id": plan_id, **found}


def last_plan(pg, *, change_id: int | None = None, map_id: int | None = None) -> dict | None:
    """The sample sizes ({stratum: tiles}) of the last plan of a change or a map, or None."""
    row = pg.execute(
        load_sql("review/plan_last"), {"change_id": change_id, "map_id": map_id}
    ).fetchone()
    return None if row is None else {"plan_id": row[0], "sample_sizes": dict(row[1])}
