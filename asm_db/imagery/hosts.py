"""Where featurize may fetch from: any host (the default), or only those of `--allow-hosts`.

A STAC document names URLs (its assets, a catalog's links), and featurize fetches them, from
whatever host they name, loopback and private addresses included. With an allow-list, a
location is allowed when it is a local file, or when every URL in it (through GDAL's
`/vsicurl/` and archive prefixes such as `/vsizip//vsicurl/...`) is http(s) or file on a
listed host; object stores GDAL reads by bucket (`/vsis3/`, `/vsigs/`, ...) have no host to
check and are refused. The check is on the names alone, before anything is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from asm_db.errors import AsmdbError, InputError

ENV = "ASMDB_ALLOWED_HOSTS"
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#\s]*)")
_VSI = re.compile(r"/(vsi[a-z0-9_]+)(?=[/?{]|$)")
_CURL = ("vsicurl", "vsicurl_streaming")
# GDAL's network file systems (besides /vsicurl/): read by bucket or account, not by URL.
_NETWORK = (
    "vsis3",
    "vsis3_streaming",
    "vsigs",
    "vsigs_streaming",
    "vsiaz",
    "vsiaz_streaming",
    "vsiadls",
    "vsioss",
    "vsioss_streaming",
    "vsiswift",
    "vsiswift_streaming",
    "vsihdfs",
    "vsiwebhdfs",
)


def parse_hosts(text: str | Iterable[str] | None) -> frozenset[str] | None:
    """`HOST[,HOST...]` (a host name or address, optionally with `:PORT`) as a set, or None
    (no restriction) for None or an empty string."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    hosts = frozenset(h.strip().lower().strip("[]") for h in items if h.strip())
    if not hosts:
        return None
    for host in hosts:
        if "/" in host or "@" in host or any(c.isspace() for c in host):
            raise AsmdbError(f"--allow-hosts {host!r}: expected host names, e.g. example.org")
    return hosts


def _allowed(scheme: str, netloc: str, hosts: frozenset[str]) -> str | None:
    """None when this URL may be fetched, else the host (or scheme) that is not allowed."""
    scheme = scheme.lower()
    parts = urlsplit(f"{scheme}://{netloc}")
    try:
        host, port = (parts.hostname or ""), parts.port
    except ValueError:  # a port that is not a number
        return netloc or scheme
    if scheme == "file" and host in ("", "localhost"):
        return None
    if scheme not in ("http", "https", "file"):
        return f"{scheme}://{netloc}"
    if host in hosts or (port is not None and f"{host}:{port}" in hosts):
        return None
    return netloc or "(none)"


def check_location(href: str, where: str, hosts: frozenset[str] | None) -> None:
    """Refuse (InputError at `where`) a location that is not allowed by `hosts`; with
    `hosts` None every location is."""
    if hosts is None:
        return
    text = f"{href} {unquote(href)}"  # /vsicurl?url=http%3A%2F%2F... too
    handlers = {name.lower() for name in _VSI.findall(href)}
    network = sorted(handlers & set(_NETWORK))
    if network:
        raise InputError(
            where, f"/{network[0]}/ has no host to check against --allow-hosts; it is refused"
        )
    urls = _URL.findall(text)
    if handlers & set(_CURL) and not urls:
        raise InputError(where, f"cannot tell which host {href!r} names; it is refused")
    for scheme, netloc in urls:
        refused = _allowed(scheme, netloc, hosts)
        if refused is not None:
            raise InputError(
                where, f"host {refused} is not in --allow-hosts ({', '.join(sorted(hosts))})"
            )
