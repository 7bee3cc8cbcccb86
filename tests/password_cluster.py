"""A throwaway PostgreSQL cluster that asks for passwords over TCP (scram-sha-256), for the tests
that log in to `asmdb serve`: where pg_hba.conf trusts the server's host (as on the main test
cluster) a login proves nothing and is refused.

initdb refuses to run as root, so the cluster's folder belongs to the postgres user; its local
socket trusts the postgres superuser, so the harness can administer it. The cluster is stopped
and its folder removed afterwards, even when starting it failed."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

BIN = Path(os.environ.get("ASMDB_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OWNER = "postgres"


@dataclass
class PasswordCluster:
    port: int
    socket_dir: Path
    password: str  # the postgres superuser's, over TCP

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of `dbname` as the superuser, over TCP with its password."""
        return f"postgresql+psycopg://{OWNER}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A new empty database (`asmdb db upgrade` makes PostGIS and the schema); its URL."""
        name = f"asmdb_pw_{secrets.token_hex(4)}"
        with psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=OWNER, dbname="postgres"
        ) as conn:
            conn.autocommit = True
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(*command: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", OWNER, "--", *command]
    return list(command)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:5])} failed: {done.stdout}{done.stderr}")


@contextmanager
def running_password_cluster() -> Iterator[PasswordCluster]:
    """A started cluster that checks passwords over TCP; stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="asmdb-pwcluster-"))
    data, log = root / "data", root / "postgres.log"
    password = secrets.token_urlsafe(24)
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(root, OWNER, OWNER)
        password_file = root / "password"
        password_file.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, OWNER, OWNER)
        _run(
            _as_owner(
                str(BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                OWNER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                "--encoding=UTF8",
                "--no-sync",
            )
        )
        port = _free_port()
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300 "
            "-c shared_buffers=32MB -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off"
        )
        started = True
        start = _as_owner(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options)
        try:
            _run([*start, "-w", "-t", "60", "start"])
        except RuntimeError as exc:
            shown = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{exc}\n{shown}") from None
        yield PasswordCluster(port, root, password)
    finally:
        if started:
            subprocess.run(
                _as_owner(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"),
                capture_output=True,
                timeout=120,
            )
        shutil.rmtree(root, ignore_errors=True)
