"""`asmdb featurize`: imagery into a feature set, batch by batch, resumable, on Dask or alone.

The run is planned and checked before any tile is computed: the imagery's metadata, the tiles,
the filter bank, and the feature set (new, or the same parameters to resume). The feature set
row is committed first, marked incomplete; then each batch of tiles is computed (here, or on
Dask workers that read the imagery themselves from a work description: paths, tile ids,
parameters) and its vectors are committed by this process alone, one transaction per batch
(tiles created, vectors COPYed). A stopped run leaves whole batches; running the same command
again computes only the tiles that have no vector yet, and the vectors of a tile depend only on
its pixels and the filters, so the set ends bit for bit as an uninterrupted run would.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from psycopg import sql
from sqlalchemy.engine import Engine
from threadpoolctl import threadpool_limits

from asm_db.db import copy as pgcopy
from asm_db.db import locks
from asm_db.db.engine import check_ready, connect, driver
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError
from asm_db.feature_values import finite_float32
from asm_db.features.provenance import parse_period
from asm_db.features.write import (
    create_feature_set,
    finish_feature_set,
    get_provenance,
    tiles_with_vectors,
)
from asm_db.grid import Grid, check_cell_size, grid_for_cell_size
from asm_db.imagery import rcf
from asm_db.imagery.limits import DEFAULT_MAX_TILES, MAX_TILE_PIXELS
from asm_db.imagery.plan import plan_tiles
from asm_db.imagery.processing import DEFAULT_MIN_VALID, Processing, load_like
from asm_db.imagery.read import Imagery, TileReader, tile_pixels_for
from asm_db.ingest.tiles import create_missing_tiles

METHODS = ("rcf", "mean")
FILTER_KINDS = ("gaussian", "patches")
DEFAULT_BATCH_TILES = 32
PATCH_SAMPLE_TILES = 64  # tiles read to draw the patch filter bank from
PATCH_SAMPLE_WINDOWS = 100_000
PATCH_SAMPLE_BYTES = 256 * 2**20  # windows held at once while drawing the patch sample
# Why a planned tile gets no vector: counted, in the summary and the provenance.
SKIP_REASONS = ("no_valid_pixels", "below_min_valid", "non_finite")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Method:
    """What is computed per tile: every parameter a feature set's vectors depend on."""

    method: str = "rcf"
    features: int = 4000
    seed: int = 0
    filters: str = "gaussian"
    stats: tuple[str, ...] = ("mean",)
    tile_size: float = 0.01
    tile_pixels: int | None = None
    min_valid: float = DEFAULT_MIN_VALID

    def check(self) -> None:
        if self.method not in METHODS:
            raise AsmdbError(f"--method {self.method!r}: choose one of {', '.join(METHODS)}")
        if self.filters not in FILTER_KINDS:
            raise AsmdbError(f"--filters {self.filters!r}: choose one of {', '.join(FILTER_KINDS)}")
        if self.method == "rcf" and (self.features < 2 or self.features % 2):
            raise AsmdbError(f"--features {self.features}: needs an even number of at least 2")
        for stat in self.stats:
            if stat not in rcf.STATS:
                raise AsmdbError(f"--stats {stat!r}: choose from {', '.join(rcf.STATS)}")
        if self.tile_pixels is not None and not 3 <= self.tile_pixels <= MAX_TILE_PIXELS:
            raise AsmdbError(
                f"--tile-pixels {self.tile_pixels}: must be between 3 and {MAX_TILE_PIXELS:,}"
            )
        if not 0 <= self.min_valid <= 1:
            raise AsmdbError(f"--min-valid {self.min_valid}: must be between 0 and 1")
        check_cell_size(self.tile_size)


@dataclass(frozen=True)
class Work:
    """One batch's work description: small enough to ship to a Dask worker."""

    imagery: Imagery
    method: Method
    tile_ids: tuple[int, ...]
    grid: Grid


@dataclass
class BatchResult:
    tile_ids: np.ndarray
    vectors: np.ndarray
    skipped: dict[str, int]
    seconds: float


@dataclass
class FeaturizeResult:
    feature_set: str
    n_features: int
    tiles_planned: int
    tiles_done: int
    tiles_skipped: dict[str, int]
    tiles_added: int
    resumed_from: int
    seconds: float
    already_complete: bool = False
    notes: list[str] = field(default_factory=list)


def compute_batch(work: Work, bank: rcf.FilterBank | None) -> BatchResult:
    """Read and featurize one batch of tiles (runs wherever it is sent: here or a Dask worker)."""
    started = time.perf_counter()
    grid = work.grid
    n = work.method.tile_pixels
    ids, vectors = [], []
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    # One BLAS thread: the product per chunk is small (1,024 x 28 x K/2), where OpenBLAS's
    # threads wait on each other more than they compute; parallelism is one process per core.
    with TileReader(work.imagery) as reader, threadpool_limits(1):
        for tile_id in work.tile_ids:
            pixels, valid = reader.read(grid.bounds(tile_id), n)
            share = valid.mean()
            if share == 0:
                skipped["no_valid_pixels"] += 1
                continue
            if share < work.method.min_valid:
                skipped["below_min_valid"] += 1
                continue
            # Finite pixels can still overflow float32 in a product or a deviation.
            with np.errstate(over="ignore", invalid="ignore"):
                if work.method.method == "rcf":
                    vector = rcf.rcf_features(pixels, valid, bank)
                else:
                    vector = rcf.band_stats(pixels, valid, work.method.stats)
            if vector is None:  # valid pixels, but no whole valid 3x3 window
                skipped["below_min_valid"] += 1
                continue
            vector, finite = finite_float32(vector)
            if not finite.all():  # never stored: the rule `ingest features` applies to files
                skipped["non_finite"] += 1
                continue
            ids.append(tile_id)
            vectors.append(vector)
    k = bank.n_features if work.method.method == "rcf" else None
    matrix = np.vstack(vectors) if vectors else np.empty((0, k or 0), np.float32)
    return BatchResult(np.asarray(ids, np.int64), matrix, skipped, time.perf_counter() - started)


def sample_patch_bank(
    imagery: Imagery, method: Method, tile_ids: np.ndarray, grid: Grid
) -> rcf.FilterBank:
    """The `patches` bank: whitened 3x3 patches from tiles of this imagery drawn by the seed.

    The sample is PATCH_SAMPLE_WINDOWS windows drawn from all valid windows of up to
    PATCH_SAMPLE_TILES tiles. When those windows are more than PATCH_SAMPLE_BYTES, they are
    counted on a first reading and the drawn ones gathered on a second, so memory stays
    bounded at any tile size and the sample is the same either way."""
    rng = np.random.default_rng(method.seed)
    order = rng.permutation(len(tile_ids))[:PATCH_SAMPLE_TILES]
    with TileReader(imagery) as reader:

        def windows_of(i: int) -> np.ndarray:
            pixels, valid = reader.read(grid.bounds(tile_ids[i]), method.tile_pixels)
            return rcf.tile_windows(pixels, valid)

        counts, held, size = [], [], 0
        for i in order:
            windows = windows_of(i)
            counts.append(len(windows))
            if held is not None:
                held.append(windows)
                size += windows.nbytes
                if size > PATCH_SAMPLE_BYTES:
                    held = None  # too many to hold: the drawn ones are read again below
        total = sum(counts)
        drawn = (
            rng.choice(total, PATCH_SAMPLE_WINDOWS, replace=False)
            if (total > PATCH_SAMPLE_WINDOWS)
            else None
        )
        if held is not None:
            sample = np.concatenate(held)
            if drawn is not None:
                sample = sample[drawn]
        else:  # sample = (all windows, in order)[drawn], gathered tile by tile
            width = rcf.WINDOW * rcf.WINDOW * len(imagery.band_names)
            sample = np.empty((len(drawn), width), np.float32)
            start = 0
            for i, count in zip(order, counts, strict=True):
                here = np.flatnonzero((drawn >= start) & (drawn < start + count))
                if len(here):
                    sample[here] = windows_of(i)[drawn[here] - start]
                start += count
    if len(sample) < 2:
        raise AsmdbError("the imagery has too few valid 3x3 patches to draw --filters patches from")
    return rcf.patch_filters(sample, method.features, method.seed)


def parameters(imagery: Imagery, method: Method) -> dict:
    """Every parameter the vectors depend on, as stored and compared on resume."""
    out = {
        "method": method.method,
        "tile_size": method.tile_size,
        "tile_pixels": method.tile_pixels,
        "min_valid": method.min_valid,
        "bands": list(imagery.band_names),
        "scale": list(imagery.scale),
        "offset": list(imagery.offset),
        "mask_values": list(imagery.mask_values),
        "mask_band": any(s.mask is not None for s in imagery.scenes),
    }
    if method.method == "rcf":
        out.update(features=method.features, seed=method.seed, filters=method.filters)
    else:
        out.update(stats=list(method.stats))
    return out


def feature_names(imagery: Imagery, method: Method) -> list[str]:
    if method.method == "rcf":
        return [f"feature_{i}" for i in range(method.features)]
    return rcf.stat_names(list(imagery.band_names), method.stats)


def _existing(pg, name: str, params: dict):
    found = get_provenance(pg, name)
    if found is None:
        return None
    fs_id, complete, provenance = found
    stored = provenance.get("parameters")
    if stored != params:
        differs = sorted(
            k for k in set(stored or {}) | set(params) if (stored or {}).get(k) != params.get(k)
        )
        raise AsmdbError(
            f"feature set '{name}' exists with other parameters ({', '.join(differs) or 'not featurized'}); "
            "choose another --feature-set name or delete it with `asmdb feature-sets delete`"
        )
    return fs_id, complete, provenance


def batches(ids: np.ndarray, size: int) -> Iterator[tuple[int, ...]]:
    for start in range(0, len(ids), size):
        yield tuple(int(i) for i in ids[start : start + size])


def featurize(
    engine: Engine,
    imagery: Imagery,
    feature_set: str,
    method: Method,
    *,
    bbox=None,
    aoi: str | None = None,
    like: str | None = None,
    processing: Processing | None = None,
    period: str | None = None,
    source: str | None = None,
    batch_tiles: int = DEFAULT_BATCH_TILES,
    max_tiles: int = DEFAULT_MAX_TILES,
    workers: int | None = 0,
    scheduler: str | None = None,
    progress: Progress | None = None,
    notify: locks.Notify | None = None,
    registered: dict | None = None,
) -> FeaturizeResult:
    """Compute and store one vector per tile; commits batch by batch and resumes a stopped run.

    `like` reuses the method, parameters and filters of that set; its processing (scale,
    offset, mask, `min_valid`) is `processing`'s, decided with `asm_db.imagery.processing`
    (`open_processed`) before the imagery is opened, whose notes are sent to `notify` once
    the run is checked and starts. `registered` is the record of registered imagery (`asmdb
    imagery`) the pixels come from."""
    started = time.perf_counter()
    period_start, period_end = parse_period(period)
    with connect(engine) as conn:
        check_ready(conn)
        pg = driver(conn)
        bank = None
        if like is not None:
            provenance = load_like(pg, like)
            method, bank = _method_like(provenance, imagery, like, method)
        method.check()
        if method.tile_pixels is None:
            method = _with(method, tile_pixels=tile_pixels_for(imagery, method.tile_size))
        grid = grid_for_cell_size(pg, method.tile_size)
        tile_ids = plan_tiles(imagery, grid, bbox, aoi, max_tiles)
        if len(tile_ids) == 0:
            raise AsmdbError(
                "the imagery does not overlap the requested tiles "
                f"(imagery covers W,S,E,N = {','.join(f'{v:.4f}' for v in imagery.bounds)})"
            )
        params = parameters(imagery, method)
        existing = _existing(pg, feature_set, params)
        pg.commit()  # the grid, when it is new, is recorded; nothing else was written
        if existing is not None:
            fs_id, complete, provenance = existing
            if complete:
                return FeaturizeResult(
                    feature_set,
                    len(provenance["feature_names"]),
                    len(tile_ids),
                    provenance["tiles"]["done"],
                    provenance["tiles"]["skipped"],
                    0,
                    0,
                    time.perf_counter() - started,
                    already_complete=True,
                )
            if method.method == "rcf":
                bank = rcf.FilterBank.from_json(provenance["filters"])
        if method.method == "rcf" and bank is None:
            if method.filters == "gaussian":
                bank = rcf.gaussian_filters(method.features, len(imagery.band_names), method.seed)
            else:
                bank = sample_patch_bank(imagery, method, tile_ids, grid)
        names = feature_names(imagery, method)
        if existing is None:
            provenance = _provenance(imagery, method, params, bank, names, like, tile_ids)
            if registered is not None:
                provenance["registered_imagery"] = {
                    key: registered.get(key)
                    for key in ("name", "period_start", "period_end", "source", "item_ids")
                }
            if processing is not None:
                provenance["processing"] = processing.sources
            dates = imagery.dates()
            if period_start is None and period_end is None and dates:
                period_start, period_end = (
                    date.fromisoformat(dates[0][:10]),
                    date.fromisoformat(dates[-1][:10]),
                )
            # Committed at once: the set exists, incomplete, before any batch.
            fs_id = create_feature_set(
                pg,
                feature_set,
                names,
                grid,
                provenance=provenance,
                source=source,
                period_start=period_start,
                period_end=period_end,
                complete=False,
            )
        done = tiles_with_vectors(pg, fs_id)
        pg.commit()
        for note in processing.notes if processing is not None and notify is not None else ():
            notify(note)
        resumed_from = len(done)
        todo = tile_ids[~np.isin(tile_ids, np.fromiter(done, np.int64, len(done)))]
        skipped = dict.fromkeys(SKIP_REASONS, 0)
        added = 0
        stored = resumed_from
        handled = resumed_from
        if progress:
            progress(handled, len(tile_ids))
        works = (Work(imagery, method, ids, grid) for ids in batches(todo, batch_tiles))
        for result in run_batches(works, bank, workers=workers, scheduler=scheduler):
            added += _write_batch(pg, fs_id, grid, result, len(names), notify)
            stored += len(result.tile_ids)
            for reason, count in result.skipped.items():
                skipped[reason] += count
            handled += len(result.tile_ids) + sum(result.skipped.values())
            if progress:
                progress(handled, len(tile_ids))
        tiles = {"planned": len(tile_ids), "done": stored, "skipped": skipped}
        finish_feature_set(pg, fs_id, tiles)
        pg.commit()
        pg.execute("ANALYZE asmdb.tile_features")
    return FeaturizeResult(
        feature_set,
        len(names),
        len(tile_ids),
        stored,
        skipped,
        added,
        resumed_from,
        time.perf_counter() - started,
    )


def _with(current: Method, **changes) -> Method:
    from dataclasses import replace

    return replace(current, **changes)


def _method_like(provenance: dict, imagery: Imagery, like: str, method: Method):
    p = provenance["parameters"]
    if len(p["bands"]) != len(imagery.band_names):
        raise AsmdbError(
            f"--like {like}: feature set '{like}' was made from {len(p['bands'])} bands, "
            f"this imagery has {len(imagery.band_names)}"
        )
    reused = _with(
        method,
        method=p["method"],
        features=p.get("features", method.features),
        seed=p.get("seed", method.seed),
        filters=p.get("filters", method.filters),
        stats=tuple(p.get("stats", method.stats)),
        tile_size=p["tile_size"],
        tile_pixels=p["tile_pixels"],
    )
    bank = rcf.FilterBank.from_json(provenance["filters"]) if p["method"] == "rcf" else None
    return reused, bank


def _provenance(imagery, method, params, bank, names, like, tile_ids) -> dict:
    return {
        "made_by": "asmdb featurize",
        "parameters": params,
        "filters": bank.to_json() if bank is not None else None,
        "filters_sha256": hashlib.sha256(bank.weights.tobytes()).hexdigest()
        if bank is not None
        else None,
        "like": like,
        "mask_band": imagery.mask_band,
        "feature_names": names,
        "imagery": list(imagery.sources),
        "bounds": list(imagery.bounds),
        "tiles": {"planned": len(tile_ids), "done": 0, "skipped": {}},
    }


COPY_COLUMNS = [("feature_set_id", "int4"), ("tile_id", "int8")]


def _write_batch(pg, fs_id: int, grid: Grid, result: BatchResult, k: int, notify) -> int:
    """One batch in one transaction: its tiles created, its vectors COPYed. The only writer."""
    if len(result.tile_ids) == 0:
        return 0
    columns = COPY_COLUMNS + [("features", ("float32", k))]
    # One transaction, committed below; an error rolls this batch back.
    locks.hold(pg, "ingest features", notify)
    with pg.cursor() as cur:
        added = create_missing_tiles(cur, grid, result.tile_ids)
        with cur.copy(sql.SQL(load_sql("features/tile_features_copy"))) as copy:
            copy.write(pgcopy.HEADER)
            copy.write(
                pgcopy.encode_rows(
                    columns,
                    {
                        "feature_set_id": np.full(len(result.tile_ids), fs_id, np.int32),
                        "tile_id": result.tile_ids.astype(np.int64),
                        "features": result.vectors,
                    },
                )
            )
            copy.write(pgcopy.TRAILER)
    pg.commit()
    return added


def run_batches(
    works: Iterable[Work], bank, *, workers: int | None = 0, scheduler: str | None = None
) -> Iterator[BatchResult]:
    """Each work's result, in the order they finish: here (workers=0) or on Dask (a local
    cluster of `workers` processes, one per core when None, or the cluster of `scheduler`)."""
    if scheduler is None and workers == 0:
        for work in works:
            yield compute_batch(work, bank)
        return
    from asm_db.imagery.cluster import dask_batches

    yield from dask_batches(works, bank, workers=workers, scheduler=scheduler)
