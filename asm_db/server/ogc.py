"""tipg's OGC API - Features and Tiles, limited to asmdb's user-facing layers.

Only the layers `asm_db.layers` declares served are in the catalog: never the partitions of
`predictions` nor `model_runs`. Anonymous visitors of a `--public` server see its public layers
(the map layers) only; labels, the review queue and similar tiles need a login.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import asyncpg
from cql2 import Expr
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from morecantile import Tile
from morecantile import tms as tile_matrix_sets
from tipg import collections as tipg_collections
from tipg.collections import Catalog, Collection, CollectionList, pg_get_collection_index
from tipg.database import connection_factory
from tipg.dependencies import (
    CollectionParams,
    CollectionsParams,
    TileParams,
    filter_query,
    ids_query,
)
from tipg.factory import Endpoints
from tipg.settings import DatabaseSettings

from asm_db import layers
from asm_db.server import filters, params
from asm_db.server.auth import current_session
from asm_db.server.settings import ServerSettings
from asm_db.server.visitors import as_reader, visitor_setup

SCHEMA = layers.SCHEMA
PUBLIC_COLLECTIONS = frozenset(layer.collection_id for layer in layers.public())
USER_COLLECTIONS = tuple(layer.collection_id for layer in layers.served())


def may_read(request: Request, collection_id: str) -> bool:
    """Whether this request may read that collection: any with a session, map layers when public."""
    if current_session(request) is not None:
        return True
    return request.app.state.settings.public and collection_id in PUBLIC_COLLECTIONS


def collection_for_user(
    request: Request,
    collectionId: Annotated[str, Path(description="Collection identifier")],  # noqa: N803
) -> Collection:
    """tipg's collection lookup, after asmdb's access rule (401 without the right to read)."""
    catalog = getattr(request.app.state, "collection_catalog", None)
    if catalog is None or collectionId not in catalog["collections"]:
        raise HTTPException(status_code=404, detail=f"collection '{collectionId}' not found")
    if not may_read(request, collectionId):
        raise HTTPException(status_code=401, detail="log in to read this layer")
    collection = CollectionParams(request, collectionId)
    item = request.path_params.get("itemId")
    if item is not None and collection.id_column is not None:
        if not params.id_fits(item, collection.id_column.type):
            raise HTTPException(
                status_code=404,
                detail=f"no item {item!r} in {collectionId}: its ids are {collection.id_column.type}",
            )
    for name in request.query_params:
        column = collection.get_column(name)
        if column is not None and column.is_geometry:
            raise HTTPException(
                status_code=400,
                detail=f"{name}: choose by place with bbox or filter=S_INTERSECTS({name}, ...)",
            )
    return collection


def filter_for_user(
    collection: Annotated[Collection, Depends(collection_for_user)],
    query: Annotated[str | None, Query(alias="filter", description="CQL2 filter")] = None,
    filter_lang: Annotated[
        Literal["cql2-text", "cql2-json"] | None,
        Query(alias="filter-lang", description="cql2-text (the default) or cql2-json"),
    ] = None,
) -> Expr | None:
    """tipg's CQL2 filter, once `filters` has checked it against the collection's columns."""
    if query is None:
        return None
    columns = {column.name: column.type for column in collection.properties}
    try:
        return Expr(filters.checked_filter(query, filter_lang, columns))
    except filters.FilterRejected as exc:
        raise HTTPException(status_code=400, detail=f"filter: {exc}") from exc


def ids_for_user(
    collection: Annotated[Collection, Depends(collection_for_user)],
    ids: Annotated[str | None, Query(description="Filter by ids (comma-separated)")] = None,
) -> list[str] | None:
    """tipg's `ids`, each of which fits the collection's key (else the item cannot exist)."""
    if not ids:
        return None
    wanted = ids.split(",")
    key = collection.id_column
    for item in wanted:
        if key is not None and not params.id_fits(item, key.type):
            raise HTTPException(
                status_code=404,
                detail=f"no item {item!r} in {collection.id}: its ids are {key.type}",
            )
    return wanted


def tile_in_matrix(
    tileMatrixSetId: Annotated[str, Path()],  # noqa: N803
    z: Annotated[int, Path(description="Zoom level (tile matrix) of the tile")],
    x: Annotated[int, Path(description="Column of the tile in its tile matrix")],
    y: Annotated[int, Path(description="Row of the tile in its tile matrix")],
) -> Tile:
    """tipg's tile from z/x/y, when the tile matrix set has that tile (404 otherwise)."""
    if tileMatrixSetId not in tile_matrix_sets.list():
        raise HTTPException(status_code=404, detail=f"no tile matrix set {tileMatrixSetId!r}")
    tms = tile_matrix_sets.get(tileMatrixSetId)
    if not tms.minzoom <= z <= tms.maxzoom:
        raise HTTPException(
            status_code=404,
            detail=f"no zoom {z} in {tileMatrixSetId}: zooms {tms.minzoom} to {tms.maxzoom}",
        )
    matrix = tms.matrix(z)
    if not (0 <= x < matrix.matrixWidth and 0 <= y < matrix.matrixHeight):
        raise HTTPException(
            status_code=404,
            detail=f"no tile {z}/{x}/{y} in {tileMatrixSetId}: at zoom {z} x is 0 to "
            f"{matrix.matrixWidth - 1} and y 0 to {matrix.matrixHeight - 1}",
        )
    return Tile(x, y, z)


# tipg's dependencies that asmdb answers in its own way (`app.dependency_overrides`).
DEPENDENCY_OVERRIDES = {
    filter_query: filter_for_user,
    ids_query: ids_for_user,
    TileParams: tile_in_matrix,
}


def collections_for_user(
    request: Request, listed: Annotated[CollectionList, Depends(CollectionsParams)]
) -> CollectionList:
    """tipg's collection list without the collections this request may not read."""
    if current_session(request) is None and not request.app.state.settings.public:
        raise HTTPException(status_code=401, detail="log in to read the layers")
    visible = [c for c in listed["collections"] if may_read(request, c.id)]
    hidden = len(listed["collections"]) - len(visible)
    return CollectionList(
        collections=visible,
        matched=(listed.get("matched") or len(visible)) - hidden,
        next=listed.get("next"),
        prev=listed.get("prev"),
    )


def ogc_router() -> Endpoints:
    """tipg's endpoints (with /conformance; asmdb's own page answers at `/`)."""
    return Endpoints(
        title="asmdb",
        collection_dependency=collection_for_user,
        collections_dependency=collections_for_user,
        with_tiles_viewer=False,
        with_common=True,
    )


async def open_pool(app: FastAPI, settings: ServerSettings) -> None:
    """The server's asyncpg pool, with tipg's catalog functions in each session's pg_temp;
    each connection taken runs as the current visitor (`visitors`), under the statement
    timeout."""
    tipg_collections.mvt_settings.max_features_per_tile = settings.max_features_per_tile
    tipg_init = connection_factory([SCHEMA], "pg_temp")

    async def init(conn: asyncpg.Connection) -> None:
        # The reader's sessions are read-only by default: tipg's functions in pg_temp are
        # made in an explicitly read-write transaction (temporary objects only; the role may
        # write nothing else).
        await conn.execute("BEGIN READ WRITE")
        try:
            await tipg_init(conn)
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")

    app.state.pool = await asyncpg.create_pool(
        settings.libpq_url(),
        min_size=1,
        max_size=settings.pool_size,
        init=init,
        setup=visitor_setup(app),
        server_settings={
            "jit": "off",
            "application_name": "asmdb serve",
            "statement_timeout": str(settings.statement_timeout_ms()),
        },
    )


async def register_catalog(app: FastAPI, **_: object) -> None:
    """Read asmdb's user-facing layers into tipg's catalog (again every catalog TTL)."""
    db_settings = DatabaseSettings(
        schemas=[SCHEMA], tables=list(USER_COLLECTIONS), only_spatial_tables=True
    )
    async with app.state.pool.acquire() as conn:
        await as_reader(conn)
        found = await pg_get_collection_index(conn, settings=db_settings)
    collections = {}
    for collection in found:
        if collection.id not in USER_COLLECTIONS:
            continue
        # Views have no primary key for tipg to find: the registry names their key.
        if collection.id_column is None:
            key = layers.BY_COLLECTION[collection.id].key
            collection.id_column = next(
                (c for c in collection.table_columns if c.name == key), None
            )
        collections[collection.id] = collection
    app.state.collection_catalog = Catalog(
        collections=collections, last_updated=datetime.datetime.now()
    )
