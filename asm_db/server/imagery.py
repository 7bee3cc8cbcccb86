"""Registered imagery on the web map: the list (`/api/imagery`; with a period and a bbox, the
imagery meeting them, best first, by the rule `review export --imagery` follows) and its PNG tiles.

Only imagery in `asmdb.imagery` is served: a tile's name is looked up there as the request's
visitor, whose role reads what lists an imagery (never its files); what it is drawn from
(files, scale, offset, stretch) is then read by its imagery_id as the server's reader, never
taken from the request. Imagery follows the map
layers' access rule (`asm_db.layers.IMAGERY`): anonymous visitors read it on a `--public` server
only.

What one tile costs is bounded: a tile that would read more than `MAX_SOURCE_PIXELS` of a file
(at the overview it reads) is answered transparent, with `EMPTY_HEADER` saying so and the
imagery's lowest zoom, without reading; the list gives that zoom (`minzoom`) so the page never
asks below it. Tiles are drawn in worker threads, at most `imagery_renders` at once; at most
`imagery_waiting` more wait for a turn, and one more is answered 503 with Retry-After at once; a
tile whose client left while it waited is not drawn.

Caching: an answer that needs a login (a server that is not public, or a visitor with a session)
is `private, no-store`. On a public server an anonymous tile is `public, no-cache` with an ETag,
an opaque hash of this registration of the name (its imagery_id and created_at), the state of
its local files (modification time, size, inode) and the drawing's version: a cache keeps the tile but asks
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

import hashlib
import logging
import math
import re
import time
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
from asm_db.imagery.web_tiles import (
    MAX_ZOOM,
    TileSource,
    TooCoarse,
    check_tile,
    empty_tile,
    file_state,
    min_zoom,
    render_tile,
)
from asm_db.server.auth import current_session
from asm_db.server.visitors import client_left, psycopg_as_reader, visitor_connection

log = logging.getLogger("asmdb.server")
router = APIRouter()

# Changes when the drawing of a tile changes, so caches let go of tiles drawn the old way.
RENDER_VERSION = "3"
# A transparent tile not drawn because its zoom would read too much of a file says so here, with
# the lowest zoom the imagery is drawn at ("too-coarse; minzoom=10").
EMPTY_HEADER = "X-Asmdb-Empty"
RETRY_AFTER = 1  # seconds, when too many tiles wait to be drawn (503)
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


def listing(row: tuple, minzoom: int = layers.IMAGERY.minzoom) -> dict:
    """One imagery as `/api/imagery` lists it (the keys `asmdb imagery list --json` has too, and
    the lowest zoom its tiles are drawn at)."""
    name, start, end, bounds, bands = row
    return {
        "name": name,
        "period_start": start.isoformat() if start else None,
        "period_end": end.isoformat() if end else None,
        "bounds": [float(v) for v in bounds],
        "bands": list(bands),
        "tiles": layers.IMAGERY.tiles_of(name),
        "minzoom": minzoom,
    }


def min_zooms(files: dict[int, list[str]], allowed_hosts: frozenset[str] | None) -> dict[int, int]:
    """Each imagery's lowest zoom (`web_tiles.min_zoom`) by imagery_id; the default one for an
    imagery whose files cannot be read now (its tiles say so)."""
    zooms = {}
    for imagery_id, paths in files.items():
        try:
            zooms[imagery_id] = min_zoom(tuple(paths), allowed_hosts)
        except InputError:
            zooms[imagery_id] = layers.IMAGERY.minzoom
    return zooms


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
        ids = [row[-1] for row in rows]
        files = {}
        if ids:  # the visitor may read these: their files, as the reader, for their zooms
            await psycopg_as_reader(conn)
            cur = await conn.execute(load_sql("web/imagery_files"), {"ids": ids})
            files = dict(await cur.fetchall())
    hosts = request.app.state.settings.allowed_hosts_set()
    zooms = await anyio.to_thread.run_sync(min_zooms, files, hosts)
    default = layers.IMAGERY.minzoom
    return {"imagery": [listing(row[:5], zooms.get(row[-1], default)) for row in rows]}


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
    """An opaque tag of this registration, its files' states and the drawing's version: a hash,
    so that it tells nothing of the registry or the files."""
    named = repr((imagery_id, created_at.isoformat(), states, RENDER_VERSION)).encode()
    return f'"{hashlib.blake2b(named, digest_size=16).hexdigest()}"'


# One entity tag of an If-None-Match list: optionally weak (W/), quoted, without spaces or quotes.
ENTITY_TAG = re.compile(r'(W/)?("[\x21\x23-\x7e\x80-\xff]*")')


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header matches `etag`: `*`, or a comma-separated list of entity
    tags one of which is it, compared weakly (W/ ignored) as RFC 9110 says for this header."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    for item in header.split(","):
        found = ENTITY_TAG.fullmatch(item.strip())
        if found is not None and found.group(2) == etag:
            return True
    return False


@router.get(layers.IMAGERY.tiles, response_class=Response)
async def imagery_tile(
    request: Request,
    # The registry's naming rule: any other name is a 422 before the database is asked.
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
            drawings: Drawings = request.app.state.imagery_drawings
            drawing = drawings.get((seen[0], seen[1]))
            if drawing is None:
                await psycopg_as_reader(conn)
                cur = await conn.execute(load_sql("web/imagery_drawing"), {"imagery_id": seen[0]})
                drawing = await cur.fetchone()
                if drawing is not None:
                    drawings.put((seen[0], seen[1]), drawing)
    if seen is None or drawing is None:
        raise HTTPException(status_code=404, detail=f"no imagery named '{name}'")
    row = (*seen, *drawing)
    states = file_states(row)
    anonymous = current_session(request) is None
    headers = {"Vary": "Cookie"}
    if anonymous and request.app.state.settings.public:
        etag = _etag(row[0], row[1], states)
        headers.update({"Cache-Control": REVALIDATE, "ETag": etag})
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
    else:
        headers["Cache-Control"] = NO_STORE
    drawn: DrawnTiles = request.app.state.imagery_tiles
    key = None if states is None or not drawn.max_bytes else (row[0], row[1], states, z, x, y)
    png = drawn.get(key) if key is not None else None
    if png is None:
        png = await _draw(request, row, z, x, y, headers)
        if key is not None and EMPTY_HEADER not in headers:
            drawn.put(key, png)
    return Response(png, media_type="image/png", headers=headers)


class Drawings:
    """What the imagery registered lately are drawn from (files, scale, offset, stretch), by
    registration (imagery_id, created_at): a registration never changes, so a tile looks it up
    once, not on every request. At most `keep`, the least recently used let go."""

    def __init__(self, keep: int = 256) -> None:
        self.keep = keep
        self.rows: OrderedDict[tuple, tuple] = OrderedDict()

    def get(self, registration: tuple) -> tuple | None:
        row = self.rows.get(registration)
        if row is not None:
            self.rows.move_to_end(registration)
        return row

    def put(self, registration: tuple, row: tuple) -> None:
        self.rows[registration] = row
        self.rows.move_to_end(registration)
        while len(self.rows) > self.keep:
            self.rows.popitem(last=False)


class FailureLog:
    """Which failed tiles are logged: one an imagery a minute (`every` seconds), so visitors
    cannot flood the log, with how many of that imagery were not logged since its last line."""

    def __init__(self, every: float = 60.0, clock=time.monotonic, keep: int = 1024) -> None:
        self.every, self.clock, self.keep = every, clock, keep
        self.logged: dict[object, float] = {}  # by imagery: when its last line was written
        self.unlogged: dict[object, int] = {}

    def failed(self, imagery) -> int | None:
        """A tile of `imagery` failed: None when it is not logged, else the number of its failed
        tiles not logged since its last line."""
        now = self.clock()
        last = self.logged.get(imagery)
        if last is not None and now - last < self.every:
            self.unlogged[imagery] = self.unlogged.get(imagery, 0) + 1
            return None
        if len(self.logged) >= self.keep:  # forget the imagery whose minute is over
            for key in [k for k, t in self.logged.items() if now - t >= self.every]:
                del self.logged[key]
        self.logged[imagery] = now
        return self.unlogged.pop(imagery, 0)


class Busy(Exception):
    """More tiles wait to be drawn than the server lets wait."""


class ClientGone(Exception):
    """The client of a tile left before its turn to be drawn came."""


class Renders:
    """Imagery tiles drawn at once (`limit`, each in a worker thread) and how many may wait for a
    turn (`waiting`): one more is refused at once (Busy), and one whose client left while it
    waited is not drawn (ClientGone). Made in the event loop that uses it."""

    def __init__(self, limit: int, waiting: int) -> None:
        self.limiter = anyio.CapacityLimiter(limit)
        self.waiting = waiting
        self.started = self.refused = self.abandoned = 0

    async def run(self, func, gone) -> bytes:
        """`func()` in a worker thread once a turn comes; `gone()` says whether the client left."""
        if (
            self.limiter.available_tokens < 1
            and self.limiter.statistics().tasks_waiting >= self.waiting
        ):
            self.refused += 1
            raise Busy
        async with self.limiter:
            if gone():
                self.abandoned += 1
                raise ClientGone
            self.started += 1
            return await anyio.to_thread.run_sync(func)


async def _draw(
    request: Request, row: tuple, z: int, x: int, y: int, headers: dict[str, str]
) -> bytes:
    """The tile's PNG; a transparent one, with EMPTY_HEADER in `headers` saying why, for a zoom
    that would read more than MAX_SOURCE_PIXELS of a file (nothing is read)."""
    source = _source(row)
    hosts = request.app.state.settings.allowed_hosts_set()
    renders: Renders = request.app.state.imagery_renders
    try:
        # Before a turn is taken: what the tile would read (the files' headers, kept).
        if not await anyio.to_thread.run_sync(check_tile, source, z, x, y, hosts):
            return empty_tile()
        return await renders.run(
            partial(render_tile, source, z, x, y, hosts), partial(client_left, request)
        )
    except TooCoarse as exc:
        headers[EMPTY_HEADER] = f"too-coarse; minzoom={exc.min_zoom}"
        return empty_tile()
    except Busy:
        raise HTTPException(
            status_code=503,
            detail="too many imagery tiles waiting to be drawn: ask again shortly",
            headers={"Retry-After": str(RETRY_AFTER)},
        ) from None
    except ClientGone:
        raise HTTPException(status_code=499, detail="the client left") from None
    except InputError as exc:  # a file gone, unreadable or on a host not allowed: logged only
        failures: FailureLog = request.app.state.imagery_failures
        unlogged = failures.failed(row[0])
        if unlogged is not None:
            more = f" ({unlogged} more failed tiles not logged)" if unlogged else ""
            log.error("imagery %r tile %s/%s/%s: %s%s", source.name, z, x, y, exc, more)
        raise HTTPException(
            status_code=500, detail=f"imagery '{source.name}' cannot be read on this server"
        ) from None
