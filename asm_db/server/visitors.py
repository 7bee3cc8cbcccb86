"""Who a query runs as, how long it may run, and what happens when its visitor leaves.

The server connects as the reader role made by `asmdb roles create` (never a role that can
write). Each query a request starts runs as that request's visitor:

- an anonymous visitor as `<reader>_public`, which reads the public map layers and nothing else
  (the reader switches to it with SET ROLE: a switch that only ever narrows);
- a logged-in person as the reader itself: every asmdb login may read what the reader reads
  (their own writes run on their own session connection, as their own role).

The role is chosen per request (a context variable set by `VisitorMiddleware`) and set on the
pooled connection each time one is taken, so a connection never carries one visitor's role to
the next. Every connection has a statement timeout; a query whose client has gone is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextvars import ContextVar
from dataclasses import dataclass

import psycopg
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_db.errors import AsmdbError
from asm_db.publish.roles import public_role

# True while the current request has a live session (see VisitorMiddleware); the default, for
# any query started outside a request, is the narrowest: the anonymous visitors' role.
_logged_in: ContextVar[bool] = ContextVar("asmdb_logged_in", default=False)
# A request body larger than this is refused (logins and review answers are a few hundred bytes).
MAX_BODY_BYTES = 64 * 1024
ROLE_SQL = "SELECT set_config('role', $1, false)"
# The request scope's key of the event set when its client disconnects (VisitorMiddleware).
GONE = "asmdb.client_gone"


@dataclass(frozen=True)
class ServerRole:
    """The role the server connects as, and the one it narrows to for anonymous visitors."""

    reader: str
    public: str

    def for_visitor(self) -> str:
        """The value of `role` for the current request's queries ('none': the reader itself)."""
        return "none" if _logged_in.get() else self.public


def check_server_role(pg: psycopg.Connection) -> ServerRole:
    """The server's roles; AsmdbError unless the connection's role is fit to serve strangers.

    A superuser, or a role that may write to asmdb, is refused: whatever a request manages to
    run would run with those rights. The role needs its anonymous visitors' role
    (`<role>_public`, made by `asmdb roles create`)."""
    user, superuser = pg.execute(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    how = "start it as the reader role made by `asmdb roles create` (docs/web.md)"
    if superuser:
        raise AsmdbError(f"asmdb serve refuses to run as superuser '{user}': {how}")
    writable = pg.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'asmdb' AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') "
        "ORDER BY 1 LIMIT 1"
    ).fetchone()
    if writable is not None:
        raise AsmdbError(
            f"asmdb serve refuses to run as '{user}', which may write to asmdb.{writable[0]}: {how}"
        )
    anonymous = public_role(user)
    member = pg.execute(
        "SELECT pg_has_role(current_user, r.oid, 'MEMBER') AND NOT r.rolcanlogin "
        "FROM pg_roles AS r WHERE r.rolname = %s",
        (anonymous,),
    ).fetchone()
    if not member or not member[0]:
        raise AsmdbError(
            f"role '{user}' has no role '{anonymous}' for anonymous visitors: run "
            f"`asmdb roles create --name {user}` (again) and restart the server"
        )
    return ServerRole(user, anonymous)


def visitor_role(request: Request) -> str:
    """The `role` setting for queries of this request."""
    return request.app.state.server_role.for_visitor()


def visitor_setup(app):
    """asyncpg's per-acquire setup for `app`'s pool: the connection takes the current visitor's
    role."""

    async def setup(conn) -> None:
        await conn.execute(ROLE_SQL, app.state.server_role.for_visitor())

    return setup


async def as_reader(conn) -> None:
    """Switch an acquired asyncpg connection to the reader itself (the server's own reads:
    the catalog of layers, which must see the layers that need a login)."""
    await conn.execute(ROLE_SQL, "none")


@contextlib.asynccontextmanager
async def visitor_connection(pool, request: Request):
    """A psycopg connection of `pool`, switched to this request's visitor's role."""
    async with pool.connection() as conn:
        await conn.execute("SELECT set_config('role', %s, false)", (visitor_role(request),))
        yield conn


async def psycopg_as_reader(conn) -> None:
    """Switch a psycopg connection of the pool to the reader itself (the server's own reads,
    after the visitor's role has shown the visitor may read what they ask for; the next taker
    of the connection sets its own role)."""
    await conn.execute("SELECT set_config('role', 'none', false)")


def client_left(request: Request) -> bool:
    """Whether the request's client has disconnected (known once VisitorMiddleware saw it)."""
    gone = request.scope.get(GONE)
    return gone is not None and gone.is_set()


class VisitorMiddleware:
    """Sets, for everything below it, whether the request has a session (and so which role its
    queries run as); cancels the request's work when its client disconnects; refuses bodies
    over MAX_BODY_BYTES."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from asm_db.server.auth import current_session

        request = Request(scope)
        _logged_in.set(current_session(request) is not None)
        body: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.append(message)
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                return await _too_large(send)
            if not message.get("more_body", False):
                break
        gone = asyncio.Event()
        scope[GONE] = gone

        async def replay() -> Message:
            if body:
                return body.pop(0)
            await gone.wait()
            return {"type": "http.disconnect"}

        async def watch() -> None:
            while True:
                if (await receive())["type"] == "http.disconnect":
                    gone.set()
                    return

        work = asyncio.ensure_future(self.app(scope, replay, send))
        watcher = asyncio.ensure_future(watch())
        try:
            await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not work.done():
                # The client left: cancelling the task cancels its query on the server too.
                work.cancel()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        with contextlib.suppress(asyncio.CancelledError):
            await work


async def _too_large(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"detail": "request body too large"}'})


def timeout_detail(seconds: float) -> str:
    return (
        f"the query ran longer than this server's limit of {seconds:g} s and was stopped; "
        "ask for less (a smaller bbox, a simpler filter, a lower limit)"
    )
