"""Rendered vector tiles of the map layers, kept in memory while the maps shown stay the same.

A map's tiles never change once written: what a tile of a layer `asm_db.layers` declares
tile-cached (`latest_predictions`, `latest_overviews`, `maps_by_period`, `overviews_by_period`)
shows changes only when another map is promoted. So the server keeps each such answer it made (status 200: its headers and
bytes, compressed as the client accepted, by URL), and forgets them all when
`asmdb.promoted_maps()` answers differently, which it asks at most every `check_seconds`. Only
these collections, and only for a request that passed the access check; the bytes are the same
for every visitor allowed to read the layer (the headers differ with and without a session, so
that is part of the key).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_db import layers
from asm_db.server import ogc
from asm_db.server.auth import current_session

CACHED_COLLECTIONS = frozenset(layer.collection_id for layer in layers.LAYERS if layer.tile_cached)
TILE_PATH = re.compile(
    r"^/collections/(?P<collection>[^/]+)/tiles/(?P<tms>[^/]+)/\d{1,2}/\d{1,9}/\d{1,9}$"
)
VERSION_SQL = "SELECT asmdb.promoted_maps()::text"


def cacheable_collection(path: str) -> str | None:
    """The collection of a tile request whose answer may be cached, or None."""
    match = TILE_PATH.match(path)
    if match is None or match["collection"] not in CACHED_COLLECTIONS:
        return None
    return match["collection"]


class TileCache:
    """At most `max_bytes` of tiles, least recently used dropped first."""

    def __init__(self, max_bytes: int, check_seconds: float) -> None:
        self.max_bytes = max_bytes
        self.check_seconds = check_seconds
        self.tiles: OrderedDict[tuple, tuple[list, bytes]] = OrderedDict()
        self.size = 0
        self.version: str | None = None
        self.checked = -float("inf")
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    async def check(self, pool) -> None:
        """Forget every tile if the maps shown changed since the last look (at most every
        check_seconds)."""
        now = time.monotonic()
        if now - self.checked < self.check_seconds:
            return
        self.checked = now
        async with pool.acquire() as conn:
            version = await conn.fetchval(VERSION_SQL)
        if version != self.version:
            self.clear()
            self.version = version

    def clear(self) -> None:
        self.tiles.clear()
        self.size = 0

    def get(self, key: tuple) -> tuple[list, bytes] | None:
        answer = self.tiles.get(key)
        if answer is None:
            self.misses += 1
            return None
        self.tiles.move_to_end(key)
        self.hits += 1
        return answer

    def put(self, key: tuple, headers: list, body: bytes, version: str | None) -> None:
        """Keep an answer made while the maps shown were `version` (dropped if they changed)."""
        if version != self.version or len(body) > self.max_bytes:
            return
        old = self.tiles.pop(key, None)
        if old is not None:
            self.size -= len(old[1])
        self.tiles[key] = (headers, body)
        self.size += len(body)
        while self.size > self.max_bytes:
            _, (_, dropped) = self.tiles.popitem(last=False)
            self.size -= len(dropped)


class TileCacheMiddleware:
    """ASGI middleware answering map-layer tile requests from `app.state.tile_cache`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        collection = (
            cacheable_collection(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET"
            else None
        )
        if collection is None:
            return await self.app(scope, receive, send)
        request = Request(scope)
        state = request.app.state
        cache: TileCache = state.tile_cache
        if not cache.enabled or not ogc.may_read(request, collection):
            return await self.app(scope, receive, send)
        await cache.check(state.pool)
        version = cache.version
        key = (
            scope["path"],
            "&".join(sorted(request.url.query.split("&"))),
            request.headers.get("accept-encoding", ""),
            current_session(request) is not None,
        )
        answer = cache.get(key)
        if answer is not None:
            headers, body = answer
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start.get("status") == 200:
                    cache.put(key, list(start["headers"]), b"".join(chunks), version)
            await send(message)

        await self.app(scope, receive, keep)
