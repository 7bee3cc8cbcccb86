"""`asmdb change`: where mining started and stopped between two maps, and how many km².

For each tile of either map: both probabilities, their difference (`delta` = p_to - p_from) and
a class, with threshold t and minimum difference d (by default `auto`, see `choose_min_delta`):

- `new`: p_from < t <= p_to and delta >= d;
- `gone`: p_to < t <= p_from and -delta >= d;
  (a tile that crossed the threshold by less than d is held back: it keeps its earlier class)
- `persistent`: both at or above t, or a drop below t smaller than d (it keeps its from-class);
- `absent`: both below t, or a rise above t smaller than d;
- `no_data`: the tile is missing from either map.

The change is one SQL statement on the tile key into the change's own partition of
`asmdb.change_tiles`, with each tile's area on the WGS 84 ellipsoid; the change, its class
totals and (with zones) its per-zone totals commit together, or not at all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.change.classes import (  # noqa: F401
    AUTO,
    CLASSES,
    DEFAULT_MIN_DELTA,
    DEFAULT_THRESHOLD,
    NOISE_BAND,
    NOISE_MIN_TILES,
    NOISE_Z,
)
from asm_db.change.empty_map import warn_if_one_map_empty
from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.keys import fits_integer
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, InputError, NotFound


@dataclass(frozen=True)
class Change:
    change_id: int
    from_map: int
    to_map: int
    threshold: float
    min_delta: float
    created_at: datetime
    classes: dict  # class -> {"tiles": int, "km2": float}
    zones: list | None  # [{"zone": name, "classes": {class: {"tiles", "km2"}}}]
    from_period: tuple[date | None, date | None]
    to_period: tuple[date | None, date | None]
    min_delta_rule: str | None = None  # how min_delta was chosen (none before revision 0018)
    held_back: int | None = None  # tiles that crossed the threshold by less than min_delta
    seconds: dict = field(default_factory=dict, compare=False)


def check_options(threshold: float, min_delta: float | str) -> float | str:
    """The minimum difference as given: a number from 0 to 1, or "auto"."""
    if not (math.isfinite(threshold) and 0 < threshold <= 1):
        raise AsmdbError(f"--threshold {threshold}: must be above 0 and at most 1")
    if isinstance(min_delta, str):
        if min_delta.strip().lower() == AUTO:
            return AUTO
        try:
            min_delta = float(min_delta)
        except ValueError:
            raise AsmdbError(
                f"--min-delta {min_delta}: must be a number between 0 and 1, or auto"
            ) from None
    if not (math.isfinite(min_delta) and 0 <= min_delta <= 1):
        raise AsmdbError(f"--min-delta {min_delta}: must be between 0 and 1, or auto")
    return float(min_delta)


def choose_min_delta(
    pg: psycopg.Connection, from_map: int, to_map: int, threshold: float, min_delta: float | str
) -> tuple[float, str]:
    """The minimum difference and the rule that gave it. Given a number, that number. `auto`:
    NOISE_Z (1.96) times the robust standard deviation (1.4826 x median absolute deviation) of
    p_to - p_from over the tiles whose earlier probability lies within NOISE_BAND of the
    threshold, the tiles noise alone can carry across it; a rise or drop within it is as likely
    noise as change. Fewer than NOISE_MIN_TILES such tiles measure nothing: 0."""
    if min_delta != AUTO:
        return float(min_delta), f"given: --min-delta {min_delta:g}"
    tiles, spread = pg.execute(
        load_sql("change/delta_noise"),
        {"from_map": from_map, "to_map": to_map, "threshold": threshold, "band": NOISE_BAND},
    ).fetchone()
    if tiles < NOISE_MIN_TILES or spread is None:
        return 0.0, (
            f"auto: 0, as only {tiles} tile(s) have an earlier probability within {NOISE_BAND:g} "
            f"of the threshold (at least {NOISE_MIN_TILES} are needed to measure the noise)"
        )
    chosen = min(1.0, round(NOISE_Z * float(spread), 3))
    return chosen, (
        f"auto: {NOISE_Z:g} x the robust standard deviation ({float(spread):.3f}) of p_to - "
        f"p_from over the {tiles} tiles whose earlier probability is within {NOISE_BAND:g} of "
        "the threshold"
    )


def _totals(rows) -> dict:
    totals = {c: {"tiles": 0, "km2": 0.0} for c in CLASSES}
    for name, tiles, km2 in rows:
        totals[name] = {"tiles": int(tiles), "km2": float(km2)}
    return totals


def _check_maps(pg: psycopg.Connection, from_map: int, to_map: int) -> None:
    from asm_db.maps.registry import get_map

    if from_map == to_map:
        raise AsmdbError(f"--from and --to are both map {from_map}: name two different maps")
    grids = {}
    for option, map_id in (("--from", from_map), ("--to", to_map)):
        get_map(pg, map_id)  # NotFound, naming the map, when there is none
        grids[option] = pg.execute(load_sql("change/map_grid"), {"map_id": map_id}).fetchone()[0]
    if grids["--from"] != grids["--to"]:
        raise AsmdbError(
            f"maps {from_map} and {to_map} are on different grids (grid {grids['--from']} and "
            f"grid {grids['--to']}): their tiles cannot be compared; predict both periods on "
            "feature sets of the same tile size"
        )


def _warn_if_backwards(
    pg: psycopg.Connection, from_map: int, to_map: int, notify: locks.Notify | None
) -> None:
    """Say so when --from's period starts after --to's: "new" then means mining that stopped."""
    from asm_db.maps.registry import get_map

    a, b = get_map(pg, from_map), get_map(pg, to_map)
    if notify and a.period_start and b.period_start and a.period_start > b.period_start:
        notify(
            f"note: map {from_map} ({a.period_start}) is of a later period than map {to_map} "
            f"({b.period_start}): 'new' is mining seen in {from_map}'s period and not in "
            f"{to_map}'s; swap --from and --to to map change forward in time"
        )


def read_zones(path: str | Path, zone_field: str) -> list[tuple[str, bytes]]:
    """(zone name, WKB in EPSG:4326) per polygon feature of a vector file. A file that is not
    one (a CSV, a raster), a feature that is not a polygon, a name missing or that PostgreSQL
    cannot store: one line naming the file, and the row and column where there is one."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from asm_db.gdal_paths import gdal_path
    from asm_db.ingest.columns import refuse_nul

    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    try:
        zones = gpd.read_file(gdal_path(path))
    except Exception as exc:  # pyogrio raises many kinds
        raise InputError(path, f"cannot be read as a vector file: {exc}") from None
    geometry = getattr(zones, "active_geometry_name", None)
    if geometry is None:
        raise InputError(
            path,
            "has no geometry: zones are polygons in a vector file (GeoPackage, GeoJSON, "
            "Shapefile, ...)",
        )
    if zone_field not in zones.columns or zone_field == geometry:
        found = ", ".join(str(c) for c in zones.columns if c != geometry)
        raise InputError(
            path, f"no column '{zone_field}' for --zone-field (columns: {found or 'none'})"
        )
    if zones.crs is None:
        raise InputError(path, "has no coordinate reference system (CRS)")
    zones = zones.reset_index(drop=True)  # index + 1: the file's row
    refuse_nul(path, zones, [zone_field])
    zones = zones[zones.geometry.notna() & ~zones.geometry.is_empty]
    polygonal = zones.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if not polygonal.all():
        first = int(polygonal.argmin())
        raise InputError(
            path,
            f"zones must be polygons, found {zones.geometry.iloc[first].geom_type}",
            rows=zones.index[~polygonal] + 1,
        )
    if zones.empty:
        raise InputError(path, "holds no zone polygons")
    try:
        zones = zones.to_crs(4326)
    except Exception as exc:  # pyproj: no way from the file's CRS to WGS 84
        raise InputError(path, f"cannot be reprojected to WGS 84 (EPSG:4326): {exc}") from None
    coords, owner = shapely.get_coordinates(zones.geometry.to_numpy(), return_index=True)
    unbounded = np.unique(owner[~np.isfinite(coords).all(axis=1)])
    if unbounded.size:
        raise InputError(
            path,
            "coordinates that are not finite numbers in WGS 84 (EPSG:4326)",
            rows=zones.index[unbounded] + 1,
        )
    missing = zones[zone_field].isna().to_numpy()
    if missing.any():
        raise InputError(
            path, "the zone has no name", rows=zones.index[missing] + 1, column=zone_field
        )
    return [(str(n), g.wkb) for n, g in zip(zones[zone_field], zones.geometry, strict=True)]


def zone_totals(
    pg: psycopg.Connection, change_id: int, zones: list[tuple[str, bytes]]
) -> list[dict]:
    pg.execute(load_sql("change/change_zones_stage_create"))
    with pg.cursor() as cur:
        cur.executemany(
            load_sql("change/change_zones_stage_insert"), [{"zone": z, "wkb": w} for z, w in zones]
        )
    found: dict[str, dict] = {}
    for zone, name, tiles, km2 in pg.execute(
        load_sql("change/change_zone_totals"), {"change_id": change_id}
    ):
        found.setdefault(zone, {c: {"tiles": 0, "km2": 0.0} for c in CLASSES})
        found[zone][name] = {"tiles": int(tiles), "km2": float(km2)}
    names = sorted({z for z, _ in zones})
    empty = {c: {"tiles": 0, "km2": 0.0} for c in CLASSES}
    return [{"zone": z, "classes": found.get(z, empty)} for z in names]


def make_change(
    engine: Engine,
    from_map: int,
    to_map: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_delta: float | str = DEFAULT_MIN_DELTA,
    zones: str | Path | None = None,
    zone_field: str | None = None,
    notify: locks.Notify | None = None,
) -> Change:
    """Compute and record the change from map `from_map` to map `to_map`; `min_delta` is a
    number or "auto" (`choose_min_delta`)."""
    min_delta = check_options(threshold, min_delta)
    if (zones is None) != (zone_field is None):
        raise AsmdbError("--zones and --zone-field go together: name the file and its field")
    zone_rows = read_zones(zones, zone_field) if zones is not None else None
    seconds = {}
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        _check_maps(pg, from_map, to_map)
        _warn_if_backwards(pg, from_map, to_map, notify)
        warn_if_one_map_empty(pg, from_map, to_map, threshold, notify)
        locks.hold(pg, "write map", notify)
        chosen, rule = choose_min_delta(pg, from_map, to_map, threshold, min_delta)
        params = {
            "from_map": from_map,
            "to_map": to_map,
            "threshold": threshold,
            "min_delta": chosen,
            "min_delta_rule": rule,
        }
        change_id, _ = pg.execute(load_sql("change/change_insert"), params).fetchone()
        name = f"change_tiles_{change_id:d}"
        names = {
            "partition": sql.Identifier("asmdb", name),
            "check": sql.Identifier(f"{name}_change"),
            "change_id": sql.Literal(change_id),
        }
        with pg.cursor() as cur:
            cur.execute(sql.SQL(load_sql("change/change_partition_create")).format(**names))
            started = time.perf_counter()
            cur.execute(sql.SQL(load_sql("change/change_tiles_insert")).format(**names), params)
            seconds["compare"] = time.perf_counter() - started
            started = time.perf_counter()
            cur.execute(sql.SQL(load_sql("change/change_partition_attach")).format(**names))
            cur.execute(sql.SQL("ANALYZE {partition}").format(**names))
            seconds["index"] = time.perf_counter() - started
        classes = _totals(
            pg.execute(load_sql("change/change_class_totals"), {"change_id": change_id})
        )
        held_back = pg.execute(
            load_sql("change/change_held_back"), {"change_id": change_id, "threshold": threshold}
        ).fetchone()[0]
        per_zone = None
        if zone_rows is not None:
            started = time.perf_counter()
            per_zone = zone_totals(pg, change_id, zone_rows)
            seconds["zones"] = time.perf_counter() - started
        pg.execute(
            load_sql("change/change_save_totals"),
            {
                "change_id": change_id,
                "classes": Jsonb(classes),
                "zones": Jsonb(per_zone) if per_zone is not None else None,
                "held_back": held_back,
            },
        )
        change = get_change(pg, change_id)
    return Change(**{**change.__dict__, "seconds": seconds})


def get_change(pg: psycopg.Connection, change_id: int | None = None) -> Change:
    """A recorded change; the newest without `change_id`."""
    if change_id is not None and not fits_integer(change_id):
        row = None  # no change has an id beyond its column's type
    else:
        row = pg.execute(load_sql("change/change_get"), {"change_id": change_id}).fetchone()
    if row is None:
        if change_id is not None:
            raise NotFound(f"no change {change_id}; `asmdb change --from MAP --to MAP` makes one")
        raise NotFound("no change map yet; `asmdb change --from MAP --to MAP` makes one")
    (cid, a, b, t, d, created, classes, zones, fa0, fa1, fb0, fb1, rule, held_back) = row
    return Change(cid, a, b, t, d, created, classes, zones, (fa0, fa1), (fb0, fb1), rule, held_back)


def show_change(engine: Engine, change_id: int | None = None) -> Change:
    with connect(engine) as conn:
        check_ready(conn)
        return get_change(driver(conn), change_id)
