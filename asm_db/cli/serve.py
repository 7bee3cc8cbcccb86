"""`asmdb serve`: the web map and the OGC API, under uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, notify


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback needs --host.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Map layers (predictions, maps by period, change) readable without a login. "
            "Labels, the review queue and every write still need one.",
        ),
    ] = False,
    cookie_secure: Annotated[
        bool,
        typer.Option(
            "--cookie-secure", help="Session cookies only over HTTPS (behind a TLS proxy)."
        ),
    ] = False,
    statement_timeout: Annotated[
        float,
        typer.Option(
            "--statement-timeout",
            envvar="ASMDB_STATEMENT_TIMEOUT",
            min=0.001,
            max=3600,
            help="Seconds a query started by a visitor may run before it is stopped (a 503).",
            show_envvar=True,
        ),
    ] = 5.0,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the web map at / and OGC API - Features and Tiles at /collections."""
    import uvicorn

    from asm_db.db.engine import check_ready, connect, create_engine
    from asm_db.server.app import create_app, server_role
    from asm_db.server.settings import ServerSettings

    engine = create_engine(database_url)
    with connect(engine) as conn:
        check_ready(conn)
    engine.dispose()
    settings = ServerSettings(
        database_url=database_url,
        host=host,
        port=port,
        public=public,
        cookie_secure=cookie_secure,
        statement_timeout=statement_timeout,
    )
    # Refused before listening: a role that could write, or without its anonymous visitors' role.
    server_role(settings)
    app = create_app(settings)
    if not app.state.maplibre_ready:
        notify(
            "warning: MapLibre GL JS is missing (run scripts/setup): the page cannot draw the map"
        )
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        notify(f"warning: listening on {host}: put a reverse proxy with TLS in front (README)")
    access = "map layers public, the rest after login" if public else "everything after login"
    notify(f"asmdb serving http://{host}:{port}/ ({access}); Ctrl-C stops")
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
