"""A private PostgreSQL cluster on 127.0.0.1, for the archive's tests and benchmark.

    with PrivatePostgres.start() as cluster:      # PostgresMissing without the binaries
        url = cluster.new_database()              # postgresql://postgres@127.0.0.1:PORT/db

Debian's server binaries (`apt-get install postgresql`: /usr/lib/postgresql/<major>/bin)
run `initdb` into a temporary directory and `pg_ctl start` on 127.0.0.1 at a free port,
with its Unix socket in that directory, so nothing touches a system cluster. initdb
refuses to run as root, so as root both run as the `postgres` user (which the Debian
package creates) in a directory that user owns. fsync is off: this is a test cluster,
and the tests prove transactions, not disks. Trust auth, loopback only.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from demo.simulator import free_tcp_port


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def postgres_bin() -> Path | None:
    """Debian's server binaries, newest major first; else an `initdb` on PATH."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    if found:
        return found[0]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner(command: list[str]) -> list[str]:
    """Run as `postgres` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class PrivatePostgres:
    """A running cluster; `url(name)` is a URL for database `name` as user postgres."""

    port: int
    home: Path
    binaries: Path
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "archive_test") -> str:
        """A fresh empty database; its URL."""
        name = f"{prefix}_{next(self.counter)}"
        admin = create_engine(
            self.url().replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    @classmethod
    @contextmanager
    def start(cls, *, fsync: bool = False) -> Iterator[PrivatePostgres]:
        binaries = postgres_bin()
        if binaries is None:
            raise PostgresMissing(
                "PostgreSQL server binaries not found (Debian: apt-get install postgresql)"
            )
        home = Path(tempfile.mkdtemp(prefix="archive-pg-"))
        if os.geteuid() == 0:
            shutil.chown(home, "postgres", "postgres")
        data = home / "data"
        port = free_tcp_port()
        try:
            subprocess.run(
                _as_owner(
                    [
                        str(binaries / "initdb"),
                        "-D",
                        str(data),
                        "--auth=trust",
                        "--username=postgres",
                        "--encoding=UTF8",
                        "--locale=C",
                        "--no-sync",
                    ]
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={home} "
                f"-c fsync={'on' if fsync else 'off'} -c max_connections=100 "
                "-c shared_buffers=64MB"
            )
            subprocess.run(
                _as_owner(
                    [
                        str(binaries / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(home / "server.log"),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
            yield cls(port, home, binaries)
        finally:
            if data.exists():
                subprocess.run(
                    _as_owner(
                        [str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
                    ),
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
            shutil.rmtree(home, ignore_errors=True)
