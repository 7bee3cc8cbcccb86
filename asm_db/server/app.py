"""The web application: `create_app(settings)` builds it; `asmdb serve` runs it under uvicorn."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import psycopg
from asyncpg.exceptions import DataError, InsufficientPrivilegeError, QueryCanceledError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette_cramjam.middleware import CompressionMiddleware
from tipg import errors as tipg_errors
from tipg.middleware import CatalogUpdateMiddleware

from asm_db.server import api, imagery, ogc, params
from asm_db.server.auth import LoginThrottle, SessionStore, current_session
from asm_db.server.proxy import BaseUrl, TrustedProxyHeaders
from asm_db.server.settings import ServerSettings
from asm_db.server.tilecache import TileCache, TileCacheMiddleware
from asm_db.server.visitors import (
    ServerRole,
    VisitorMiddleware,
    check_server_role,
    timeout_detail,
)

log = logging.getLogger("asmdb.server")
MAPLIBRE_FILES = ("maplibre-gl.js", "maplibre-gl.css", "LICENSE.txt")
CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src blob:; "
    "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
MISSING_ASSETS = """<!doctype html><meta charset="utf-8"><title>asmdb</title>
<h1>asmdb: the map's JavaScript is missing</h1>
<p>MapLibre GL JS is not installed in this copy of asmdb ({folder}). Run <code>bash
scripts/setup</code> (it fetches the pinned version from the npm registry) and reinstall.
The OGC API at <a href="/collections">/collections</a> works without it.</p>"""
# tipg's errors caused by a request (bad bbox, unknown property, ...): their message is the
# answer. Anything else becomes a bare 500, logged on the server.
CLIENT_ERRORS = {
    exc: code for exc, code in tipg_errors.DEFAULT_STATUS_CODES.items() if 400 <= code < 500
}
# A time filter on a layer without time is the request's fault, not the server's.
CLIENT_ERRORS[tipg_errors.MissingDatetimeColumn] = 400


def static_dir() -> Path:
    return Path(str(resources.files("asm_db.server").joinpath("static")))


def maplibre_ready() -> bool:
    vendor = static_dir() / "vendor" / "maplibre-gl"
    return all((vendor / name).is_file() for name in MAPLIBRE_FILES)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The asmdb web application for these settings (default: from the environment)."""
    settings = settings or ServerSettings()
    app = FastAPI(
        title="asmdb",
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    _state(app, settings)
    _routes(app)
    _error_handlers(app)
    _middleware(app, settings)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Open the server's pools and read the catalog before the first request; close them after
    the last."""
    settings: ServerSettings = app.state.settings
    app.state.server_role = await run_in_threadpool(server_role, settings)
    # Imagery tiles drawn at once; the others wait (made here: it belongs to the event loop).
    app.state.imagery_renders = imagery.Renders(settings.imagery_renders, settings.imagery_waiting)
    await _open_pools(app, settings)
    await ogc.register_catalog(app)
    if not app.state.maplibre_ready:
        log.warning(
            "MapLibre GL JS is missing from %s: the page cannot draw the map; run scripts/setup",
            static_dir() / "vendor",
        )
    try:
        yield
    finally:
        await app.state.sessions.close_all()
        await app.state.psycopg_pool.close()
        app.state.sync_pool.close()
        await app.state.pool.close()


async def _open_pools(app: FastAPI, settings: ServerSettings) -> None:
    """tipg's asyncpg pool, a psycopg pool for the API and a plain one for searches."""
    await ogc.open_pool(app, settings)
    # Every query a visitor starts stops after the statement timeout.
    connection = {
        "autocommit": True,
        "options": f"-c statement_timeout={settings.statement_timeout_ms()}",
    }
    app.state.psycopg_pool = AsyncConnectionPool(
        settings.libpq_url(), min_size=1, max_size=4, open=False, kwargs=connection
    )
    await app.state.psycopg_pool.open()
    # Searches run in worker threads on plain connections (numpy releases the GIL).
    app.state.sync_pool = ConnectionPool(
        settings.libpq_url(), min_size=1, max_size=2, open=True, kwargs=connection
    )


def _state(app: FastAPI, settings: ServerSettings) -> None:
    """What the app keeps between requests: settings, sessions, the login throttle, tiles."""
    app.state.settings = settings
    app.state.sessions = SessionStore(
        settings.session_idle_minutes * 60, settings.session_max_hours * 3600, settings.max_sessions
    )
    app.state.login_throttle = LoginThrottle(settings.login_attempts, settings.login_window_seconds)
    app.state.maplibre_ready = maplibre_ready()
    app.state.tile_cache = TileCache(
        int(settings.tile_cache_mb * 2**20), settings.tile_cache_check_seconds
    )
    app.state.imagery_tiles = imagery.DrawnTiles(int(settings.imagery_cache_mb * 2**20))
    app.state.imagery_drawings = imagery.Drawings()
    app.state.imagery_failures = imagery.FailureLog()


def _routes(app: FastAPI) -> None:
    """The page, the health check, asmdb's API, tipg's OGC API and the static files."""
    app.add_api_route("/", page, include_in_schema=False)
    app.add_api_route("/healthz", healthz, include_in_schema=False)
    app.include_router(api.router)
    app.include_router(imagery.router)
    app.include_router(ogc.ogc_router().router)
    app.dependency_overrides.update(ogc.DEPENDENCY_OVERRIDES)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")


def page(request: Request):
    """The web map; OGC clients asking for JSON get the API's landing page."""
    accept = request.headers.get("accept", "")
    if request.query_params.get("f") == "json" or (
        "application/json" in accept and "text/html" not in accept
    ):
        return landing(request)
    if not request.app.state.maplibre_ready:
        return HTMLResponse(MISSING_ASSETS.format(folder=static_dir() / "vendor"), 503)
    return FileResponse(static_dir() / "index.html", media_type="text/html")


def healthz(request: Request) -> dict:
    cache: TileCache = request.app.state.tile_cache
    drawn: imagery.DrawnTiles = request.app.state.imagery_tiles
    renders: imagery.Renders = request.app.state.imagery_renders
    return {
        "ok": True,
        "maplibre": request.app.state.maplibre_ready,
        "tile_cache": {"tiles": len(cache.tiles), "hits": cache.hits, "misses": cache.misses},
        "imagery_cache": {"tiles": len(drawn.tiles), "hits": drawn.hits, "misses": drawn.misses},
        "imagery_renders": {
            "started": renders.started,
            "refused": renders.refused,
            "abandoned": renders.abandoned,
        },
    }


def _middleware(app: FastAPI, settings: ServerSettings) -> None:
    """The middleware stack; the last added runs first on a request."""
    app.middleware("http")(headers)
    # Imagery tiles are PNG, compressed already (and a 304 must stay without a body).
    app.add_middleware(CompressionMiddleware, compression_level=6, exclude_path={r"/imagery/.*"})
    app.add_middleware(
        CatalogUpdateMiddleware, func=ogc.register_catalog, ttl=settings.catalog_ttl_seconds
    )
    # A kept tile is answered before any other work (its headers were made once).
    app.add_middleware(TileCacheMiddleware)
    # Every query below runs as the request's visitor, and stops when they leave.
    app.add_middleware(VisitorMiddleware)
    # Before everything: the client's address, scheme and host, from trusted proxies only.
    if settings.base_url:
        app.add_middleware(BaseUrl, base_url=settings.base_url)
    app.add_middleware(TrustedProxyHeaders, trusted_hosts=settings.forwarded_allow_ips)


async def headers(request: Request, call_next):
    """Malformed OGC queries answered 400, failures 500 without detail, and every answer's
    caching and security headers."""
    await request.app.state.sessions.sweep()
    problem = invalid_query(request)
    if problem is not None:
        response = JSONResponse({"detail": problem}, status_code=400)
    else:
        try:
            response = await call_next(request)
        except Exception as exc:  # what no handler answered: no detail leaves the server
            log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
            response = JSONResponse({"detail": "internal error"}, status_code=500)
    path = request.url.path
    if path.startswith(("/api", "/collections")) or path == "/":
        # Private answers must not sit in shared caches; map tiles change with promotions.
        if current_session(request) is not None or path.startswith("/api"):
            response.headers["Cache-Control"] = "private, no-store"
        else:
            response.headers["Cache-Control"] = "no-cache"
        response.headers["Vary"] = "Cookie"
    elif path.startswith("/imagery"):
        # A tile says how it may be kept (`imagery`); a refusal or failure is never kept.
        response.headers.setdefault("Cache-Control", "private, no-store")
        response.headers["Vary"] = "Cookie"
    elif path.startswith("/static"):
        response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def server_role(settings: ServerSettings) -> ServerRole:
    """The server's own role and its anonymous visitors' role (AsmdbError if unfit)."""
    with psycopg.connect(settings.libpq_url(), autocommit=True) as pg:
        return check_server_role(pg)


def invalid_query(request: Request) -> str | None:
    """Why the OGC query parameters tipg would choke on are malformed, or None.

    tipg binds every value, so nothing malformed reaches SQL as code; this answers 400
    instead of letting a value fail deep inside (a 500). The filter, the tile and the ids
    are checked against their layer in `ogc`."""
    if not request.url.path.startswith("/collections"):
        return None
    return params.invalid_params(request.query_params)


def landing(request: Request) -> JSONResponse:
    """OGC API landing page (what QGIS, ArcGIS and OWSLib read first)."""
    base = str(request.base_url).rstrip("/")
    links = [
        ("self", "application/json", "/?f=json", "this document"),
        ("conformance", "application/json", "/conformance", "conformance classes"),
        ("data", "application/json", "/collections", "asmdb's layers"),
        (
            "service-desc",
            "application/vnd.oai.openapi+json;version=3.0",
            "/api/openapi.json",
            "API",
        ),
        ("alternate", "text/html", "/", "the web map"),
    ]
    return JSONResponse(
        {
            "title": "asmdb",
            "description": "Artisanal and small-scale mining maps: OGC API - Features and Tiles",
            "links": [
                {"rel": rel, "type": kind, "href": base + href, "title": title}
                for rel, kind, href, title in links
            ],
        }
    )


def _error_handlers(app: FastAPI) -> None:
    def client_error(code: int):
        async def handler(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=code)

        return handler

    for exc, code in CLIENT_ERRORS.items():
        app.add_exception_handler(exc, client_error(code))

    async def timed_out(request: Request, exc: Exception) -> JSONResponse:
        seconds = request.app.state.settings.statement_timeout
        log.warning("%s %s: statement timeout", request.method, request.url.path)
        return JSONResponse({"detail": timeout_detail(seconds)}, status_code=503)

    async def not_allowed(request: Request, exc: Exception) -> JSONResponse:
        # The visitor's role may not read what the query touched (the second wall behind the
        # filter check): said, not shown.
        log.warning(
            "%s %s: permission denied to the visitor's role", request.method, request.url.path
        )
        return JSONResponse({"detail": "permission denied"}, status_code=403)

    app.add_exception_handler(QueryCanceledError, timed_out)
    app.add_exception_handler(InsufficientPrivilegeError, not_allowed)
    app.add_exception_handler(psycopg.errors.InsufficientPrivilege, not_allowed)
    app.add_exception_handler(psycopg.errors.QueryCanceled, timed_out)

    @app.exception_handler(DataError)
    async def bad_value(request: Request, exc: DataError) -> JSONResponse:
        # A value PostgreSQL refused as a bound parameter (e.g. text for an integer column).
        return JSONResponse({"detail": f"invalid value: {exc.args[0] if exc.args else ''}"}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The browser gets no traceback, SQL or connection string; the log gets the kind.
        log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse({"detail": "internal error"}, status_code=500)
