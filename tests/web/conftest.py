"""The web tests' world: a fake exporter service over the project's own fixtures, and a
real uvicorn server on 127.0.0.1 at a free port.

Why a fake service and a real server: the web app is the seam between the
running exporter and HTTP clients, so its tests feed it snapshots the readers
really produce (the fixture recordings, read from memory with no SNMP at all)
and talk to it over real sockets, TLS included, the way Prometheus, pull_sync
and a browser will. Targets are labels only: nothing here sends SNMP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp

from exporter.device import DeviceRead, read_device
from exporter.metrics import ExporterState, TrafficCounts, render
from exporter.model import Snapshot
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.store import DeviceEntry
from exporter.web import (
    ProbeRefused,
    WebConfigFile,
    WebLimits,
    WebSettings,
    build_app,
    uvicorn_config,
)
from tests.oracle import FIXTURES
from tests.threaded_server import running

HOSTILE_LOCATION = '<script>alert("loc")</script>'
HOSTILE_PANEL = '"><img src=x onerror=alert(1)>'
HOSTILE_TARGET = "127.0.0.66:161"
DOWN_TARGET = "127.0.0.99:161"
PROBE_TARGET = "127.0.0.50:161"

FLEET: tuple[tuple[str, str], ...] = (
    ("color_mfp", "127.0.0.11:161"),
    ("mono_printer", "127.0.0.12:161"),
    ("sentinels", "127.0.0.13:161"),
    ("snmpv3", "127.0.0.14:161"),
    ("broken_agent", "127.0.0.15:161"),
)
"""Fixture recording -> the target it is shown under."""

MODELS = {
    "color_mfp": "Color LaserJet Pro MFP M479fdw",
    "mono_printer": "ECOSYS P3145dn",
    "sentinels": "CX725",
    "snmpv3": "HL-L2350DW series",
    "broken_agent": "ML-3710 Series",
}


def read_fixture(name: str, target: str) -> DeviceRead:
    client = MemoryClient(load_snmprec(FIXTURES / f"{name}.snmprec"), target=target)
    return asyncio.run(read_device(client))


def _entry(read: DeviceRead, last_good: Snapshot | None = None) -> DeviceEntry:
    reached = read.snapshot.reachable
    return DeviceEntry(
        snapshot=read.snapshot,
        readers=read.readers,
        last_success=time.time() - 12 if reached else time.time() - 3600,
        last_good=read.snapshot if reached else last_good,
        traffic=TrafficCounts(packets_sent=14, packets_received=14, bytes_sent=900),
    )


def _hostile(read: DeviceRead) -> DeviceRead:
    snap = read.snapshot
    snap = dataclasses.replace(
        snap,
        target=HOSTILE_TARGET,
        identity=dataclasses.replace(snap.identity, location=HOSTILE_LOCATION, model="M<b>X</b>"),
        status=dataclasses.replace(snap.status, console=(HOSTILE_PANEL, "Ready")),
    )
    return dataclasses.replace(read, snapshot=snap)


def build_fleet() -> list[DeviceEntry]:
    entries = [_entry(read_fixture(name, target)) for name, target in FLEET]
    entries.append(_entry(_hostile(read_fixture("color_mfp", HOSTILE_TARGET))))
    good = read_fixture("mono_printer", DOWN_TARGET).snapshot
    down = asyncio.run(read_device(MemoryClient({}, target=DOWN_TARGET, reachable=False)))
    entries.append(_entry(down, last_good=good))
    return sorted(entries, key=lambda e: e.snapshot.target)


@dataclass
class FakeService:
    """A `WebService` over fixed entries; records the calls a test may check."""

    fleet: Sequence[DeviceEntry]
    is_ready: bool = True
    reload_result: tuple[bool, str] = (True, "config reloaded: 5 targets")
    probe_allowed: Mapping[str, str] = field(default_factory=lambda: {PROBE_TARGET: "snmpv3"})
    reloads: int = 0
    probes: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    async def metrics_body(self, *, openmetrics: bool = False) -> bytes:
        return render(self.state(), openmetrics=openmetrics)

    def state(self) -> ExporterState:
        return ExporterState(
            snapshots=tuple(e.snapshot for e in self.fleet),
            last_success={e.snapshot.target: e.last_success for e in self.fleet if e.last_success},
            reader_runs={e.snapshot.target: e.readers for e in self.fleet},
            traffic={e.snapshot.target: e.traffic for e in self.fleet},
            poll_cycles_total=3,
        )

    def entries(self) -> Sequence[DeviceEntry]:
        return self.fleet

    def entry(self, target: str) -> DeviceEntry | None:
        return next((e for e in self.fleet if e.snapshot.target == target), None)

    def ready(self) -> bool:
        return self.is_ready

    async def reload(self) -> tuple[bool, str]:
        self.reloads += 1
        return self.reload_result

    async def probe(self, target: str, params: Mapping[str, str]) -> Snapshot:
        self.probes.append((target, dict(params)))
        name = self.probe_allowed.get(target)
        if name is None:
            raise ProbeRefused(f"target {target!r} is not in the config's targets or ranges")
        client = MemoryClient(load_snmprec(FIXTURES / f"{name}.snmprec"), target=target)
        return (await read_device(client)).snapshot


@pytest.fixture(scope="session")
def fleet() -> list[DeviceEntry]:
    return build_fleet()


@pytest.fixture
def service(fleet: list[DeviceEntry]) -> FakeService:
    return FakeService(fleet)


@contextmanager
def serve(
    app: ASGIApp,
    web_config: WebConfigFile | None = None,
    scheme: str = "http",
    limits: WebLimits | None = None,
) -> Iterator[str]:
    """Run `app` under a real uvicorn on 127.0.0.1 (free port) in a thread; yield its URL.

    The server is the exporter's (`WebServer`, held to `limits`)."""
    with running(uvicorn_config(app, "127.0.0.1:0", web_config, limits), scheme, 10) as url:
        yield url


@pytest.fixture
def base_url(service: FakeService) -> Iterator[str]:
    """The default app (no web config) on a real server."""
    with serve(build_app(service, WebSettings())) as url:
        yield url


def make_app(service: FakeService, **settings: Any) -> ASGIApp:
    return build_app(service, WebSettings(**settings))


@dataclass(frozen=True)
class TlsFiles:
    """PEM files from trustme (ECDSA keys): a server CA and cert, and a separate client CA
    and cert."""

    ca: Any  # trustme.CA: untyped
    server_cert: Path
    server_key: Path
    client_ca: Any
    client_ca_file: Path
    client_cert: Any  # trustme.LeafCert

    def client_context(self, *, with_cert: bool = False) -> ssl.SSLContext:
        """What a scraper uses: trusts our server CA, optionally presents a client cert."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        if with_cert:
            self.client_cert.configure_cert(context)
        return context


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    trustme = pytest.importorskip("trustme")
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(folder / "server.crt")
    server.private_key_pem.write_to_path(folder / "server.key")
    client_ca = trustme.CA()
    client_ca.cert_pem.write_to_path(folder / "client_ca.crt")
    client = client_ca.issue_cert("prometheus@example.org")
    return TlsFiles(
        ca,
        folder / "server.crt",
        folder / "server.key",
        client_ca,
        folder / "client_ca.crt",
        client,
    )
