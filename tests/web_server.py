"""Start `asmdb serve` (the installed command) on a free loopback port for a test, and stop it.

The server runs as a reader role made by `asmdb roles create`, as the README tells people to:
it refuses a superuser or a role that may write."""

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

from conftest import ASMDB

PORTS = range(18000, 19000)


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
