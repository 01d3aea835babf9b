"""The archive tests' world: a private PostgreSQL cluster, SQLite files, and the archive
served by a real uvicorn on 127.0.0.1.

PostgreSQL is real (Debian's `postgresql` package): `initdb` into a temporary
directory, `pg_ctl start` on 127.0.0.1 at a free port with its socket in that
directory, one database per test, everything stopped and removed at the end of
the session. initdb refuses to run as root, so as root it runs as the
`postgres` user (which the Debian package creates), in a directory that user
owns. Without the binaries the tests that need PostgreSQL are skipped, or fail
when `PRINTER_EXPORTER_REQUIRE_POSTGRES=1` (CI sets it: a green run must have
tested PostgreSQL).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from archive import auth, db, store
from archive.app import build_app
from archive.server import uvicorn_config
from demo.simulator import free_tcp_port
from exporter.secret import Secret
from exporter.web import WebConfigFile, WebLimits
from tests.archive.pgcluster import PostgresMissing, PrivatePostgres
from tests.threaded_server import running

REQUIRE_ENV = "PRINTER_EXPORTER_REQUIRE_POSTGRES"
ADMIN = "auditor"
ADMIN_PASSWORD = "correct horse battery staple"
REPO = Path(__file__).resolve().parents[2]


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL for the session, on 127.0.0.1 at a free port (pgcluster.py).
    Skipped without the binaries, or failed when PRINTER_EXPORTER_REQUIRE_POSTGRES=1."""
    try:
        with PrivatePostgres.start() as cluster:
            yield cluster
    except PostgresMissing as missing:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{missing}; {REQUIRE_ENV}=1 requires them")
        pytest.skip(str(missing))


@pytest.fixture
def pg_url(postgres: PrivatePostgres) -> str:
    """A fresh, empty database on the session's cluster."""
    return postgres.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database (both backends)."""
    engine = db.open_engine(db_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.open_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


# --- the archive on a real server --------------------------------------------------------


@contextmanager
def serve(
    engine: Engine, web_config: WebConfigFile | None = None, scheme: str = "http"
) -> Iterator[str]:
    """The archive app under the archive's uvicorn on 127.0.0.1 (free port) in a thread."""
    limits = WebLimits(request_timeout=120.0)
    app = build_app(engine, decoy_cost=4)  # the tests' admins are cost 4 (add_admin)
    with running(uvicorn_config(app, "127.0.0.1:0", web_config, limits), scheme) as url:
        yield url


@dataclass
class Archive:
    """A served archive with one agent and one admin, and clients for both."""

    url: str
    engine: Engine
    token: Secret
    agent_id: int

    def agent(self, **headers: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={
                "Authorization": f"Bearer {self.token.reveal()}",
                "User-Agent": "pull-sync/0.1.0",
                **headers,
            },
            timeout=60,
        )

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(ADMIN, ADMIN_PASSWORD), timeout=60)


def add_admin(engine: Engine) -> None:
    """The tests' admin, at bcrypt's lowest cost: tests check the rule, not the cost."""
    store.add_admin(engine, ADMIN, auth.hash_password(Secret(ADMIN_PASSWORD), cost=4))


@pytest.fixture
def archive(engine: Engine) -> Iterator[Archive]:
    token = store.add_agent(engine, "site-a")
    add_admin(engine)
    with serve(engine) as url:
        yield Archive(url, engine, token, store.agent_id(engine, "site-a"))


# --- snapshots ----------------------------------------------------------------------------


def snapshot(
    target: str = "127.0.0.11:161",
    taken_at: str = "2026-12-01T10:00:00.000Z",
    counters: Sequence[tuple[Any, ...]] = (("total", 1000),),
    events: Sequence[dict[str, Any]] = (),
    serial: str | None = "CNB1234567",
) -> dict[str, Any]:
    """A printer-snapshot/1 document as the exporter writes one (the fields billing reads,
    and a few it does not)."""
    return {
        "schema": "printer-snapshot/1",
        "target": target,
        "taken_at": taken_at,
        "duration_seconds": 0.41,
        "reachable": True,
        "error": None,
        "identity": {"manufacturer": "HP", "model": "LaserJet", "serial": serial},
        "status": {"device": "running", "printer": "idle", "errors": []},
        "counters": [
            {
                "name": c[0],
                "value": c[1],
                "unit": c[2] if len(c) > 2 else "impressions",
                "source": "1.3.6.1.2.1.43.10.2.1.4.1.1",
            }
            for c in counters
        ],
        "supplies": [],
        "trays": [],
        "alerts": [],
        "counter_events": list(events),
        "warnings": [],
    }


def batch_body(snapshots: Sequence[dict[str, Any]], *, compress: bool = False) -> bytes:
    body = json.dumps({"snapshots": list(snapshots)}).encode()
    return gzip.compress(body) if compress else body


def count_rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        value = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        return int(value)


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
    """`printer-archive ARGS` in a subprocess (as an operator runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "archive", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )


# --- archive processes ----------------------------------------------------------------------


@dataclass
class ArchiveProcess:
    """`printer-archive serve` in its own process, on 127.0.0.1 at `port`."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """kill -9: no shutdown handler, no rollback, no flush."""
        self.process.kill()
        self.process.wait(30)


def start_archive(db_url: str, log: Path, log_level: str = "warn") -> ArchiveProcess:
    """Start `printer-archive serve` and wait (at most 60 s) until it is ready."""
    port = free_tcp_port()
    handle = log.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archive",
            "serve",
            "--db",
            db_url,
            "--web.listen-address",
            f"127.0.0.1:{port}",
            "--log.level",
            log_level,
        ],
        cwd=REPO,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    archive = ArchiveProcess(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"archive exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{archive.url}/-/ready", timeout=2).status_code == 200:
                return archive
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    archive.kill()
    raise RuntimeError(f"archive did not become ready: {log.read_text()}")


@contextmanager
def archive_process(db_url: str, log: Path, log_level: str = "warn") -> Iterator[ArchiveProcess]:
    archive = start_archive(db_url, log, log_level)
    try:
        yield archive
    finally:
        if archive.process.poll() is None:
            archive.process.terminate()
            try:
                archive.process.wait(30)
            except subprocess.TimeoutExpired:
                archive.kill()
