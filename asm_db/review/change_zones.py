"""Where change happens: per zone (districts, concessions, protected areas), the area of each
change class the map shows there (exact) and, where the zone holds enough reviewed sample
tiles, the area the reviews estimate with its 95% interval.

The estimate for a zone is the stratified estimator of a domain total (Cochran 1977, 5A.13):
for class k, sum over strata h of N_h / n_h times the sum, over the stratum's reviewed sample
tiles whose centre lies in the zone and whose reference class is k, of their areas; its variance
is sum over h of N_h^2 (1 - n_h / N_h) s_h^2 / n_h, with s_h^2 the variance of that quantity over
all of the stratum's reviewed tiles (zero outside the zone). The interval is normal, cut to
[0, the zone's mapped area]. A stratum whose sample found none of a class in the zone still
counts as uncertain about it (its spread is that of one tile of the class in its sample). A zone with fewer than `MIN_ZONE_REVIEWS` reviewed tiles gets no
interval (it says how many it has) rather than one that cannot be defended.

`store_zone_estimates` keeps the zones (their outlines and estimates) with the change, in
`asmdb.change_zones` and `asmdb.change_zone_estimates`: the view `asmdb.zone_estimates` and
`asmdb export zones` read them.
"""

from __future__ import annotations

import numpy as np
import psycopg

from asm_db.change.classes import SAMPLED_CLASSES, sql_params
from asm_db.db.sqlfiles import load_sql

Z95 = 1.959964
MIN_ZONE_REVIEWS = 10


def zone_estimates(
    pg: psycopg.Connection, change_id: int, zones: list[tuple[str, bytes]]
) -> list[dict]:
    """Per zone (`asm_db.change.compute.read_zones` reads them): the mapped area of each class
    and, with enough reviews, the estimate."""
    from asm_db.change.compute import zone_totals

    mapped = {z["zone"]: z["classes"] for z in zone_totals(pg, change_id, zones)}
    strata = {
        name: (int(tiles), float(km2))
        for name, tiles, km2 in pg.execute(
            load_sql("review/change_strata"), {"change_id": change_id, **sql_params()}
        )
    }
    sample: dict[str, list[tuple[str, float, set[str]]]] = {}
    for stratum, reference, km2, in_zones in pg.execute(
        load_sql("review/change_sample_zones"), {"change_id": change_id}
    ):
        if reference is not None:
            sample.setdefault(stratum, []).append((reference, float(km2), set(in_zones)))
    out = []
    for zone, classes in mapped.items():
        reviewed = sum(1 for rows in sample.values() for *_, z in rows if zone in z)
        entry = {"zone": zone, "mapped": classes, "reviewed": reviewed, "estimated": None}
        if reviewed >= MIN_ZONE_REVIEWS:
            zone_area = sum(c["km2"] for c in classes.values())
            entry["estimated"] = {
                k: _domain_total(strata, sample, zone, k, zone_area) for k in SAMPLED_CLASSES
            }
        else:
            entry["note"] = (
                f"{reviewed} reviewed sample tile(s) in the zone: at least {MIN_ZONE_REVIEWS} "
                "are needed for an interval"
            )
        out.append(entry)
    return out


def _domain_total(strata, sample, zone: str, k: str, zone_area: float) -> dict:
    value = var = 0.0
    for name, (tiles, km2) in strata.items():
        rows = sample.get(name, [])
        n = len(rows)
        if n == 0:
            continue
        y = np.array([a if (r == k and zone in z) else 0.0 for r, a, z in rows])
        value += tiles / n * y.sum()
        if n > 1 and n < tiles:
            # A sample that found none of the class here is not proof there is none: its
            # spread is taken as if one of its tiles (of the stratum's mean area) had been.
            spread = y if y.any() else np.r_[km2 / tiles, np.zeros(n - 1)]
            var += tiles**2 * (1 - n / tiles) * spread.var(ddof=1) / n
    se = float(np.sqrt(var))
    return {
        "value": value,
        "low": max(0.0, value - Z95 * se),
        "high": min(zone_area, value + Z95 * se) if zone_area > 0 else value + Z95 * se,
        "se": se,
    }


def store_zone_estimates(pg: psycopg.Connection, change_id: int, estimates: list[dict]) -> None:
    """Keep the zones staged for `zone_estimates` and their estimates with the change, in place
    of any it had; in the caller's transaction."""
    pg.execute(load_sql("review/change_zones_delete"), {"change_id": change_id})
    ids = dict(
        pg.execute(
            load_sql("review/change_zones_insert"),
            {
                "change_id": change_id,
                "zones": [z["zone"] for z in estimates],
                "reviewed": [z["reviewed"] for z in estimates],
                "notes": [z.get("note") for z in estimates],
            },
        ).fetchall()
    )
    rows = []
    for z in estimates:
        for k in SAMPLED_CLASSES:
            estimated = (z["estimated"] or {}).get(k) or {}
            rows.append(
                {
                    "zone_id": ids[z["zone"]],
                    "class": k,
                    "mapped_km2": z["mapped"][k]["km2"],
                    "mapped_tiles": z["mapped"][k]["tiles"],
                    "area_km2": estimated.get("value"),
                    "low": estimated.get("low"),
                    "high": estimated.get("high"),
                }
            )
    with pg.cursor() as cur:
        cur.executemany(load_sql("review/change_zone_estimates_insert"), rows)
