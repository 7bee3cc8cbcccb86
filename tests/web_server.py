"""Start `asmdb serve` (the installed command) on a free loopback port for a test, and stop it.

The server runs as a reader role made by `asmdb roles create`, as the README tells people to:
it refuses a superuser or a role that may write. Below that, what the tests of the session's
`site` (tests/conftest.py) share: clients, logins and the rows they check."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg

from asm_db import layers

from conftest import ASMDB

PORTS = range(18000, 19000)

# The layers an anonymous visitor may read, and those only a login may.
PUBLIC = sorted(x.collection_id for x in layers.public())
PRIVATE = sorted(x.collection_id for x in layers.served() if not x.public)


def free_port() -> int:
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18000-18999")


def as_role(url: str, role: str, password: str | None = None) -> str:
    """`url` (SQLAlchemy or libpq form) connecting as another role, with its password if given."""
    rest = url.split("//", 1)[1].split("@", 1)[1]
    who = quote(role, safe="") + (f":{quote(password, safe='')}" if password else "")
    return f"postgresql://{who}@{rest}"


@dataclass
class Server:
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def serve(url: str, *args: str, env: dict | None = None) -> Iterator[Server]:
    """A running `asmdb serve` on `url`'s database (its URL and log); stopped afterwards."""
    port = free_port()
    environment = {**os.environ, "ASMDB_DATABASE_URL": url, **(env or {})}
    log = tempfile.NamedTemporaryFile(prefix="asmdb-serve-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [str(ASMDB), "serve", "--port", str(port), *args],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    server = Server(base, Path(log.name))
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"asmdb serve exited: {server.log()}")
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("asmdb serve did not start in 90 s")
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)


@contextmanager
def site_connection(site) -> Iterator[psycopg.Connection]:
    """A connection (autocommit) to the `site` fixture's database, for assertions."""
    with psycopg.connect(site["url"].replace("+psycopg", ""), autocommit=True) as conn:
        yield conn


def client(site, who: str | None = None) -> httpx.Client:
    """A client of the site's server, logged in as one of its roles (with its CSRF token) if given."""
    c = httpx.Client(base_url=site["server"].url, timeout=60)
    if who is not None:
        name, password = site["roles"][who]
        r = c.post("/api/login", json={"username": name, "password": password})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


def collection_ids(response) -> list[str]:
    """The collection ids of a `/collections` answer, sorted."""
    assert response.status_code == 200, response.text
    return sorted(c["id"] for c in response.json()["collections"])


def pg_map(site) -> int:
    """The id of the map the site shows."""
    with psycopg.connect(site["url"].replace("+psycopg", "")) as conn:
        return conn.execute("SELECT asmdb.promoted_map()").fetchone()[0]


def queue_row(pg, review_id):
    """A review queue row's answer: status, reviewer, reviewed_at, notes."""
    return pg.execute(
        "SELECT status, reviewer, reviewed_at, notes FROM asmdb.review_queue WHERE review_id = %s",
        (review_id,),
    ).fetchone()


def post_logins(base: str, logins: list[dict], forwarded_for: list[str]) -> list[int]:
    """POST every login at once; their status codes, in order."""
    import asyncio

    async def attempts():
        async with httpx.AsyncClient(base_url=base, timeout=120) as c:
            return await asyncio.gather(
                *(
                    c.post("/api/login", json=login, headers={"X-Forwarded-For": address})
                    for login, address in zip(logins, forwarded_for, strict=True)
                )
            )

    return [r.status_code for r in asyncio.run(attempts())]
