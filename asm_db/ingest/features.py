"""`asmdb ingest features`: MOSAIKS feature files into `asmdb.tiles` and `asmdb.tile_features`."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.engine import Engine

from asm_db.db import copy as pgcopy
from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import InputError
from asm_db.feature_values import finite_float32
from asm_db.features.provenance import file_sha256, parse_period
from asm_db.features.record import find_feature_set
from asm_db.features.write import create_feature_set, record_file
from asm_db.grid import DEFAULT_GRID, Grid, check_cell_size, grid_for_cell_size
from asm_db.ingest.columns import columns_found
from asm_db.ingest.readers import open_batches
from asm_db.ingest.tiles import merge_staged_tiles

DEFAULT_FEATURE_SET = "default"
DEFAULT_TILE_SIZE = DEFAULT_GRID.cell_size
DEFAULT_BATCH_ROWS = 1000

FEATURE_COLUMN = re.compile(r"^feature_(\d+)$")
# lat_8--125__lon_-11--235 -> (8.125, -11.235): the seed's image_id, '--' standing for '.'.
IMAGE_ID = re.compile(r"^lat_(?P<lat>-?\d+(?:--\d+)?)__lon_(?P<lon>-?\d+(?:--\d+)?)$")

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class FeatureLayout:
    """Where a file keeps its coordinates and features."""

    lat: str | None
    lon: str | None
    image_id: str | None
    features: list[str]


@dataclass(frozen=True)
class FeatureIngestResult:
    path: str
    feature_set: str
    n_features: int
    rows: int
    tiles_added: int
    seconds: float


def detect_layout(path: Path, schema: pa.Schema) -> FeatureLayout:
    """Find the coordinate and feature columns in either MOSAIKS layout."""
    seen: dict[str, str] = {}
    for name in schema.names:
        key = name.lower() if name.lower() in ("lat", "lon", "image_id") else name
        if key in seen:
            raise InputError(path, "this column appears more than once", column=name)
        seen[key] = name
    by_lower = {name.lower(): name for name in schema.names}
    lat, lon = by_lower.get("lat"), by_lower.get("lon")
    image_id = by_lower.get("image_id")
    if (lat is None) != (lon is None):
        missing = "lon" if lon is None else "lat"
        raise InputError(
            path, f"has only one of lat/lon ({columns_found(schema.names)})", column=missing
        )
    if lat is None and image_id is None:
        raise InputError(
            path,
            f"needs an image_id column or lat and lon columns ({columns_found(schema.names)})",
            column="image_id",
        )

    numbered = {}
    for name in schema.names:
        match = FEATURE_COLUMN.match(name)
        if match:
            numbered[int(match.group(1))] = name
    if numbered:
        for i in range(max(numbered) + 1):
            if i not in numbered:
                raise InputError(
                    path, "feature columns are not numbered 0..K-1", column=f"feature_{i}"
                )
        features = [numbered[i] for i in range(len(numbered))]
    else:
        reserved = {c for c in (lat, lon, image_id) if c}
        features = [
            f.name
            for f in schema
            if f.name not in reserved
            and (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
        ]
    if not features:
        raise InputError(
            path,
            "has no feature columns (feature_0.. or other numeric columns; "
            f"{columns_found(schema.names)})",
        )
    return FeatureLayout(lat, lon, image_id, features)


def _rows(mask: np.ndarray, first_row: int) -> list[int]:
    return (np.flatnonzero(mask) + first_row).tolist()


def _numbers(path: Path, batch: pa.RecordBatch, name: str, first_row: int) -> np.ndarray:
    """A column as float64; text that is not a number is an error naming its first rows."""
    column = batch.column(name)
    try:
        return column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    bad = []
    for i, value in enumerate(column.to_pylist()):
        try:
            if value is not None:
                float(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
        except (TypeError, ValueError):
            bad.append(i + first_row)
    raise InputError(path, "is not numeric", column=name, rows=bad or None)


def _text(path: Path, batch: pa.RecordBatch, name: str, first_row: int) -> pa.Array:
    """A column as UTF-8 strings; bytes that are not UTF-8 are an error naming their rows."""
    column = batch.column(name)
    try:
        return column.cast(pa.string())
    except pa.ArrowInvalid:
        pass
    bad = []
    for i, value in enumerate(column.to_pylist()):
        try:
            if isinstance(value, bytes):
                value.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(i + first_row)
    raise InputError(path, "is not UTF-8 text", column=name, rows=bad or None)


def _coordinates(path: Path, batch: pa.RecordBatch, layout: FeatureLayout, first_row: int):
    if layout.lat is not None:
        coords = {}
        for axis, name in (("lat", layout.lat), ("lon", layout.lon)):
            coords[axis] = _numbers(path, batch, name, first_row)
        lat, lon = coords["lat"], coords["lon"]
    else:
        ids = _text(path, batch, layout.image_id, first_row)
        parts = pc.extract_regex(ids, IMAGE_ID.pattern)
        bad = ~pc.fill_null(pc.is_valid(parts), False).to_numpy(zero_copy_only=False)
        if bad.any():
            example = ids[int(np.flatnonzero(bad)[0])].as_py()
            raise InputError(
                path,
                f"cannot read a centre from image_id {example!r} (expected like lat_8--125__lon_-11--235)",
                rows=_rows(bad, first_row),
                column=layout.image_id,
            )
        lat = np.asarray(
            pc.replace_substring(parts.field("lat"), "--", ".").cast(pa.float64()), dtype=np.float64
        )
        lon = np.asarray(
            pc.replace_substring(parts.field("lon"), "--", ".").cast(pa.float64()), dtype=np.float64
        )
    for values, name, limit in (
        (lat, layout.lat or layout.image_id, 90),
        (lon, layout.lon or layout.image_id, 180),
    ):
        bad = ~(np.abs(values) <= limit)  # NaN and missing fail too
        if bad.any():
            axis = "latitude" if limit == 90 else "longitude"
            raise InputError(
                path,
                f"{axis} missing or outside [-{limit}, {limit}]",
                rows=_rows(bad, first_row),
                column=name,
            )
    return lat, lon


def _feature_matrix(
    path: Path, batch: pa.RecordBatch, names: list[str], first_row: int
) -> np.ndarray:
    matrix = np.empty((batch.num_rows, len(names)), dtype=np.float32)
    finite = np.empty(matrix.shape, dtype=bool)
    for j, name in enumerate(names):
        col = batch.column(name)
        if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            values = col.to_numpy(zero_copy_only=False)
        else:
            values = _numbers(path, batch, name, first_row)
        matrix[:, j], finite[:, j] = finite_float32(values)
    if not finite.all():
        bad_rows = ~finite.all(axis=1)
        first_col = names[int(np.flatnonzero(~finite[np.argmax(bad_rows)])[0])]
        raise InputError(
            path,
            "feature value is missing, NaN or infinite (or too large for float32)",
            rows=_rows(bad_rows, first_row),
            column=first_col,
        )
    return matrix


def _feature_set_id(pg, path: Path, name: str, names: list[str], grid: Grid) -> int:
    found = find_feature_set(pg, name)
    if found is None:
        return create_feature_set(pg, name, names, grid)
    fs_id, n_features, stored = found.feature_set_id, found.n_features, found.feature_names
    grid_id, cell_size = found.grid_id, found.cell_size
    if grid_id != grid.grid_id:
        raise InputError(
            path,
            f"feature set '{name}' has {cell_size:g}-degree tiles, not {grid.cell_size:g}; "
            "use --feature-set to load it as a new feature set",
        )
    if n_features != len(names):
        raise InputError(
            path,
            f"has {len(names)} feature columns but feature set '{name}' has {n_features}; "
            "use --feature-set to load it as a new feature set",
        )
    for expected, got in zip(stored, names, strict=True):
        if expected != got:
            raise InputError(
                path, f"feature set '{name}' expects column '{expected}' here", column=got
            )
    return fs_id


def ingest_features(
    engine: Engine,
    path: str | Path,
    *,
    feature_set: str = DEFAULT_FEATURE_SET,
    tile_size: float = DEFAULT_TILE_SIZE,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    notify: locks.Notify | None = None,
    source: str | None = None,
    period: str | None = None,
) -> FeatureIngestResult:
    """Load a feature file in one transaction, in two passes over the file.

    The feature set is on the grid of `tile_size`-degree cells from (-180, -90), recorded in
    `asmdb.grids` when it is new; a feature set stays on its grid. A tile size that is not a
    positive finite number of degrees (or is too fine for a grid) is refused before anything
    is read or written.

    1. The coordinate columns only: validated, given their tile ids on the grid, staged by
       binary COPY, checked for two rows in one tile, and upserted as tiles (each centre
       buffered by half a cell, square caps; asm_db.ingest.tiles).
    2. The feature columns, batch by batch: validated and COPYed straight into
       `asmdb.tile_features` as float32 bytes, after the file's tiles' old vectors in
       `feature_set` are deleted. The vectors are written once, with no staging copy.

    Re-loading a file, or an overlapping region, replaces those tiles' vectors. Any error
    rolls the whole file back. The file (size, sha256), `source` and `period` go into the
    feature set's provenance.
    """
    check_cell_size(tile_size)
    path = Path(path)
    period_start, period_end = parse_period(period)
    started = time.perf_counter()
    layout = detect_layout(path, open_batches(path, batch_rows).schema)
    k = len(layout.features)

    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        locks.hold(pg, "ingest features", notify)
        with pg.cursor() as cur:
            grid = grid_for_cell_size(pg, tile_size)
            fs_id = _feature_set_id(pg, path, feature_set, layout.features, grid)
            record = {
                "path": str(path.resolve()),
                "size": path.stat().st_size,
                "sha256": file_sha256(path),
            }
            record_file(
                pg, fs_id, record, source=source, period_start=period_start, period_end=period_end
            )
            tile_ids, tiles_added = _merge_tiles(cur, path, layout, grid, batch_rows)
            cur.execute(load_sql("features/features_delete_tiles"), {"feature_set_id": fs_id})
            _copy_vectors(cur, path, layout, fs_id, tile_ids, batch_rows, progress)
        pg.execute("ANALYZE asmdb.tiles")
        pg.execute("ANALYZE asmdb.tile_features")
    return FeatureIngestResult(
        str(path), feature_set, k, len(tile_ids), tiles_added, time.perf_counter() - started
    )


STAGE_COLUMNS = [("line", "int4"), ("tile_id", "int8"), ("lat", "float8"), ("lon", "float8")]


def _merge_tiles(
    cur, path: Path, layout: FeatureLayout, grid: Grid, batch_rows: int
) -> tuple[np.ndarray, int]:
    """Pass 1: stage the file's tile centres and upsert its tiles; returns each row's
    tile_id (in file order) and how many tiles were new."""
    names = [c for c in (layout.lat, layout.lon, layout.image_id) if c]
    source = open_batches(path, max(batch_rows, 50_000), columns=names)
    cur.execute(load_sql("features/features_stage_create"))
    rows = 0
    tile_ids = []
    with cur.copy(sql.SQL(load_sql("features/features_stage_copy"))) as copy:
        copy.write(pgcopy.HEADER)
        for batch in source.batches:
            first = rows + 1
            lat, lon = _coordinates(path, batch, layout, first)
            ids = (
                _text(path, batch, layout.image_id, first).to_pylist()
                if layout.image_id
                else [None] * batch.num_rows
            )
            line = np.arange(first, first + batch.num_rows, dtype=np.int32)
            tile_ids.append(grid.tile_ids(lat, lon))
            values = {"line": line, "tile_id": tile_ids[-1], "lat": lat, "lon": lon}
            copy.write(pgcopy.encode_rows(STAGE_COLUMNS, values, text_tail=ids))
            rows += batch.num_rows
        copy.write(pgcopy.TRAILER)
    if rows == 0:
        raise InputError(path, "has no rows")
    cur.execute(load_sql("features/features_stage_duplicates"))
    duplicates = cur.fetchall()
    if duplicates:
        raise InputError(
            path,
            f"several rows fall in the same {grid.cell_size:g}-degree tile "
            f"(rows {', '.join(map(str, duplicates[0][0]))} share a tile)",
            rows=[r for group in duplicates for r in group[0][1:]],
            column=layout.image_id or layout.lat,
        )
    tiles_added = merge_staged_tiles(cur, grid, stage="features_stage")
    return np.concatenate(tile_ids), tiles_added


def _copy_vectors(
    cur,
    path: Path,
    layout: FeatureLayout,
    fs_id: int,
    tile_ids: np.ndarray,
    batch_rows: int,
    progress: Progress | None,
) -> None:
    """Pass 2: every row's features, validated and COPYed into asmdb.tile_features. A queued
    writer sends each batch while the next is read and encoded."""
    columns = [
        ("feature_set_id", "int4"),
        ("tile_id", "int8"),
        ("features", ("float32", len(layout.features))),
    ]
    source = open_batches(path, batch_rows)
    rows = 0
    with cur.copy(
        sql.SQL(load_sql("features/tile_features_copy")), writer=QueuedLibpqWriter(cur)
    ) as copy:
        copy.write(pgcopy.HEADER)
        for batch in source.batches:
            first = rows + 1
            matrix = _feature_matrix(path, batch, layout.features, first)
            ids = tile_ids[rows : rows + batch.num_rows]
            if len(ids) != batch.num_rows:
                raise InputError(path, "changed while it was being read")
            copy.write(
                pgcopy.encode_rows(
                    columns,
                    {
                        "feature_set_id": np.full(len(ids), fs_id, np.int32),
                        "tile_id": ids,
                        "features": matrix,
                    },
                )
            )
            rows += batch.num_rows
            if progress:
                progress(rows, len(tile_ids))
        copy.write(pgcopy.TRAILER)
    if rows != len(tile_ids):
        raise InputError(path, "changed while it was being read")
