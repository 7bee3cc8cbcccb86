"""`asmdb ingest labels`: field labels of known mine sites into `asmdb.labels`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine

from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import InputError
from asm_db.gdal_paths import gdal_path
from asm_db.ingest.columns import columns_found, csv_delimiter, match_columns, refuse_nul
from asm_db.ingest.label_dates import date_column_of, observation_dates
from asm_db.ingest.label_placement import check_placement

# The seed's label columns; lon/lat may instead come from a point geometry.
TEXT_COLUMNS = ("unique_id", "country", "sample_type", "mine_type")
NUMBER_COLUMNS = ("lon", "lat", "confidence", "label", "proportion_inspected")
LABEL_COLUMNS = (
    "lon",
    "lat",
    "unique_id",
    "country",
    "sample_type",
    "mine_type",
    "confidence",
    "label",
    "proportion_inspected",
)
STAGE_COLUMNS = LABEL_COLUMNS + ("observed_at", "extra")


@dataclass(frozen=True)
class LabelIngestResult:
    path: str
    rows: int
    added: int
    updated: int
    seconds: float
    dated: int = 0  # labels with an observation date
    removed: int = 0  # with `replace`: labels of the same source file no longer in it


# What `read_label_file` reads, by file name ending.
TEXT_SUFFIXES = (".csv", ".gz", ".txt")
GIS_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".gml", ".kml")
ARROW_SUFFIXES = (".feather", ".arrow", ".ipc")


def read_label_file(path: Path) -> pd.DataFrame:
    """Read labels from CSV, GeoPackage, GeoJSON, Shapefile, (Geo)Parquet or Feather."""
    if not path.exists():
        raise InputError(path, "no such file")
    suffix = path.suffix.lower()
    known = (*TEXT_SUFFIXES, *GIS_SUFFIXES, *ARROW_SUFFIXES, ".parquet")
    if suffix not in known and not path.is_dir():  # a folder may be a GIS data set
        raise InputError(
            path,
            f"cannot read '{suffix or path.name}' files as labels: use CSV, GeoPackage, GeoJSON, "
            "Shapefile, Parquet or Feather (save a spreadsheet as CSV)",
        )
    try:
        if suffix in ARROW_SUFFIXES:
            return pd.read_feather(path)
        if suffix in TEXT_SUFFIXES:
            # Text stays text (unique_id '007' must not become 7); numbers are checked below.
            delimiter = csv_delimiter(path)
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], sep=delimiter
            )
            return decimal_commas(frame) if delimiter == ";" else frame
        if suffix == ".parquet":
            try:
                frame = gpd.read_parquet(path)
            except ValueError:  # plain parquet without geo metadata
                frame = pd.read_parquet(path)
        else:
            frame = gpd.read_file(gdal_path(path))
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        OSError,
        ValueError,
    ) as exc:
        if isinstance(exc, pd.errors.EmptyDataError):
            raise InputError(path, "is empty") from None
        raise InputError(path, f"cannot read: {str(exc).splitlines()[0]}") from None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        frame = _lonlat_from_geometry(path, frame)
    return pd.DataFrame(frame)


def decimal_commas(frame: pd.DataFrame) -> pd.DataFrame:
    """A semicolon-separated file's numbers written with a decimal comma (8,5) read as 8.5."""
    frame = match_columns(frame, LABEL_COLUMNS)
    for column in frame.columns.intersection(NUMBER_COLUMNS):
        frame[column] = frame[column].str.replace(",", ".", regex=False)
    return frame


def _lonlat_from_geometry(path: Path, frame: gpd.GeoDataFrame) -> pd.DataFrame:
    geometry = frame.geometry
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        geometry = geometry.to_crs("EPSG:4326")
    if not {"lon", "lat"} <= set(frame.columns):
        not_points = ~(geometry.geom_type == "Point")
        if not_points.any():
            raise InputError(
                path,
                "label geometries must be points",
                rows=np.flatnonzero(not_points.to_numpy()) + 1,
                column="geometry",
            )
        frame = frame.assign(lon=geometry.x, lat=geometry.y)
    return frame.drop(columns=frame.geometry.name)


def _numbers(path: Path, frame: pd.DataFrame, column: str, *, required: bool) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    given = frame[column].notna()
    bad = given & values.isna()
    if bad.any():
        example = frame[column][bad].iloc[0]
        raise InputError(
            path,
            f"{example!r} is not a number",
            rows=np.flatnonzero(bad.to_numpy()) + 1,
            column=column,
        )
    if required and (~given).any():
        raise InputError(
            path, "value is missing", rows=np.flatnonzero((~given).to_numpy()) + 1, column=column
        )
    return values.astype(float)


# Longer ids do not fit a btree index entry once incompressible (about 2,700 bytes).
MAX_UNIQUE_ID = 1000


def validate_labels(
    path: Path, frame: pd.DataFrame, date_column: str | None = None
) -> pd.DataFrame:
    """Check a label table; return the seed's columns typed, `observed_at` (from the column
    `date_column`, else `observed_at`, else none), and the other columns as `extra` JSON text."""
    if frame.empty:
        raise InputError(path, "has no rows")
    # observed_at too, unless named: a Shapefile keeps it as observed_a.
    frame = match_columns(frame, [*LABEL_COLUMNS, *([] if date_column else ["observed_at"])])
    dated = date_column_of(path, frame.columns, date_column)
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if missing:
        looks_like = (
            "; this looks like a feature file (`asmdb ingest features`)"
            if any(str(c).startswith("feature_") for c in frame.columns)
            else ""
        )
        raise InputError(
            path,
            "missing column (the seed's label columns are needed: "
            + ", ".join(LABEL_COLUMNS)
            + f"; {columns_found(frame.columns)}{looks_like})",
            column=missing[0],
        )
    out = pd.DataFrame(index=frame.index)
    for column in NUMBER_COLUMNS:
        out[column] = _numbers(path, frame, column, required=column in ("lon", "lat", "label"))
    for column, limit in (("lat", 90), ("lon", 180)):
        bad = out[column].abs() > limit
        if bad.any():
            raise InputError(
                path,
                f"coordinate outside [-{limit}, {limit}]",
                rows=np.flatnonzero(bad.to_numpy()) + 1,
                column=column,
            )
    bad = (out["proportion_inspected"] < 0) | (out["proportion_inspected"] > 1)
    if bad.any():
        example = out["proportion_inspected"][bad].iloc[0]
        raise InputError(
            path,
            f"{example:g} is not a share from 0 to 1 (a percentage? divide it by 100)",
            rows=np.flatnonzero(bad.to_numpy()) + 1,
            column="proportion_inspected",
        )
    bad = ~out["label"].isin([0, 1])
    if bad.any():
        raise InputError(
            path, "label must be 0 or 1", rows=np.flatnonzero(bad.to_numpy()) + 1, column="label"
        )
    for column in TEXT_COLUMNS:
        out[column] = frame[column].map(lambda v: None if pd.isna(v) else str(v))
    missing_id = out["unique_id"].isna()
    if missing_id.any():
        raise InputError(
            path,
            "value is missing",
            rows=np.flatnonzero(missing_id.to_numpy()) + 1,
            column="unique_id",
        )
    too_long = out["unique_id"].str.len() > MAX_UNIQUE_ID
    if too_long.any():
        raise InputError(
            path,
            f"unique_id longer than {MAX_UNIQUE_ID} characters",
            rows=np.flatnonzero(too_long.to_numpy()) + 1,
            column="unique_id",
        )
    refuse_nul(path, frame)
    repeated = out["unique_id"].duplicated(keep=False)
    if repeated.any():
        example = out["unique_id"][repeated].iloc[0]
        raise InputError(
            path,
            f"unique_id {example!r} appears more than once",
            rows=np.flatnonzero(repeated.to_numpy()) + 1,
            column="unique_id",
        )
    out["observed_at"] = observation_dates(path, frame, dated) if dated is not None else None
    extra = [c for c in frame.columns if c not in LABEL_COLUMNS and c != dated]
    if extra:
        records = frame[extra].to_json(orient="records", lines=True, date_format="iso")
        out["extra"] = records.strip().split("\n")
    else:
        out["extra"] = "{}"
    out["label"] = out["label"].astype(int)
    return out[list(STAGE_COLUMNS)]


def ingest_labels(
    engine: Engine,
    path: str | Path,
    notify: locks.Notify | None = None,
    *,
    date_column: str | None = None,
    then: Callable[[Connection], object] | None = None,
    force: bool = False,
    replace: bool = False,
    confirm: Callable[[str], None] | None = None,
) -> LabelIngestResult:
    """Upsert every label of a file by `unique_id`, in one transaction.

    All labels are kept; the seed's quality filters are applied when training. Each label's
    `observed_at` comes from the column `date_column`, else `observed_at`; a file without one
    leaves its labels undated (the file is the truth for its rows). `then` runs in
    the same transaction after the labels are written (a failure there undoes the ingest):
    `asm_db.publish.workflows.ingest_labels_styled`, what `asmdb ingest labels` runs, passes
    the refresh of the label layer's QGIS style. A file whose labels mostly lie on no tile of
    any feature set is refused (see `asm_db.ingest.label_placement`) unless `force`. With
    `replace`, the file becomes its source's whole set: labels ingested before from a file of
    the same name that this one no longer holds are deleted (after `confirm`, if given).
    """
    path = Path(path)
    started = time.perf_counter()
    labels = validate_labels(path, read_label_file(path), date_column)
    with connect(engine) as conn:
        check_ready(conn)
        locks.hold(driver(conn), "ingest labels", notify)
        with driver(conn).cursor() as cur:
            cur.execute(load_sql("ingest/labels_stage_create"))
            with cur.copy(load_sql("ingest/labels_stage_copy")) as copy:
                for row in labels.itertuples(index=False):
                    copy.write_row(
                        [None if isinstance(v, float) and np.isnan(v) else v for v in row]
                    )
            if not force:
                check_placement(cur, path)
            cur.execute(load_sql("ingest/labels_merge"), {"source_file": path.name})
            added, updated = cur.fetchone()
            removed = 0
            if replace:
                removed = cur.execute(
                    load_sql("ingest/labels_replace"), {"source_file": path.name}
                ).fetchone()[0]
                if removed and confirm is not None:
                    confirm(f"--replace deletes {removed} label(s) of {path.name} not in it now?")
        driver(conn).execute("ANALYZE asmdb.labels")
        if then is not None:
            then(conn)
    return LabelIngestResult(
        str(path),
        len(labels),
        added,
        updated,
        time.perf_counter() - started,
        removed=removed,
        dated=int(labels["observed_at"].notna().sum()),
    )
