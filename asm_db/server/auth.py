"""Logins, sessions and cross-site request forgery protection.

A login is checked by PostgreSQL itself: the server connects as that role with the password
given, and keeps that one connection for the session. Writes run on it, so the role's grants
decide what a person may change; the password is never kept, only the open connection.
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
from psycopg.conninfo import make_conninfo

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
    """At most `attempts` failed logins per client address in `window` seconds."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        failures = self._failures.get(client)
        now = time.monotonic()
        while failures and now - failures[0] > self.window:
            failures.popleft()
        if failures is not None and len(failures) >= self.attempts:
            raise HTTPException(status_code=429, detail="too many failed logins; wait a while")

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, deque()).append(time.monotonic())


async def open_login(
    base_url: str, user: str, password: str
) -> tuple[psycopg.AsyncConnection, bool]:
    """Connect as `user` with `password`; returns the connection and whether it may review.

    Superusers are refused: their writes would not be decided by grants. An empty password is
    refused too, so libpq never falls back to the server's own password file or variables.
    """
    if not user or not password:
        raise LoginRefused("empty user name or password")
    conninfo = make_conninfo(
        base_url,
        user=user,
        password=password,
        passfile=os.devnull,
        application_name="asmdb web",
        connect_timeout="10",
    )
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoginRefused(reason) from None
    try:
        cur = await conn.execute(load_sql("web_login_role"))
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
    """A browser's Origin (or Referer) header, when sent, names this server."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    forwarded = request.headers.get("x-forwarded-host")
    allowed = {own}
    if forwarded:
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        allowed.add(f"{proto}://{forwarded}")
    return any(origin == a or origin.startswith(a + "/") for a in allowed)


def require_write(request: Request) -> Session:
    """A session, a CSRF token equal to the session's, and a same-origin request."""
    session = require_session(request)
    token = request.headers.get(CSRF_HEADER, "")
    if not same_origin(request) or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    return session
