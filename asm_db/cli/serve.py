"""`asmdb serve`: the web map and the OGC API, under uvicorn."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated

import typer

from asm_db.cli.common import DatabaseUrl, notify
from asm_db.imagery.hosts import ENV as HOSTS_ENV


def _checked(name: str) -> Callable[[str | None], str | None]:
    """A Typer callback: asm_db.server.settings' check `name`, its ValueError a usage error."""

    def callback(value: str | None) -> str | None:
        if value is None:
            return None
        from asm_db.server import settings  # the server's imports only when serving

        try:
            return getattr(settings, name)(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return callback


def _hosts(value: str | None) -> str | None:
    """A Typer callback: --allow-hosts parsed as `asmdb imagery` parses it (a usage error if not)."""
    from asm_db.errors import AsmdbError
    from asm_db.imagery.hosts import parse_hosts

    try:
        parse_hosts(value)
    except AsmdbError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback needs --host.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Map layers (predictions, maps by period, change) and registered imagery "
            "readable without a login. Labels, the review queue and every write still need "
            "one.",
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
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            envvar="ASMDB_FORWARDED_ALLOW_IPS",
            show_envvar=True,
            callback=_checked("check_forwarded_allow_ips"),
            help="Proxies whose X-Forwarded-For, -Proto and -Host headers are believed: "
            "addresses or networks, comma-separated (127.0.0.1 behind a proxy on this "
            "machine). Default: none, the peer's address is the client's.",
        ),
    ] = "",
    base_url: Annotated[
        str | None,
        typer.Option(
            envvar="ASMDB_BASE_URL",
            show_envvar=True,
            callback=_checked("check_base_url"),
            help="The address people reach the server at, e.g. https://maps.example.org: "
            "links in OGC answers use it instead of the request's Host.",
        ),
    ] = None,
    allow_hosts: Annotated[
        str | None,
        typer.Option(
            envvar=HOSTS_ENV,
            show_envvar=True,
            callback=_hosts,
            help="Read imagery files only from these hosts, HOST[,HOST...]: a registered URL "
            "on another host is not read (default: any host).",
        ),
    ] = None,
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
        forwarded_allow_ips=forwarded_allow_ips,
        base_url=base_url,
        allowed_hosts=allow_hosts,
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
        notify(f"warning: listening on {host}: put a reverse proxy with TLS in front (docs/web.md)")
    access = "map layers public, the rest after login" if public else "everything after login"
    notify(f"asmdb serving http://{host}:{port}/ ({access}); Ctrl-C stops")
    # The app decides whose proxy headers count (asm_db.server.proxy), not uvicorn's default.
    uvicorn.run(
        app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False
    )
