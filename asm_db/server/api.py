"""asmdb's own JSON endpoints under /api: session, tile popup, review, "find more like this".

Anonymous reads use the server's connection; a logged-in person's reads and writes run on
their own connection, as their own role, so PostgreSQL's grants apply to them.
"""

from __future__ import annotations

import datetime
import logging
from typing import Annotated, Literal

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from asm_db import layers
from asm_db.change.classes import CHANGE_CLASSES
from asm_db.db.sqlfiles import load_sql
from asm_db.errors import AsmdbError, NotFound
from asm_db.maps.overviews import FULL_RESOLUTION_ZOOM, LEVELS
from asm_db.review.options import MAX_NOTES, MAX_REVIEWER
from asm_db.server import auth
from asm_db.server.auth import COOKIE, LoginRefused, Session, current_session
from asm_db.server.classes import probability_classes
from asm_db.server.imagery import may_read_imagery
from asm_db.server.ogc import may_read
from asm_db.server.visitors import visitor_connection

log = logging.getLogger("asmdb.server")
router = APIRouter(prefix="/api")

MAX_TILE_ID = 2**63 - 1  # tile ids are bigint (asm_db.grid)
MAX_INT4 = 2**31 - 1


class Login(BaseModel):
    # libpq reads C strings: a NUL would cut the connection string; control characters are in
    # no sensible role name.
    username: str = Field(min_length=1, max_length=63, pattern=r"^\P{Cc}+$")
    password: str = Field(min_length=1, max_length=1024, pattern=r"^[^\x00]+$")


# PostgreSQL text holds no NUL: refused as the request's mistake (422), as `review import` does.
NO_NUL = r"^[^\x00]*$"


class Answer(BaseModel):
    status: Literal["confirmed", "rejected", "unclear"]
    notes: str = Field(default="", max_length=MAX_NOTES, pattern=NO_NUL)
    # To replace another reviewer's answer: true, with the answer as it was shown.
    replace: bool = False
    seen_status: str | None = Field(default=None, max_length=20, pattern=NO_NUL)
    seen_reviewer: str | None = Field(default=None, max_length=MAX_REVIEWER, pattern=NO_NUL)
    seen_reviewed_at: datetime.datetime | None = None


def _session_info(session: Session | None, request: Request) -> dict:
    if session is None:
        return {"user": None, "can_review": False, "public": request.app.state.settings.public}
    return {
        "user": session.user,
        "can_review": session.can_review,
        "csrf": session.csrf,
        "public": request.app.state.settings.public,
    }


@router.get("/config")
def config(request: Request) -> dict:
    """What the page needs to draw: classes, the layers this visitor may read (as `asm_db.layers`
    declares them, in drawing order), their extent, and how to draw registered imagery."""
    catalog = getattr(request.app.state, "collection_catalog", None) or {"collections": {}}
    collections = {
        cid: {
            "bounds": c.bounds,
            "public": layers.BY_COLLECTION[cid].public,
            "properties": list(layers.BY_COLLECTION[cid].tile_properties),
        }
        for cid, c in catalog["collections"].items()
        if may_read(request, cid)
    }
    return {
        "classes": [vars(c) for c in probability_classes()],
        "change_classes": [
            {"name": c.name, "description": c.description, "drawn": c.opacity > 0}
            for c in CHANGE_CLASSES
        ],
        "layers": [
            layers.web_config(layer)
            for layer in layers.drawn()
            if layer.collection_id in collections
        ],
        "collections": collections,
        # Zooms below this one draw asmdb.latest_overviews, one block size per zoom range.
        "overviews": [vars(level) for level in LEVELS],
        "full_resolution_zoom": FULL_RESOLUTION_ZOOM,
        # What the legend says of them (their colour and outline: each layer's overview_paint
        # and overview_outline).
        "blocks_legend": {
            "fill": f"Below zoom {FULL_RESOLUTION_ZOOM}: {layers.BLOCKS_LEGEND}",
            "outline": layers.HOT_BLOCKS_LEGEND,
            "outline_color": layers.HOT_TILE_COLOR,
        },
        # Registered imagery, drawn under the map layers (null when this visitor may not see it).
        "imagery": layers.imagery_config() if may_read_imagery(request) else None,
        "maplibre": request.app.state.maplibre_ready,
        "session": _session_info(current_session(request), request),
    }


@router.get("/session")
def session_info(request: Request) -> dict:
    return _session_info(current_session(request), request)


@router.post("/login")
async def login(credentials: Login, request: Request, response: Response) -> dict:
    """Open a session if PostgreSQL accepts these credentials (connecting as that role)."""
    if not auth.same_origin(request):
        raise HTTPException(status_code=403, detail="cross-site login refused")
    client = request.client.host if request.client else "?"
    throttle: auth.LoginThrottle = request.app.state.login_throttle
    attempt = throttle.start(client)
    try:
        settings = request.app.state.settings
        conn, can_review = await auth.open_login(
            settings.libpq_url(),
            credentials.username,
            credentials.password,
            settings.statement_timeout_ms(),
        )
    except LoginRefused as exc:
        # The attempt keeps counting against the limit. The reason (from PostgreSQL, never
        # holding the password) goes to the log only.
        log.warning("login refused for %r from %s: %s", credentials.username, client, exc)
        raise HTTPException(
            status_code=401, detail="login refused: wrong user name or password"
        ) from None
    throttle.succeeded(client, attempt)
    old = request.cookies.get(COOKIE)
    if old:
        await request.app.state.sessions.drop(old)
    session = await request.app.state.sessions.add(credentials.username, conn, can_review)
    settings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        session.sid,
        max_age=int(settings.session_max_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )
    log.info("login %r from %s", credentials.username, client)
    return _session_info(session, request)


@router.post("/logout")
async def logout(
    request: Request,
    response: Response,
    session: Annotated[Session, Depends(auth.require_write)],
) -> dict:
    await request.app.state.sessions.drop(session.sid)
    response.delete_cookie(COOKIE, path="/")
    return {"user": None}


async def _server_rows(request: Request, name: str, params: dict) -> list[tuple]:
    """Rows of a statement run on the server's pool as this request's visitor."""
    async with visitor_connection(request.app.state.psycopg_pool, request) as conn:
        cur = await conn.execute(load_sql(name), params)
        return await cur.fetchall()


async def _session_rows(session: Session, name: str, params: dict) -> list[tuple]:
    async with session.lock:
        cur = await session.conn.execute(load_sql(name), params)
        return await cur.fetchall()


@router.get("/tiles/{tile_id}")
async def tile_info(
    request: Request,
    tile_id: Annotated[int, Path(ge=0, le=MAX_TILE_ID)],
    map_id: Annotated[int | None, Query(ge=1, le=MAX_INT4)] = None,
) -> dict:
    """A tile of the promoted map (or of `map_id`, a period's promoted map) for the popup, with
    its period; the nearest labels only with a login."""
    session = current_session(request)
    if session is None and not request.app.state.settings.public:
        raise HTTPException(status_code=401, detail="log in first")
    rows = await _server_rows(request, "web/tile_info", {"tile_id": tile_id, "map_id": map_id})
    if not rows:
        raise HTTPException(status_code=404, detail=f"tile {tile_id} is not on the map")
    tid, probability, run_id, lon, lat, shown_map, start, end = rows[0]
    period = f"{start or '?'}/{end or '?'}" if start or end else None
    out = {
        "tile_id": tid,
        "probability": probability,
        "run_id": run_id,
        "lon": lon,
        "lat": lat,
        "map_id": shown_map,
        "period": period,
        "labels": None,
    }
    if session is not None:
        labels = await _session_rows(
            session, "web/nearest_labels", {"tile_id": tile_id, "limit": 3}
        )
        out["labels"] = [
            {
                "label_id": r[0],
                "unique_id": r[1],
                "label": r[2],
                "mine_type": r[3],
                "sample_type": r[4],
                "metres": round(r[5], 1),
            }
            for r in labels
        ]
    return out


@router.get("/periods")
async def periods(request: Request) -> dict:
    """The periods of `asmdb.maps_by_period`, oldest first: each period's promoted map and its
    dates (ISO dates, or null when unknown), for the page's period slider."""
    if not may_read(request, "asmdb.maps_by_period"):
        raise HTTPException(status_code=401, detail="log in to read the maps by period")
    rows = await _server_rows(request, "web/periods", {})
    return {
        "periods": [
            {
                "map_id": map_id,
                "period_start": start.isoformat() if start else None,
                "period_end": end.isoformat() if end else None,
            }
            for map_id, start, end in rows
        ]
    }


def _item(row: tuple) -> dict:
    keys = (
        "review_id",
        "run_id",
        "tile_id",
        "stratum",
        "reason",
        "probability",
        "status",
        "reviewer",
        "reviewed_at",
        "notes",
    )
    item = dict(zip(keys, row[:10], strict=True))
    item["reviewed_at"] = item["reviewed_at"].isoformat() if item["reviewed_at"] else None
    item["bbox"] = list(row[10:14])
    return item


@router.get("/review")
async def review_items(
    session: Annotated[Session, Depends(auth.require_session)],
    run: Annotated[int | None, Query(ge=1, le=MAX_INT4)] = None,
) -> dict:
    """The review queue of a run (default the promoted one), in review_id order."""
    rows = await _session_rows(session, "web/review_items", {"run_id": run})
    return {"items": [_item(r) for r in rows]}


@router.post("/review/{review_id}")
async def review_answer(
    answer: Answer,
    review_id: Annotated[int, Path(ge=1, le=MAX_INT4)],
    session: Annotated[Session, Depends(auth.require_write)],
):
    """Record an answer as the logged-in role: 409 with the current answer when another
    reviewer answered first (send `replace` with what was shown to replace it)."""
    params = {
        "review_id": review_id,
        "status": answer.status,
        "notes": answer.notes or None,
        "reviewer": session.user,
        "replace": answer.replace,
        "seen_status": answer.seen_status,
        "seen_reviewer": answer.seen_reviewer,
        "seen_reviewed_at": answer.seen_reviewed_at,
    }
    async with session.lock:
        try:
            async with session.conn.transaction():
                cur = await session.conn.execute(load_sql("web/review_answer"), params)
                landed = await cur.fetchone()
                cur = await session.conn.execute(
                    load_sql("web/review_item"), {"review_id": review_id}
                )
                current = await cur.fetchone()
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
            raise HTTPException(
                status_code=403, detail=f"role {session.user} may not answer reviews"
            ) from None
    if current is None:
        raise HTTPException(status_code=404, detail=f"no review item {review_id}")
    item = _item(current)
    if landed is None:
        return JSONResponse({"detail": "answered by someone else", "current": item}, 409)
    return {"saved": True, "item": item}


@router.get("/similar")
async def similar(
    request: Request,
    tile: Annotated[list[int], Query(max_length=1000)] = None,  # noqa: B008
    confirmed: bool = False,
    top: Annotated[int, Query(ge=1, le=5000)] = 100,
    feature_set: Annotated[str | None, Query(max_length=200)] = None,
) -> dict:
    """The tiles most like the query tiles (or every confirmed mine, with a login)."""
    session = current_session(request)
    if session is None and (confirmed or not request.app.state.settings.public):
        raise HTTPException(status_code=401, detail="log in first")
    if any(t < 0 or t > MAX_TILE_ID for t in tile or []):
        raise HTTPException(status_code=422, detail="tile ids are integers from 0 to 2^63-1")
    from asm_db.similar.index import RECHECK_SECONDS
    from asm_db.similar.search import find_similar

    def run() -> dict:
        settings = request.app.state.settings
        with request.app.state.sync_pool.connection() as pg:
            result = find_similar(
                pg,
                tile or None,
                confirmed=confirmed,
                top=top,
                feature_set=feature_set,
                cache_dir=settings.cache_dir,
                recheck_seconds=RECHECK_SECONDS,
            )
            rows = pg.execute(
                load_sql("similar/tile_positions"), {"tile_ids": result.tile_ids}
            ).fetchall()
        where = {r[0]: r[1:] for r in rows}
        return {
            "feature_set": result.feature_set.name,
            "query_tiles": result.query_tiles if session is not None else None,
            "results": [
                {
                    "tile_id": t,
                    "similarity": s,
                    "lon": where[t][0],
                    "lat": where[t][1],
                    "bbox": list(where[t][2:6]),
                }
                for t, s in zip(result.tile_ids, result.similarities, strict=True)
            ],
        }

    try:
        return await run_in_threadpool(run)
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except AsmdbError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
