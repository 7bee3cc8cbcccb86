"""Find the tiles most like some query tiles, and keep the answer as a layer for QGIS."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound
from asm_db.features.record import FeatureSet, resolve_feature_set
from asm_db.similar.index import load_index

METHOD = "cosine of standardised features; PCA-reduced candidates, exact re-rank"


@dataclass
class SimilarTiles:
    feature_set: FeatureSet
    query_tiles: list[int]
    source: str  # "tiles" or "confirmed"
    tile_ids: list[int]
    similarities: list[float]
    query_id: int | None = None
    skipped: list[int] = field(default_factory=list)  # confirmed tiles without a vector

    def as_records(self) -> list[dict]:
        return [
            {"tile_id": t, "similarity": s}
            for t, s in zip(self.tile_ids, self.similarities, strict=True)
        ]


def confirmed_tiles(pg: psycopg.Connection) -> list[int]:
    """Tiles under a mine label, and tiles a reviewer confirmed."""
    return [row[0] for row in pg.execute(load_sql("similar/confirmed_tiles"))]


def find_similar(
    pg: psycopg.Connection,
    tiles: list[int] | None = None,
    *,
    confirmed: bool = False,
    top: int = 100,
    feature_set: str | None = None,
    cache_dir: Path | None = None,
    progress=None,
    recheck_seconds: float = 0.0,
) -> SimilarTiles:
    """The `top` tiles most similar to any of `tiles` (or to every confirmed mine), best first."""
    if bool(tiles) == bool(confirmed):
        raise AsmdbError("give query tiles (--tile ID, repeatable) or --confirmed, not both")
    # As documented: the named set, else the promoted run's, else the newest with vectors.
    chosen = resolve_feature_set(pg, feature_set, default="promoted", complete=False)
    index = load_index(pg, chosen, cache_dir, progress=progress, recheck_seconds=recheck_seconds)
    skipped: list[int] = []
    if confirmed:
        query = confirmed_tiles(pg)
        if not query:
            raise NotFound("no confirmed mines: no mine labels and no confirmed reviews")
        present = np.isin(query, index.tile_ids)
        skipped = [t for t, p in zip(query, present, strict=True) if not p]
        query = [t for t, p in zip(query, present, strict=True) if p]
        if not query:
            raise NotFound(f"no confirmed mine's tile has a vector in feature set '{chosen.name}'")
    else:
        query = sorted({int(t) for t in tiles})
    tile_ids, similarities = index.search(query, top)
    return SimilarTiles(
        chosen,
        query,
        "confirmed" if confirmed else "tiles",
        [int(t) for t in tile_ids],
        [float(s) for s in similarities],
        skipped=skipped,
    )


def store_similar(pg: psycopg.Connection, result: SimilarTiles, top: int) -> int:
    """Keep a search and its results in `asmdb.similarity_queries` / `asmdb.similar_tiles`
    (one transaction); returns the query id."""
    with pg.transaction():
        query_id, _ = pg.execute(
            load_sql("similar/query_insert"),
            {
                "feature_set_id": result.feature_set.feature_set_id,
                "query_tiles": result.query_tiles,
                "source": result.source,
                "top": top,
                "method": METHOD,
            },
        ).fetchone()
        pg.execute(
            load_sql("similar/tiles_insert"),
            {
                "query_id": query_id,
                "tile_ids": result.tile_ids,
                "similarities": result.similarities,
            },
        )
    result.query_id = query_id
    return query_id
