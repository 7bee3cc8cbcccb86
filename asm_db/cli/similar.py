"""`asmdb similar`: "find more like this" from some tiles or from every confirmed mine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, notify, print_table


def similar(
    tile: Annotated[
        list[int] | None,
        typer.Option("--tile", help="A query tile id (repeat for several).", min=0),
    ] = None,
    confirmed: Annotated[
        bool,
        typer.Option(
            "--confirmed", help="Query with every confirmed mine (mine labels, confirmed reviews)."
        ),
    ] = False,
    top: Annotated[int, typer.Option(min=1, max=100_000, help="How many tiles to return.")] = 100,
    feature_set: Annotated[
        str | None,
        typer.Option(help="Feature set to search (default: the promoted run's)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print [{tile_id, similarity}, ...], best first.")
    ] = False,
    store: Annotated[
        bool,
        typer.Option(
            "--store/--no-store", help="Keep the results in asmdb.similar_tiles for QGIS."
        ),
    ] = True,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="ASMDB_CACHE_DIR",
            help="Where the search index is kept (default ~/.cache/asmdb/similar).",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The tiles whose standardised feature vectors are most like the query tiles' (cosine,
    best similarity to any query tile, the query tiles left out)."""
    import psycopg

    from asm_db.db.engine import check_ready, connect, create_engine
    from asm_db.db.engine import database_url as full_url
    from asm_db.similar.search import find_similar, store_similar

    engine = create_engine(database_url)
    with connect(engine) as conn:
        check_ready(conn)
    engine.dispose()
    libpq_url = full_url(database_url).replace("postgresql+psycopg://", "postgresql://", 1)

    def progress(done: int, total: int) -> None:
        if done == total or done % 20_000 < 2_000:
            notify(f"building the search index: {done:,} of {total:,} vectors")

    with psycopg.connect(libpq_url, autocommit=True) as pg:
        result = find_similar(
            pg,
            tile,
            confirmed=confirmed,
            top=top,
            feature_set=feature_set,
            cache_dir=cache_dir,
            progress=progress,
        )
        if store:
            store_similar(pg, result, top)
    if result.skipped:
        notify(f"{len(result.skipped)} confirmed tile(s) have no vector and were not used")
    if store:
        notify(
            f"query {result.query_id}: {len(result.tile_ids)} tiles in asmdb.similar_tiles "
            f"(feature set {result.feature_set.name}, {len(result.query_tiles)} query tiles)"
        )
    if as_json:
        print(json.dumps(result.as_records()))
    elif result.tile_ids:
        rows = [("rank", "tile_id", "similarity")]
        rows += [
            (str(i), str(t), f"{s:.4f}")
            for i, (t, s) in enumerate(zip(result.tile_ids, result.similarities, strict=True), 1)
        ]
        print_table(rows)
