"""Registered imagery (`asmdb.imagery`): composites asmdb made and rasters a user names.

A registration is one row: name, period, footprint, bands, files, what the stored numbers mean
(scale and offset per band), a display stretch, the share of empty pixels and the provenance
(the STAC query and item ids of a composite). `featurize --imagery NAME` opens its files with
that scale and offset; deleting it removes only the files asmdb wrote, and the feature sets
made from it stay, their provenance marked.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound
from asm_db.features.provenance import parse_period

STRETCH_PERCENTILES = (2.0, 98.0)
STATS_PIXELS = 1024  # at most this many pixels a side are read per file for the stretch
# A name is a segment of the web server's tile route and a title in QGIS: printable, no slash or
# backslash, at most MAX_NAME characters.
MAX_NAME = 200
NAME_PATTERN = r"^[^\x00-\x1f\x7f/\\]+$"


@dataclass
class ImageryRecord:
    """What `asmdb.imagery` holds of one imagery."""

    name: str
    period_start: date | None
    period_end: date | None
    bounds: tuple[float, float, float, float]
    bands: list[str]
    files: list[str]
    scale: list[float]
    offset: list[float]
    files_owned: bool = False
    stretch: dict | None = None
    empty_fraction: float | None = None
    source: dict = field(default_factory=dict)
    item_ids: list[str] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        out = asdict(self)
        out["bounds"] = [float(v) for v in self.bounds]
        for key in ("period_start", "period_end"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def _insert(pg: psycopg.Connection, record: ImageryRecord) -> None:
    west, south, east, north = (float(v) for v in record.bounds)
    params = {
        "name": record.name,
        "period_start": record.period_start,
        "period_end": record.period_end,
        "west": west,
        "south": south,
        "east": east,
        "north": north,
        "bands": list(record.bands),
        "files": list(record.files),
        "files_owned": record.files_owned,
        "scale": [float(v) for v in record.scale],
        "offset": [float(v) for v in record.offset],
        "stretch": Jsonb(record.stretch) if record.stretch is not None else None,
        "empty_fraction": record.empty_fraction,
        "source": Jsonb(record.source),
        "item_ids": list(record.item_ids),
        "parameters": Jsonb(record.parameters),
    }
    try:
        with pg.transaction():
            pg.execute(load_sql("imagery/imagery_insert"), params)
    except psycopg.errors.UniqueViolation:
        raise AsmdbError(
            f"imagery '{record.name}' is already registered; choose another name or delete it "
            "with `asmdb imagery delete`"
        ) from None


def register_imagery(engine: Engine, record: ImageryRecord) -> None:
    """Record one imagery; refuses a name already registered (nothing written then)."""
    with connect(engine) as conn:
        check_ready(conn)
        _insert(driver(conn), record)


def check_name_free(engine: Engine, name: str) -> None:
    """Refuse a name that breaks the naming rule or is already registered, before any work is
    done under it."""
    if (
        not name
        or len(name) > MAX_NAME
        or not re.fullmatch(NAME_PATTERN, name)
        or not name.strip(".")
    ):
        raise AsmdbError(
            f"imagery name {name!r}: use 1 to {MAX_NAME} printable characters, without '/' or "
            "'\\' and not only dots (the name is part of the web map's tile addresses)"
        )
    with connect(engine) as conn:
        check_ready(conn)
        found = driver(conn).execute(load_sql("imagery/imagery_get"), {"name": name}).fetchone()
    if found is not None:
        raise AsmdbError(
            f"imagery '{name}' is already registered; choose another name or delete it "
            "with `asmdb imagery delete`"
        )


def _record(row) -> ImageryRecord:
    (name, start, end, bounds, bands, files, owned, scale, offset, stretch, empty, source,
     item_ids, parameters, _created) = row  # fmt: skip
    return ImageryRecord(
        name=name,
        period_start=start,
        period_end=end,
        bounds=tuple(float(v) for v in bounds),
        bands=list(bands),
        files=list(files),
        scale=[float(v) for v in scale],
        offset=[float(v) for v in offset],
        files_owned=owned,
        stretch=stretch,
        empty_fraction=empty,
        source=source or {},
        item_ids=list(item_ids or []),
        parameters=parameters or {},
    )


def imagery_records(pg: psycopg.Connection) -> list[ImageryRecord]:
    """Every registered imagery, by name, read in the caller's transaction."""
    return [_record(r) for r in pg.execute(load_sql("imagery/imagery_list")).fetchall()]


def list_imagery(engine: Engine) -> list[ImageryRecord]:
    """Every registered imagery, by name."""
    with connect(engine) as conn:
        check_ready(conn)
        return imagery_records(driver(conn))


def read_imagery(pg: psycopg.Connection, name: str) -> ImageryRecord:
    """One registered imagery, read on an open connection; NotFound when no imagery has that
    name."""
    row = pg.execute(load_sql("imagery/imagery_get"), {"name": name}).fetchone()
    if row is None:
        raise NotFound(f"no imagery named '{name}' (see `asmdb imagery list`)")
    return _record(row)


def get_imagery(engine: Engine, name: str) -> ImageryRecord:
    """One registered imagery; NotFound when no imagery has that name."""
    with connect(engine) as conn:
        check_ready(conn)
        return read_imagery(driver(conn), name)


def delete_imagery(
    engine: Engine, name: str, confirm: Callable[[str], None] | None = None
) -> tuple[list[str], list[str]]:
    """Unregister an imagery, and remove its files when asmdb wrote them; feature sets made
    from it stay, their provenance marked. Returns (files removed, feature sets marked)."""
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        with pg.transaction():
            row = pg.execute(load_sql("imagery/imagery_delete"), {"name": name}).fetchone()
            if row is None:
                raise NotFound(f"no imagery named '{name}' (see `asmdb imagery list`)")
            files, owned, parameters = row
            marked = [
                n for (n,) in pg.execute(load_sql("imagery/imagery_feature_sets_mark_deleted"),
                                         {"name": name})
            ]  # fmt: skip
            if confirm is not None:
                what = f"{len(files)} file(s) asmdb wrote" if owned else "no files (not asmdb's)"
                confirm(f"delete imagery '{name}' and {what}?")
    removed = []
    if owned:  # only once the row is gone for good
        for path in files:
            try:
                Path(path).unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
        folder = parameters.get("folder")
        if folder and Path(folder).is_dir() and not any(Path(folder).iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
    return removed, marked


def raster_stretch(files: list[str], bands: int) -> tuple[dict[int, tuple[float, float]], float]:
    """Per band the 2nd and 98th percentile of the files' valid values, and the share of empty
    pixels, from a decimated read (at most STATS_PIXELS a side per file)."""
    import rasterio

    samples: list[list[np.ndarray]] = [[] for _ in range(bands)]
    empty = total = 0
    for path in files:
        with rasterio.open(path) as src:
            factor = max(1, int(np.ceil(max(src.width, src.height) / STATS_PIXELS)))
            shape = (max(1, src.height // factor), max(1, src.width // factor))
            data = src.read(out_shape=(src.count, *shape), masked=True, out_dtype="float64")
            scales = np.array([s if s is not None else 1.0 for s in src.scales])
            offsets = np.array([o if o is not None else 0.0 for o in src.offsets])
        valid = ~np.ma.getmaskarray(data).any(axis=0) & np.isfinite(data.filled(np.nan)).all(0)
        empty += int((~valid).sum())
        total += valid.size
        for b in range(min(bands, data.shape[0])):
            samples[b].append(data[b].filled(np.nan)[valid] * scales[b] + offsets[b])
    stretch = {}
    for b, parts in enumerate(samples):
        values = np.concatenate(parts) if parts else np.empty(0)
        if values.size:
            low, high = np.percentile(values, STRETCH_PERCENTILES)
            stretch[b] = (float(low), float(high))
    return stretch, (empty / total if total else 1.0)


def add_imagery(
    engine: Engine,
    name: str,
    files: list[str],
    *,
    period: str,
    allowed_hosts: frozenset[str] | None = None,
) -> ImageryRecord:
    """Register rasters made elsewhere (a composite, a basemap, embedding rasters) under a name;
    their band names, footprint, scale and offset are read from the files' metadata."""
    from asm_db.imagery.read import open_imagery

    start, end = parse_period(period)
    if start is None or end is None:
        raise AsmdbError(f"--period {period!r}: give both dates, START/END")
    check_name_free(engine, name)
    files = [str(Path(f).resolve()) if Path(f).exists() else f for f in files]
    images = open_imagery(files, allowed_hosts=allowed_hosts)
    paths = [s.name for s in images.scenes]
    west, _, east, _ = images.bounds
    if not west < east:
        raise AsmdbError(
            f"{paths[0]}: the imagery's footprint crosses the antimeridian (west {west:.4f} > "
            f"east {east:.4f}); register each side as its own imagery"
        )
    stretch, empty = raster_stretch(paths, len(images.band_names))
    record = ImageryRecord(
        name=name,
        period_start=start,
        period_end=end,
        bounds=tuple(float(v) for v in images.bounds),
        bands=list(images.band_names),
        files=paths,
        scale=list(images.scale),
        offset=list(images.offset),
        stretch={images.band_names[b]: list(v) for b, v in stretch.items()},
        empty_fraction=empty,
        source={"made_by": "asmdb imagery add"},
    )
    register_imagery(engine, record)
    return record
