"""Logins, sessions and cross-site request forgery protection.

A login is checked by PostgreSQL itself: the server connects as that role with the password
given, and keeps that one connection for the session. A connection PostgreSQL opened without
asking for the password (`trust` in pg_hba.conf for the server's host) proves nothing and is
refused. Writes run on it, so the role's grants decide what a person may change; the password
is never kept, only the open connection.
Sessions live in the server's memory (one process): they end after `session_idle_minutes`
without a request, after `session_max_hours` in all, at logout, or when the server stops.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

import psycopg
from fastapi import HTTPException, Request
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from asm_db.db.sqlfiles import load_sql

COOKIE = "asmdb_session"
CSRF_HEADER = "x-csrf-token"
log = logging.getLogger("asmdb.server")


class LoginRefused(Exception):
    """The credentials did not open a session (the reason is logged, not shown)."""


@dataclass
class Session:
    sid: str
    user: str
    conn: psycopg.AsyncConnection
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    can_review: bool = False
    # One transaction at a time on the session's connection.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SessionStore:
    """The open sessions, by the random id their cookie carries."""

    def __init__(self, idle_seconds: float, max_seconds: float, max_sessions: int) -> None:
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}

    def _expired(self, session: Session, now: float) -> bool:
        return (
            now - session.last_seen > self.idle_seconds
            or now - session.created > self.max_seconds
            or session.conn.closed
        )

    async def sweep(self) -> None:
        now = time.monotonic()
        for sid in [s for s, sess in self._sessions.items() if self._expired(sess, now)]:
            await self.drop(sid)

    async def add(self, user: str, conn: psycopg.AsyncConnection, can_review: bool) -> Session:
        await self.sweep()
        if len(self._sessions) >= self.max_sessions:
            await conn.close()
            raise HTTPException(status_code=503, detail="too many open sessions; try later")
        session = Session(secrets.token_urlsafe(32), user, conn, can_review=can_review)
        self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        now = time.monotonic()
        if self._expired(session, now):
            return None
        session.last_seen = now
        return session

    async def drop(self, sid: str) -> None:
        session = self._sessions.pop(sid, None)
        if session is not None and not session.conn.closed:
            await session.conn.close()

    async def close_all(self) -> None:
        for sid in list(self._sessions):
            await self.drop(sid)


class LoginThrottle:
    """At most `attempts` logins per client address in `window` seconds, except those that
    succeeded: an attempt counts from its start, so attempts still in flight count too."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._started: dict[str, deque[float]] = {}

    def start(self, client: str) -> float:
        """Count an attempt from `client` (429 when it would pass the limit); its token."""
        now = time.monotonic()
        started = self._started.setdefault(client, deque())
        while started and now - started[0] > self.window:
            started.popleft()
        if len(started) >= self.attempts:
            raise HTTPException(status_code=429, detail="too many login attempts; wait a while")
        started.append(now)
        return now

    def succeeded(self, client: str, token: float) -> None:
        """The attempt `token` logged in: it no longer counts."""
        started = self._started.get(client)
        if started is not None and token in started:
            started.remove(token)
        if not started:
            self._started.pop(client, None)


def login_conninfo(
    base_url: str, user: str, password: str, statement_timeout_ms: int | None = None
) -> str:
    """The connection string of a login: the server's host, port and database, `user` and
    `password`, and libpq's password file turned off.

    libpq reads it as a C string, so a NUL byte in a value would end it there and drop the
    parameters after it (libpq then falls back to the server's environment): the string is
    read back with libpq's own parser and refused unless every parameter survived.
    """
    params = {
        key: value
        for key, value in conninfo_to_dict(base_url).items()
        if key not in ("user", "password", "passfile")
    }
    params.update(passfile=os.devnull, application_name="asmdb web", connect_timeout="10")
    if statement_timeout_ms is not None:  # the session's queries stop like the server's
        params["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"
    # What a stranger sends goes last: nothing the server fixes comes after it.
    params.update(user=user, password=password)
    conninfo = make_conninfo("", **params)
    if conninfo_to_dict(conninfo) != params:
        raise LoginRefused("the user name or password would cut the connection string (NUL)")
    return conninfo


async def open_login(
    base_url: str, user: str, password: str, statement_timeout_ms: int | None = None
) -> tuple[psycopg.AsyncConnection, bool]:
    """Connect as `user` with `password`; returns the connection and whether it may review.

    Only a connection for which PostgreSQL checked the password counts: where pg_hba.conf
    trusts the server's host any password would do, so the login is refused (and the reason
    says what to configure). Superusers are refused: their writes would not be decided by
    grants. An empty password is refused too, so libpq never falls back to the server's own
    password file or variables.
    """
    if not user or not password:
        raise LoginRefused("empty user name or password")
    conninfo = login_conninfo(base_url, user, password, statement_timeout_ms)
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoginRefused(reason) from None
    if not conn.pgconn.used_password:
        await conn.close()
        raise LoginRefused(
            "PostgreSQL did not ask for the password (pg_hba.conf trusts this server's host), "
            "so it proves nothing: set scram-sha-256 (or md5) for the server's host in "
            "pg_hba.conf and reload PostgreSQL"
        )
    try:
        cur = await conn.execute(load_sql("web/login_role"))
        superuser, can_review = await cur.fetchone()
    except psycopg.Error as exc:
        await conn.close()
        raise LoginRefused(f"role check failed: {type(exc).__name__}") from None
    if superuser:
        await conn.close()
        raise LoginRefused("superuser roles may not log in to the web page")
    return conn, bool(can_review)


def current_session(request: Request) -> Session | None:
    """The request's live session, if its cookie names one."""
    if "asmdb_session" in request.scope.get("state", {}):
        return request.state.asmdb_session
    store: SessionStore = request.app.state.sessions
    session = store.get(request.cookies.get(COOKIE))
    request.state.asmdb_session = session
    return session


def require_session(request: Request) -> Session:
    session = current_session(request)
    if session is None:
        raise HTTPException(status_code=401, detail="log in first")
    return session


def same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer) header, when sent, names this server.

    This server is the request's scheme and Host as the app sees them: `X-Forwarded-Proto`
    and `X-Forwarded-Host` count only from a trusted proxy, and `--base-url` replaces both
    (asm_db.server.proxy)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin == own or origin.startswith(own + "/")


def require_write(request: Request) -> Session:
    """A session, a CSRF token equal to the session's, and a same-origin request."""
    session = require_session(request)
    token = request.headers.get(CSRF_HEADER, "")
    if not same_origin(request) or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    return session
