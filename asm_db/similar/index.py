"""A search index over one feature set: standardised unit vectors and a reduced copy of them.

Similarity is the cosine of standardised vectors (each feature centred and scaled by its mean
and standard deviation over the feature set). The index keeps, in a cache directory:

- `full.f32`: every standardised vector scaled to unit length (n x K float32, memory-mapped,
  so only the rows a search re-ranks are read);
- `reduced.npy`: the same vectors projected on their first `dims` principal components and
  scaled to unit length again (n x dims float32, in memory): a search scores every tile there,
  keeps the best `candidates`, and re-ranks those exactly on `full.f32`.

The cache is keyed by the database, the feature set and a digest of its rows' versions, so a
re-ingested feature set builds a new index; building streams the vectors with binary COPY and
holds one batch at a time, besides the memory-mapped file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg

from asm_db.db.keys import fits_bigint
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound
from asm_db.features.record import FeatureSet
from asm_db.features.vectors import tile_feature_batches

FORMAT = 1
DIMS = 128
SAMPLE_ROWS = 20_000
CHUNK_ROWS = 8_192


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "asmdb" / "similar"


@dataclass
class SimilarityIndex:
    feature_set: FeatureSet
    tile_ids: np.ndarray  # int64, ascending
    full: np.ndarray  # n x K float32 unit vectors (memory-mapped)
    reduced: np.ndarray  # n x dims float32 unit vectors
    components: np.ndarray  # dims x K float32

    def positions(self, tile_ids) -> np.ndarray:
        """Row numbers of these tiles; NotFound names the first tile without a vector."""
        beyond = [t for t in tile_ids if not fits_bigint(t)]
        if beyond:  # no tile has an id beyond bigint
            raise NotFound(
                f"tile {beyond[0]} has no vector in feature set '{self.feature_set.name}'"
            )
        wanted = np.asarray(tile_ids, dtype=np.int64)
        pos = np.searchsorted(self.tile_ids, wanted)
        pos = np.minimum(pos, len(self.tile_ids) - 1)
        missing = wanted[self.tile_ids[pos] != wanted]
        if missing.size:
            raise NotFound(
                f"tile {int(missing[0])} has no vector in feature set '{self.feature_set.name}'"
            )
        return pos

    def search(
        self, query_tile_ids, top: int = 100, candidates: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `top` tiles most similar to any query tile (queries left out), best first:
        (tile ids, exact cosine similarity of standardised vectors)."""
        if top < 1:
            raise AsmdbError("--top must be at least 1")
        query = np.unique(self.positions(query_tile_ids))
        if query.size == 0:
            raise AsmdbError("no query tiles")
        n = len(self.tile_ids)
        others = n - query.size
        top = min(top, others)
        if top <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        pool = min(others, max(candidates or 10 * top, 1000))
        best = np.full(n, -np.inf, dtype=np.float32)
        reduced_queries = self.reduced[query]
        for start in range(0, query.size, 256):  # bounded memory for thousands of queries
            scores = self.reduced @ reduced_queries[start : start + 256].T
            np.maximum(best, scores.max(axis=1), out=best)
        best[query] = -np.inf
        if pool < n:
            chosen = np.argpartition(-best, pool - 1)[:pool]
        else:
            chosen = np.arange(n)
        chosen = chosen[np.isfinite(best[chosen])]
        chosen.sort()  # memory-mapped rows read in file order
        exact = (self.full[chosen] @ np.asarray(self.full[query]).T).max(axis=1)
        order = np.argsort(-exact, kind="stable")[:top]
        return self.tile_ids[chosen[order]].astype(np.int64), exact[order].astype(np.float64)


def _digest(pg: psycopg.Connection, feature_set: FeatureSet) -> tuple[int, str]:
    n_features, n_tiles, digest = pg.execute(
        load_sql("similar/fingerprint"), {"feature_set_id": feature_set.feature_set_id}
    ).fetchone()
    if n_tiles == 0:
        raise NotFound(f"feature set '{feature_set.name}' has no vectors")
    info = pg.info
    where = f"{info.host}:{info.port}/{info.dbname}"
    key = hashlib.sha256(f"{where}|{feature_set.feature_set_id}|{digest}".encode()).hexdigest()
    return n_tiles, key[:32]


_loaded: dict[str, SimilarityIndex] = {}
_building = threading.Lock()
# How long a server trusts that a feature set is unchanged before digesting its rows again
# (the digest reads every row's version: tens of milliseconds at 75,000 tiles).
RECHECK_SECONDS = 60.0
_checked: dict[tuple, tuple[float, int, str]] = {}


def load_index(
    pg: psycopg.Connection,
    feature_set: FeatureSet,
    cache_dir: Path | None = None,
    dims: int = DIMS,
    progress=None,
    recheck_seconds: float = 0.0,
) -> SimilarityIndex:
    """The index of a feature set: from memory, else from the cache, else built and cached.

    The rows are digested on every call unless they were within `recheck_seconds` (a server
    passes RECHECK_SECONDS: a re-ingest then shows within a minute)."""
    where = (pg.info.host, pg.info.port, pg.info.dbname, feature_set.feature_set_id)
    seen = _checked.get(where)
    if seen is not None and time.monotonic() - seen[0] < recheck_seconds:
        n_tiles, key = seen[1], seen[2]
    else:
        n_tiles, key = _digest(pg, feature_set)
        _checked[where] = (time.monotonic(), n_tiles, key)
    folder = Path(cache_dir or default_cache_dir()) / f"{key}-d{dims}-v{FORMAT}"
    if str(folder) in _loaded:
        return _loaded[str(folder)]
    with _building:
        if str(folder) not in _loaded:
            if not (folder / "meta.json").exists():
                with no_statement_timeout(pg):
                    _build(pg, feature_set, n_tiles, folder, dims, progress)
            _loaded[str(folder)] = _open(folder, feature_set)
    return _loaded[str(folder)]


@contextlib.contextmanager
def no_statement_timeout(pg: psycopg.Connection):
    """Building an index reads every vector once: it may outlast a server's statement timeout,
    which applies to the searches, not to this."""
    before = pg.execute("SELECT current_setting('statement_timeout')").fetchone()[0]
    pg.execute("SELECT set_config('statement_timeout', '0', false)")
    try:
        yield
    finally:
        if not pg.closed and pg.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            pg.execute("SELECT set_config('statement_timeout', %s, false)", (before,))


def _open(folder: Path, feature_set: FeatureSet) -> SimilarityIndex:
    meta = json.loads((folder / "meta.json").read_text())
    tile_ids = np.load(folder / "tile_ids.npy")
    full = np.memmap(folder / "full.f32", dtype=np.float32, mode="r", shape=(meta["n"], meta["k"]))
    return SimilarityIndex(
        feature_set,
        tile_ids,
        full,
        np.load(folder / "reduced.npy"),
        np.load(folder / "components.npy"),
    )


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def _build(
    pg: psycopg.Connection,
    feature_set: FeatureSet,
    n_tiles: int,
    folder: Path,
    dims: int,
    progress=None,
) -> None:
    from sklearn.utils.extmath import randomized_svd

    k = feature_set.n_features
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    try:
        full = np.memmap(work / "full.f32", dtype=np.float32, mode="w+", shape=(n_tiles, k))
        tile_ids = np.empty(n_tiles, dtype=np.int64)
        total = np.zeros(k)
        squares = np.zeros(k)
        row = 0
        # One COPY is one snapshot; a count that differs from the digest's means a write came
        # in between, and the index is not kept.
        for ids, vectors in tile_feature_batches(pg, feature_set.feature_set_id, k):
            end = row + len(ids)
            if end > n_tiles:
                raise AsmdbError("the feature set changed while its index was built; retry")
            tile_ids[row:end] = ids
            full[row:end] = vectors
            v = vectors.astype(np.float64)
            total += v.sum(axis=0)
            squares += (v * v).sum(axis=0)
            row = end
            if progress:
                progress(row, n_tiles)
        if row != n_tiles:
            raise AsmdbError("the feature set changed while its index was built; retry")
        mean = total / n_tiles
        scale = np.sqrt(np.maximum(squares / n_tiles - mean * mean, 0.0))
        scale[scale == 0] = 1.0  # a constant feature adds nothing to any similarity
        mean32, scale32 = mean.astype(np.float32), scale.astype(np.float32)
        for start in range(0, n_tiles, CHUNK_ROWS):
            block = (full[start : start + CHUNK_ROWS] - mean32) / scale32
            full[start : start + CHUNK_ROWS] = _unit_rows(block)
        dims = max(1, min(dims, k, n_tiles))
        rng = np.random.default_rng(1991)
        sample = np.sort(rng.choice(n_tiles, size=min(SAMPLE_ROWS, n_tiles), replace=False))
        _, _, vt = randomized_svd(
            np.asarray(full[sample], dtype=np.float32), dims, random_state=1991
        )
        components = vt.astype(np.float32)
        reduced = np.empty((n_tiles, dims), dtype=np.float32)
        for start in range(0, n_tiles, CHUNK_ROWS):
            reduced[start : start + CHUNK_ROWS] = _unit_rows(
                full[start : start + CHUNK_ROWS] @ components.T
            )
        full.flush()
        del full
        np.save(work / "tile_ids.npy", tile_ids)
        np.save(work / "reduced.npy", reduced)
        np.save(work / "components.npy", components)
        np.save(work / "mean.npy", mean32)
        np.save(work / "scale.npy", scale32)
        meta = {"format": FORMAT, "n": n_tiles, "k": k, "dims": dims}
        (work / "meta.json").write_text(json.dumps(meta))
        try:
            work.rename(folder)
        except OSError:  # built meanwhile by another process: theirs is as good
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
