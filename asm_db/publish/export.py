"""`asmdb export predictions`: a probability map as a file for people without database
access, styled as in the database (GeoPackage: style embedded; GeoParquet: a .qml beside it,
which QGIS applies when it opens the file); `asmdb export change` the same for a change map;
`asmdb export zones` a change's estimates by zone as CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound
from asm_db.maps.registry import resolve_map
from asm_db.publish import qml
from asm_db.publish.files import check_target, replacing, write_styled_gpkg

LAYER = "predictions"
CHANGE_LAYER = "change"
FORMATS = {".gpkg": "GeoPackage", ".parquet": "GeoParquet"}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    run_id: int
    rows: int
    style: str
    map_id: int


def export_predictions(
    engine: Engine, out: str | Path, run_id: int | None = None, map_id: int | None = None
) -> ExportResult:
    """Write a map's predictions to OUT.gpkg or OUT.parquet, styled: map `map_id`, or the map
    run `run_id` made on its own feature set, or (neither given) the promoted map."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise AsmdbError(f"{out}: unknown format; the file name must end in .gpkg or .parquet")
    if run_id is not None and map_id is not None:
        raise AsmdbError("give --map or --run, not both (a map belongs to one run)")
    _check_targets(out)
    with connect(engine) as conn:
        check_ready(conn)
        chosen = resolve_map(driver(conn), map_id, run_id)
        frame = gpd.read_postgis(
            load_sql("publish/predictions_for_export"),
            conn,
            geom_col="geom",
            params={"map_id": chosen.map_id},
        )
    style_place = _write_styled(
        frame, out, LAYER, qml.probability_qml(), "calibrated probability of ASM, fixed classes"
    )
    return ExportResult(out, chosen.run_id, len(frame), style_place, chosen.map_id)


def _check_targets(out: Path) -> None:
    """Refuse, before reading the map, a target that cannot be written (see `check_target`)."""
    check_target(out, gdal=out.suffix.lower() == ".gpkg")
    if out.suffix.lower() != ".gpkg":
        check_target(out.with_suffix(".qml"))


def _write_styled(frame, out: Path, layer: str, style: str, description: str) -> str:
    """`frame` as OUT.gpkg (style embedded) or OUT.parquet (style in OUT.qml beside it), each
    written beside the target and renamed into place: a failed export leaves no half file.
    Returns where the style went."""
    if out.suffix.lower() == ".gpkg":
        write_styled_gpkg(frame, out, layer, style, description)
        return "embedded"
    with replacing(out) as partial:
        frame.to_parquet(partial)
    with replacing(out.with_suffix(".qml")) as partial:
        partial.write_text(style, encoding="utf-8")
    return str(out.with_suffix(".qml"))


@dataclass(frozen=True)
class ChangeExport:
    path: Path
    change_id: int
    rows: int
    style: str


def export_change(engine: Engine, out: str | Path, change_id: int | None = None) -> ChangeExport:
    """Write a change map (the newest, or `change_id`) to OUT.gpkg or OUT.parquet, one polygon
    per tile with tile_id, p_from, p_to, delta, class (and area_km2, change_id), styled."""
    from asm_db.change.compute import get_change

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise AsmdbError(f"{out}: unknown format; the file name must end in .gpkg or .parquet")
    _check_targets(out)
    with connect(engine) as conn:
        check_ready(conn)
        change = get_change(driver(conn), change_id)
        frame = gpd.read_postgis(
            load_sql("publish/change_for_export"),
            conn,
            geom_col="geom",
            params={"change_id": change.change_id},
        )
    style_place = _write_styled(frame, out, CHANGE_LAYER, qml.change_qml(), "change in mapped ASM")
    return ChangeExport(out, change.change_id, len(frame), style_place)


ZONE_COLUMNS = ("zone", "class", "area_km2", "low", "high", "mapped_km2", "reviewed")


@dataclass(frozen=True)
class ZonesExport:
    path: Path
    change_id: int
    zones: int
    rows: int


def export_zones(engine: Engine, out: str | Path, change_id: int | None = None) -> ZonesExport:
    """Write a change's estimates by zone (`asmdb review estimate --zones`; default: the newest
    change that has them) to OUT.csv, one row per zone and class: zone, class, area_km2, low,
    high (empty with too few reviews), mapped_km2, reviewed. Written beside the target and
    renamed into place."""
    import csv

    from asm_db.change.classes import sql_params
    from asm_db.change.compute import get_change

    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise AsmdbError(f"{out}: unknown format; the file name must end in .csv")
    check_target(out)
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        if change_id is None:
            change_id = pg.execute(load_sql("publish/zones_newest_change")).fetchone()[0]
            if change_id is None:
                raise NotFound(
                    "no change has zone estimates yet; `asmdb review estimate --change ID "
                    "--zones FILE --zone-field NAME` makes them"
                )
        change_id = get_change(pg, change_id).change_id  # NotFound, naming it, when there is none
        rows = pg.execute(
            load_sql("publish/zones_for_export"), {"change_id": change_id, **sql_params()}
        ).fetchall()
    if not rows:
        raise NotFound(
            f"change {change_id} has no zone estimates; `asmdb review estimate --change "
            f"{change_id} --zones FILE --zone-field NAME` makes them"
        )
    with replacing(out) as partial, partial.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(ZONE_COLUMNS)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return ZonesExport(out, change_id, len({r[0] for r in rows}), len(rows))
