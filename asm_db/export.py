"""`asmdb export predictions`: a run's probability map as a file for people without database
access, styled as in the database (GeoPackage: style embedded; GeoParquet: a .qml beside it,
which QGIS applies when it opens the file)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy.engine import Engine

from asm_db import qml
from asm_db.database import check_ready, connect, driver
from asm_db.errors import AsmdbError, NotFound
from asm_db.sqlfiles import load_sql
from asm_db.styles import STYLE_NAME

LAYER = "predictions"
FORMATS = {".gpkg": "GeoPackage", ".parquet": "GeoParquet"}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    run_id: int
    rows: int
    style: str


def _gpkg_style_table(qml_text: str, geometry_column: str) -> pd.DataFrame:
    """QGIS's `layer_styles` table as its OGR provider keeps it inside a GeoPackage."""
    return pd.DataFrame(
        {
            "f_table_catalog": [""],
            "f_table_schema": [""],
            "f_table_name": [LAYER],
            "f_geometry_column": [geometry_column],
            "styleName": [STYLE_NAME],
            "styleQML": [qml_text],
            "styleSLD": [""],
            "useAsDefault": [True],
            "description": ["calibrated probability of ASM, fixed classes"],
            "owner": [""],
            "ui": [""],
            "update_time": [datetime.now(UTC).replace(tzinfo=None)],
        }
    )


def export_predictions(engine: Engine, out: str | Path, run_id: int | None = None) -> ExportResult:
    """Write a run's predictions (default: the latest) to OUT.gpkg or OUT.parquet, styled."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise AsmdbError(f"{out}: unknown format; the file name must end in .gpkg or .parquet")
    with connect(engine) as conn:
        check_ready(conn)
        row = driver(conn).execute(load_sql("run_to_export"), {"run_id": run_id}).fetchone()
        if row is None:
            wanted = f"no model run {run_id}" if run_id is not None else "no model runs yet"
            raise NotFound(f"{wanted}; `asmdb runs` lists them")
        run_id = row[0]
        frame = gpd.read_postgis(
            load_sql("predictions_for_export"), conn, geom_col="geom", params={"run_id": run_id}
        )
    style = qml.probability_qml()
    # Written beside the target and renamed into place: a failed export leaves no half file.
    partial = out.with_name(f".partial-{out.name}")
    partial.unlink(missing_ok=True)
    try:
        if suffix == ".gpkg":
            # GeoPackage 1.2: what GDAL 3.6 (QGIS 3.22 on Debian 12) reads without warnings.
            pyogrio.write_dataframe(
                frame, partial, layer=LAYER, driver="GPKG", dataset_options={"VERSION": "1.2"}
            )
            pyogrio.write_dataframe(
                _gpkg_style_table(style, "geom"), partial, layer="layer_styles", driver="GPKG"
            )
            style_place = "embedded"
        else:
            frame.to_parquet(partial)
            out.with_suffix(".qml").write_text(style, encoding="utf-8")
            style_place = str(out.with_suffix(".qml"))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(out, run_id, len(frame), style_place)
