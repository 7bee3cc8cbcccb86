"""The server's settings: from options, else the environment (ASMDB_*), else defaults."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from asm_db.db.engine import database_url
from asm_db.errors import AsmdbError
from asm_db.imagery.hosts import parse_hosts


class ServerSettings(BaseSettings):
    """What `create_app` needs. Every field may come from an `ASMDB_`-prefixed variable."""

    model_config = SettingsConfigDict(env_prefix="ASMDB_", extra="ignore")

    # The server's own connection (map layers, catalog): give it a read-only role.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("database_url", "ASMDB_DATABASE_URL")
    )
    host: str = "127.0.0.1"
    port: int = 8000
    # Map layers (predictions, maps by period, change) readable without a login.
    public: bool = False
    session_idle_minutes: float = Field(default=30, gt=0)
    session_max_hours: float = Field(default=8, gt=0)
    max_sessions: int = Field(default=100, gt=0)
    # Set when the server is reached through HTTPS (a TLS reverse proxy): cookies then say Secure.
    cookie_secure: bool = False
    # Failed logins allowed per client address within `login_window_seconds` before a pause.
    login_attempts: int = Field(default=10, gt=0)
    login_window_seconds: float = Field(default=300, gt=0)
    # Proxies whose X-Forwarded-For, -Proto and -Host headers are believed: addresses or
    # networks, comma-separated, or "*"; empty: no one (the peer's address is the client's).
    forwarded_allow_ips: str = ""
    # The address people reach the server at (e.g. https://maps.example.org): links in OGC
    # answers and the same-origin check use it instead of the request's Host.
    base_url: str | None = None
    # Vector tiles: features per tile before tipg truncates (low zooms hold many tiles).
    max_features_per_tile: int = Field(default=100_000, gt=0)
    pool_size: int = Field(default=8, gt=0)
    # Tiles of the map layers kept in memory (MB; 0 turns it off), forgotten when another map
    # is promoted; the server looks for a promotion at most every tile_cache_check_seconds.
    tile_cache_mb: float = Field(default=128, ge=0)
    tile_cache_check_seconds: float = Field(default=2, gt=0)
    # Imagery tiles drawn, kept in memory (MB; 0 turns it off), by registration, file state and
    # tile: a tile is drawn again when its imagery is registered again or a file changes.
    imagery_cache_mb: float = Field(default=64, ge=0)
    catalog_ttl_seconds: int = Field(default=60, ge=1)
    # The longest a query a visitor starts may run (seconds); the request then gets a 503.
    statement_timeout: float = Field(default=5, gt=0, le=3600)
    # Where "find more like this" keeps its reduced copy of the feature vectors.
    cache_dir: Path | None = None
    # Imagery tiles drawn at once (each in a worker thread; default one per core, at most 4);
    # more requests wait their turn. Drawing is CPU work: more than the cores gains nothing.
    imagery_renders: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)), gt=0, le=64
    )
    # Imagery tiles that may wait for a turn to be drawn; one more is answered 503 (Retry-After)
    # at once, so waiting requests cannot pile up. A page's first view asks for about 40 tiles.
    imagery_waiting: int = Field(default=64, ge=0, le=10_000)
    # Hosts imagery files may be read from (HOST[,HOST...]), as `asmdb imagery --allow-hosts`;
    # unset: any. A registered URL on another host is not read.
    allowed_hosts: str | None = None

    def allowed_hosts_set(self) -> frozenset[str] | None:
        """The hosts imagery may be read from, or None for any."""
        return parse_hosts(self.allowed_hosts)

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, value: str | None) -> str | None:
        try:
            parse_hosts(value)
        except AsmdbError as exc:
            raise ValueError(str(exc)) from None
        return value

    def statement_timeout_ms(self) -> int:
        return max(1, round(self.statement_timeout * 1000))

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _forwarded_allow_ips(cls, value: str) -> str:
        return check_forwarded_allow_ips(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value)

    def sqlalchemy_url(self) -> str:
        return database_url(self.database_url)

    def libpq_url(self) -> str:
        """The URL as libpq and asyncpg read it (no SQLAlchemy driver suffix)."""
        return self.sqlalchemy_url().replace("postgresql+psycopg://", "postgresql://", 1)


def check_forwarded_allow_ips(value: str) -> str:
    """`value` if it is empty, "*" or comma-separated IP addresses and networks (ValueError)."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if items == ["*"]:
        return "*"
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return ",".join(items)


def check_base_url(value: str) -> str:
    """`value` if it is an http(s) URL of a host with at most a path (ValueError)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"expected http(s)://host[:port][/path], got {value!r}")
    return value.rstrip("/")
