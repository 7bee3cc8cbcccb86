"""Registered imagery on the web map: the list (`/api/imagery`; with a period and a bbox, the
imagery meeting them, best first, by the rule `review export --imagery` follows) and its PNG tiles.

Only imagery in `asmdb.imagery` is served: a tile's name is looked up there as the request's
visitor, whose role reads what lists an imagery (never its files); what it is drawn from
(files, scale, offset, stretch) is then read by its imagery_id as the server's reader, never
taken from the request. Imagery follows the map
layers' access rule (`asm_db.layers.IMAGERY`): anonymous visitors read it on a `--public` server
only. Tiles are drawn in worker threads, at most `imagery_renders` at once.

Caching: an answer that needs a login (a server that is not public, or a visitor with a session)
is `private, no-store`. On a public server an anonymous tile is `public, no-cache` with an ETag
naming this registration of the name (its imagery_id and created_at), the state of its local
files (modification time, size, inode) and the drawing's version: a cache keeps the tile but asks
again each time, and gets a 304 (one lookup, no drawing) while the same registration of the same
files stands; an imagery registered again under the same name, or a local file written again,
has another ETag, so no cache shows the old pictures.

The server keeps the tiles it drew (`DrawnTiles`, `imagery_cache_mb`) by the same registration,
file states and tile: a tile is drawn again when the name is registered again or a file changes.
A kept tile is looked up only after the access check and the registry lookup as the visitor, so
it reaches only those who may read the imagery; the bytes are the same for all of them, the
headers are made for each. A remote file is taken to stay the same while it is registered.
"""

from __future__ import annotations

import logging
import math
import re
import zlib
from collections import OrderedDict
from datetime import date
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from asm_db import layers
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import InputError
from asm_db.imagery.read import gdal_href
from asm_db.imagery.registry import MAX_NAME, NAME_PATTERN
from asm_db.imagery.web_tiles import MAX_ZOOM, TileSource, file_state, render_tile
from asm_db.server.auth import current_session
from asm_db.server.visitors import psycopg_as_reader, visitor_connection

log = logging.getLogger("asmdb.server")
router = APIRouter()

# A name in the route follows the registry's naming rule (MAX_NAME, NAME_PATTERN); anything else
# is refused (422) before the database is asked.
# Changes when the drawing of a tile changes, so caches let go of tiles drawn the old way.
RENDER_VERSION = "2"
NO_STORE = "private, no-store"
REVALIDATE = "public, no-cache"


class DrawnTiles:
    """Imagery tiles drawn, at most `max_bytes` of them, least recently used dropped first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.tiles: OrderedDict[tuple, bytes] = OrderedDict()
        self.size = 0
        self.hits = self.misses = 0

    def get(self, key: tuple) -> bytes | None:
        png = self.tiles.get(key)
        if png is None:
            self.misses += 1
            return None
        self.tiles.move_to_end(key)
        self.hits += 1
        return png

    def put(self, key: tuple, png: bytes) -> None:
        if len(png) > self.max_bytes:
            return
        old = self.tiles.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self.tiles[key] = png
        self.size += len(png)
        while self.size > self.max_bytes:
            _, dropped = self.tiles.popitem(last=False)
            self.size -= len(dropped)


def file_states(row: tuple) -> tuple | None:
    """The state of each file of an imagery (`file_state`: modification time, size, inode of a
    local file; None for a remote one), or None when a file cannot be looked at."""
    try:
        return tuple(file_state(gdal_href(f)) for f in row[5])
    except OSError:
        return None


def may_read_imagery(request: Request) -> bool:
    """Whether this request may read imagery: any with a session; anonymous visitors of a public
    server when the registry declares imagery public (as the map layers)."""
    if current_session(request) is not None:
        return True
    return request.app.state.settings.public and layers.IMAGERY.public


def _require_access(request: Request) -> None:
    if not may_read_imagery(request):
        raise HTTPException(status_code=401, detail="log in to see the imagery")


def listing(row: tuple) -> dict:
    """One imagery as `/api/imagery` lists it (the keys `asmdb imagery list --json` has too)."""
    name, start, end, bounds, bands = row
    return {
        "name": name,
        "period_start": start.isoformat() if start else None,
        "period_end": end.isoformat() if end else None,
        "bounds": [float(v) for v in bounds],
        "bands": list(bands),
        "tiles": layers.IMAGERY.tiles_of(name),
    }


# `/api/imagery?period=START/END&bbox=W,S,E,N`: the query's longest values, and a date's form.
MAX_PERIOD = 21
MAX_BBOX = 200
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_period(text: str) -> tuple[date, date]:
    """START/END (ISO dates, START not after END) as two dates; a 400 with one line otherwise."""
    ends = text.split("/")
    try:
        if len(ends) != 2 or not all(ISO_DATE.fullmatch(end) for end in ends):
            raise ValueError
        start, end = (date.fromisoformat(end) for end in ends)
    except ValueError:
        raise HTTPException(
            status_code=400, detail="period: START/END, dates as YYYY-MM-DD"
        ) from None
    if start > end:
        raise HTTPException(
            status_code=400, detail=f"period: its start {start} is after its end {end}"
        )
    return start, end


def parse_bbox(text: str) -> list[float]:
    """W,S,E,N (degrees, EPSG:4326, west < east, south < north) as four numbers; a 400 with one
    line otherwise."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise HTTPException(status_code=400, detail="bbox: W,S,E,N, four numbers (degrees)")
    w, s, e, n = values
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise HTTPException(
            status_code=400,
            detail="bbox: west < east within -180..180, south < north within -90..90",
        )
    return values


@router.get(layers.IMAGERY.list_url)
async def imagery_list(
    request: Request,
    period: Annotated[str | None, Query(max_length=MAX_PERIOD)] = None,
    bbox: Annotated[str | None, Query(max_length=MAX_BBOX)] = None,
) -> dict:
    """The registered imagery this visitor may draw, by period then name: name, period (ISO
    dates), bounds [w, s, e, n], bands and the tile URL template. With `period` (and `bbox`):
    only the imagery meeting them, best first (`imagery/imagery_for_period`, the rule `review
    export --imagery` follows)."""
    if bbox is not None and period is None:
        raise HTTPException(status_code=400, detail="bbox: give a period with it")
    params = None
    if period is not None:
        start, end = parse_period(period)
        boxes = None if bbox is None else [parse_bbox(bbox)]
        params = {"start": start, "end": end, "boxes": boxes, "names": None}
    _require_access(request)
    async with visitor_connection(request.app.state.psycopg_pool, request) as conn:
        if params is None:
            cur = await conn.execute(load_sql("web/imagery_offered"))
        else:
            cur = await conn.execute(load_sql("imagery/imagery_for_period"), params)
        rows = await cur.fetchall()
    return {"imagery": [listing(row[:5]) for row in rows]}


def _source(row: tuple) -> TileSource:
    _, _, name, bounds, bands, files, scale, offset, stretch = row
    return TileSource(
        name=name,
        bounds=tuple(float(v) for v in bounds),
        bands=tuple(bands),
        files=tuple(files),
        scale=tuple(float(v) for v in scale),
        offset=tuple(float(v) for v in offset),
        stretch=stretch,
    )


def _etag(imagery_id: int, created_at, states: tuple | None) -> str:
    files = "gone" if states is None else f"{zlib.crc32(repr(states).encode()):08x}"
    return f'"{imagery_id}-{created_at.timestamp():.6f}-{files}-{RENDER_VERSION}"'


@router.get(layers.IMAGERY.tiles, response_class=Response)
async def imagery_tile(
    request: Request,
    name: Annotated[str, Path(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN)],
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """A 256 x 256 PNG of a registered imagery (transparent where it has no data)."""
    if x >= 2**z or y >= 2**z:
        raise HTTPException(
            status_code=404, detail=f"no tile {z}/{x}/{y}: at zoom {z} x and y are 0 to {2**z - 1}"
        )
    _require_access(request)
    async with visitor_connection(request.app.state.psycopg_pool, request) as conn:
        cur = await conn.execute(load_sql("web/imagery_source"), {"name": name})
        seen = await cur.fetchone()
        drawing = None
        if seen is not None:  # the visitor may read it: what it is drawn from, as the reader
            await psycopg_as_reader(conn)
            cur = await conn.execute(load_sql("web/imagery_drawing"), {"imagery_id": seen[0]})
            drawing = await cur.fetchone()
    if seen is None or drawing is None:
        raise HTTPException(status_code=404, detail=f"no imagery named '{name}'")
    row = (*seen, *drawing)
    states = file_states(row)
    anonymous = current_session(request) is None
    headers = {"Vary": "Cookie"}
    if anonymous and request.app.state.settings.public:
        etag = _etag(row[0], row[1], states)
        headers.update({"Cache-Control": REVALIDATE, "ETag": etag})
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
    else:
        headers["Cache-Control"] = NO_STORE
    drawn: DrawnTiles = request.app.state.imagery_tiles
    key = None if states is None or not drawn.max_bytes else (row[0], row[1], states, z, x, y)
    png = drawn.get(key) if key is not None else None
    if png is None:
        png = await _draw(request, row, z, x, y)
        if key is not None:
            drawn.put(key, png)
    return Response(png, media_type="image/png", headers=headers)


async def _draw(request: Request, row: tuple, z: int, x: int, y: int) -> bytes:
    source = _source(row)
    settings = request.app.state.settings
    draw = partial(render_tile, source, z, x, y, settings.allowed_hosts_set())
    try:
        return await anyio.to_thread.run_sync(draw, limiter=request.app.state.imagery_renders)
    except InputError as exc:  # a file gone, unreadable or on a host not allowed: logged only
        log.error("imagery %r tile %s/%s/%s: %s", source.name, z, x, y, exc)
        raise HTTPException(
            status_code=500, detail=f"imagery '{source.name}' cannot be read on this server"
        ) from None
