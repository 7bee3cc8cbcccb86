"""The server's settings: from options, else the environment (ASMDB_*), else defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from asm_db.db.engine import database_url


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
    # Vector tiles: features per tile before tipg truncates (low zooms hold many tiles).
    max_features_per_tile: int = Field(default=100_000, gt=0)
    pool_size: int = Field(default=8, gt=0)
    # Tiles of the map layers kept in memory (MB; 0 turns it off), forgotten when another map
    # is promoted; the server looks for a promotion at most every tile_cache_check_seconds.
    tile_cache_mb: float = Field(default=128, ge=0)
    tile_cache_check_seconds: float = Field(default=2, gt=0)
    catalog_ttl_seconds: int = Field(default=60, ge=1)
    # The longest a query a visitor starts may run (seconds); the request then gets a 503.
    statement_timeout: float = Field(default=5, gt=0, le=3600)
    # Where "find more like this" keeps its reduced copy of the feature vectors.
    cache_dir: Path | None = None

    def statement_timeout_ms(self) -> int:
        return max(1, round(self.statement_timeout * 1000))

    def sqlalchemy_url(self) -> str:
        return database_url(self.database_url)

    def libpq_url(self) -> str:
        """The URL as libpq and asyncpg read it (no SQLAlchemy driver suffix)."""
        return self.sqlalchemy_url().replace("postgresql+psycopg://", "postgresql://", 1)
