"""Fixtures for pull_sync's tests: realistic snapshots, certificates, configs, a fake clock.

Snapshots are the readers' own output for the project's recordings
(tests/fixtures/*.snmprec read from memory, no SNMP), copied per simulated
device with its own target and growing meters, so batch sizes and
compression are those of real data.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from exporter.device import read_device
from exporter.snmp.memory import MemoryClient, load_snmprec
from pull_sync.config import SidecarConfig, parse_config
from tests.pull_sync.servers import Signer, TestArchive

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDINGS = ("color_mfp", "mono_printer", "sentinels", "snmpv3", "broken_agent")
TOKEN = "pa1_test-token-0123456789"


async def _read_recordings() -> tuple[dict[str, Any], ...]:
    docs = []
    for name in RECORDINGS:
        client = MemoryClient(load_snmprec(FIXTURES / f"{name}.snmprec"), target="127.0.0.1:161")
        docs.append((await read_device(client)).snapshot.to_json())
    return tuple(docs)


@functools.lru_cache(maxsize=1)
def recorded_docs() -> tuple[dict[str, Any], ...]:
    """Read once, on a thread of its own: callers may be inside a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _read_recordings()).result(timeout=60)


def fleet(count: int, tick: int = 0) -> list[dict[str, Any]]:
    """`count` printer-snapshot/1 documents, one per simulated device, as of poll `tick`.

    Each device gets its own serial, MAC, name, meters, supply levels and timings (seeded
    by its index), so batches compress like a real fleet's, not like copies of five."""
    docs = recorded_docs()
    out = []
    for index in range(count):
        rng = random.Random(index * 7919 + tick)
        device = random.Random(index)
        base = docs[index % len(docs)]
        doc = dict(base)
        doc["target"] = f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}:161"
        doc["taken_at"] = (
            f"2026-12-{4 + tick // 288:02d}T{tick // 12 % 24:02d}:{tick % 12 * 5:02d}:"
            f"{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z"
        )
        doc["duration_seconds"] = round(rng.uniform(0.05, 2.5), 6)
        identity = dict(base["identity"])
        identity["serial"] = f"{device.choice('ABCDEFGHJK')}{device.randrange(10**9):09d}"
        identity["mac"] = ":".join(f"{device.randrange(256):02x}" for _ in range(6))
        identity["sys_name"] = f"NPI{device.randrange(16**6):06X}"
        if identity.get("uptime_seconds") is not None:
            identity["uptime_seconds"] = float(device.randrange(10**7) + tick * 300)
        doc["identity"] = identity
        start = device.randrange(10**6)
        doc["counters"] = [
            {**counter, "value": counter["value"] + start + tick * device.randrange(1, 40)}
            if isinstance(counter.get("value"), int)
            else counter
            for counter in base["counters"]
        ]
        doc["supplies"] = [
            {**supply, "level": max(0, supply["level"] - device.randrange(50) - tick // 50)}
            if isinstance(supply.get("level"), int) and supply["level"] > 0
            else supply
            for supply in base["supplies"]
        ]
        out.append(doc)
    return out


class FakeClock:
    """Wall and monotonic time that move only when a test says so."""

    def __init__(self, start: float = 1_796_000_000.0) -> None:
        self.now = start
        self.mono = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass(frozen=True)
class Tls:
    """trustme PEM files: the archive's CA and certificates, and a client CA and cert."""

    folder: Path
    ca: Any  # trustme.CA, untyped
    ca_file: Path
    server_cert: Path
    server_key: Path
    client_ca_file: Path
    client_cert: Path
    client_key: Path

    def leaf(self, name: str, *hosts: str, **kwargs: Any) -> tuple[Path, Path]:
        """Another server certificate from the same CA (other names, other dates)."""
        cert = self.ca.issue_cert(*hosts, **kwargs)
        crt, key = self.folder / f"{name}.crt", self.folder / f"{name}.key"
        cert.cert_chain_pems[0].write_to_path(crt)
        cert.private_key_pem.write_to_path(key)
        return crt, key


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    trustme = pytest.importorskip("trustme")
    folder = tmp_path_factory.mktemp("pull-sync-tls")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(folder / "ca.crt")
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(folder / "server.crt")
    server.private_key_pem.write_to_path(folder / "server.key")
    client_ca = trustme.CA()
    client_ca.cert_pem.write_to_path(folder / "client-ca.crt")
    client = client_ca.issue_cert("site-a@pull-sync.example")
    client.cert_chain_pems[0].write_to_path(folder / "client.crt")
    client.private_key_pem.write_to_path(folder / "client.key")
    return Tls(
        folder,
        ca,
        folder / "ca.crt",
        folder / "server.crt",
        folder / "server.key",
        folder / "client-ca.crt",
        folder / "client.crt",
        folder / "client.key",
    )


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer()


@pytest.fixture
def archive() -> TestArchive:
    return TestArchive(TOKEN)


def write_config(
    folder: Path,
    archive_url: str,
    *,
    ca_file: Path | None = None,
    exporter_url: str = "http://127.0.0.1:9269",
    extra: str = "",
    archive_extra: str = "",
    signer: Signer | None = None,
    exporter_config: Path | None = None,
    outbox: str = "{path: outbox.db, max_bytes: 64MiB}",
    upload: str = "{interval: 1s, backoff_base: 10ms, backoff_max: 1s}",
) -> Path:
    """A pull-sync.yml in `folder` (token file beside it) and its path."""
    (folder / "token").write_text(TOKEN + "\n")
    lines = [
        "agent: {name: site-a}",
        "archive:",
        f"  url: {archive_url!r}",
        "  token_file: token",
    ]
    if ca_file is not None:
        lines.append(f"  ca_file: {str(ca_file)!r}")
    if archive_extra:
        lines.extend(f"  {line}" for line in archive_extra.strip().splitlines())
    lines.append("exporter:")
    lines.append(f"  url: {exporter_url!r}")
    if exporter_config is not None:
        lines.append(f"  config_file: {str(exporter_config)!r}")
    if signer is not None:
        (folder / "signing.pub").write_bytes(signer.public_pem)
        lines.append("signing: {public_key_file: signing.pub}")
    lines.append(f"outbox: {outbox}")
    lines.append(f"upload: {upload}")
    if extra:
        lines.append(extra.strip())
    path = folder / "pull-sync.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def load(path: Path) -> SidecarConfig:
    return parse_config(path.read_text(), str(path), base_dir=path.parent)
