"""Whose proxy headers the server believes, and the address it says it is reached at.

uvicorn's ProxyHeadersMiddleware believes `X-Forwarded-For` and `X-Forwarded-Proto` from the
addresses in its `trusted_hosts`; here that list is the app's `forwarded_allow_ips` (default:
no one), `X-Forwarded-Host` counts from the same proxies only, and the `X-Forwarded-*` headers
of anyone else are dropped, so nothing further in (the login throttle, the same-origin check,
tipg's links) can believe them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")


def _host(value: str) -> str | None:
    """`value` if it is a host with an optional port and nothing else, else None."""
    try:
        parts = urlsplit(f"//{value}")
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return None
    if not parts.hostname or parts.netloc != value or "@" in value:
        return None
    return value


class TrustedProxyHeaders(ProxyHeadersMiddleware):
    """uvicorn's proxy headers from `trusted_hosts` only, with `X-Forwarded-Host` as the Host."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            headers = scope["headers"]
            if client and client[0] in self.trusted_hosts:
                # The last value is the one the trusted proxy itself set or appended.
                forwarded = [v for k, v in headers if k == b"x-forwarded-host"]
                last = forwarded[-1].decode("latin-1").split(",")[-1].strip() if forwarded else ""
                host = _host(last)
                if host:
                    headers = [(k, v) for k, v in headers if k != b"host"]
                    headers.append((b"host", host.encode("latin-1")))
            else:
                headers = [(k, v) for k, v in headers if k not in FORWARDED]
            scope = {**scope, "headers": headers}
        await super().__call__(scope, receive, send)


class BaseUrl:
    """Every request as if it came to `base_url` (scheme, host and path prefix): the links made
    from the request (the landing page's, tipg's) and the same-origin check use it."""

    def __init__(self, app, base_url: str) -> None:
        self.app = app
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = parts.netloc.encode("latin-1")
        self.root_path = parts.path.rstrip("/")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            headers.append((b"host", self.host))
            scheme = self.scheme if scope["type"] == "http" else self.scheme.replace("http", "ws")
            scope = {**scope, "scheme": scheme, "headers": headers, "root_path": self.root_path}
        await self.app(scope, receive, send)
