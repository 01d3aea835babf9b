"""Check-in against a real HTTPS archive and a real exporter config: signed bundles applied
and confirmed; bad ones rejected with the last good remote file byte-identical."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo.simulator import free_tcp_port
from exporter.config import ConfigError as ExporterConfigError
from exporter.config import load_config
from pull_sync.archive import ArchiveClient
from pull_sync.bundle import bundle_hash
from pull_sync.exporter_api import ExporterClient
from pull_sync.outbox import Outbox
from pull_sync.service import Sidecar
from tests.pull_sync.conftest import TOKEN, Tls, load, write_config
from tests.pull_sync.servers import (
    FakeExporter,
    ServerTls,
    Signer,
    TestArchive,
    serve,
)

pytestmark = pytest.mark.integration

SITE = """
credentials:
  - {name: office, version: 2c, community: office-secret}
targets: [192.0.2.1]
remote:
  file: remote.yml
  allowed_cidrs: [192.0.2.0/24]
  allowed_settings: [targets, discovery.ranges, poll.interval]
"""


def bundle(version: int, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    doc: dict[str, Any] = {
        "schema": "archive-config/1",
        "agent": "site-a",
        "version": version,
        "issued_at": (now - timedelta(hours=1)).isoformat(),
        "not_after": (now + timedelta(days=7)).isoformat(),
        "settings": {
            "targets": [{"address": f"192.0.2.{10 + version}", "credentials": ["office"]}],
            "poll": {"interval": "5m"},
            "upload": {"interval": "30m"},
        },
    }
    doc.update(changes)
    return doc


@dataclass
class World:
    archive: TestArchive
    exporter: FakeExporter
    signer: Signer
    site: Path
    folder: Path
    tls: Tls
    archive_url: str
    exporter_url: str

    @property
    def remote(self) -> Path:
        return self.site.parent / "remote.yml"

    def publish(self, doc: dict[str, Any] | bytes, signer: Signer | None = None) -> bytes:
        data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        self.archive.publish((signer or self.signer).envelope(data))
        return data

    def sidecar(self, exporter_url: str | None = None) -> Sidecar:
        path = write_config(
            self.folder,
            self.archive_url,
            ca_file=self.tls.ca_file,
            exporter_url=exporter_url or self.exporter_url,
            signer=self.signer,
            exporter_config=self.site,
            archive_extra="timeout: 5s",
        )
        config = load(path)
        outbox = Outbox.open(config.outbox.path, config.outbox.max_bytes)
        return Sidecar(
            config, outbox, ArchiveClient(config.archive), ExporterClient(config.exporter)
        )


async def close(sidecar: Sidecar) -> None:
    assert sidecar.checkin is not None
    await sidecar.checkin._archive.aclose()
    await sidecar.exporter.aclose()
    sidecar.outbox.close()


def exporter_reload(site: Path) -> tuple[bool, str]:
    """What the real exporter does on /-/reload: load the config with the remote file."""
    try:
        config = load_config(site)
    except ExporterConfigError as error:
        return False, str(error).splitlines()[0]
    return True, f"config reloaded: {len(config.targets)} targets"


@pytest.fixture
def world(tmp_path: Path, tls: Tls, signer: Signer) -> Iterator[World]:
    site = tmp_path / "exporter" / "printer-exporter.yml"
    site.parent.mkdir()
    site.write_text(SITE)
    archive = TestArchive(TOKEN)
    exporter = FakeExporter(reload=lambda: exporter_reload(site))
    with (
        serve(archive.app, tls=ServerTls(str(tls.server_cert), str(tls.server_key))) as a,
        serve(exporter.app) as e,
    ):
        yield World(archive, exporter, signer, site, tmp_path, tls, a.url, e.url)


@pytest.fixture
async def sidecar(world: World) -> AsyncIterator[Sidecar]:
    sidecar = world.sidecar()
    yield sidecar
    await close(sidecar)


async def checkin(sidecar: Sidecar) -> str:
    assert sidecar.checkin is not None
    return await sidecar.checkin.run_once()


async def test_nothing_published(world: World, sidecar: Sidecar) -> None:
    assert await checkin(sidecar) == "none"
    assert world.archive.statuses == []


async def test_a_good_bundle_is_applied_confirmed_and_not_fetched_again(
    world: World, sidecar: Sidecar
) -> None:
    data = world.publish(bundle(7))
    assert await checkin(sidecar) == "applied"
    assert world.archive.statuses == [
        {"version": 7, "hash": bundle_hash(data), "status": "applied", "error": None}
    ]
    config = load_config(world.site)  # what the exporter runs now
    assert [t.address for t in config.targets] == ["192.0.2.1:161", "192.0.2.17:161"]
    assert config.poll.interval == 300.0
    assert sidecar.upload_interval == 1800.0  # pull_sync's own interval, from the bundle
    assert sidecar.stats.applied_version == 7
    assert await checkin(sidecar) == "unchanged"  # If-None-Match -> 304
    assert len(world.archive.statuses) == 1
    assert world.exporter.reloads == 1


async def test_state_survives_a_restart(world: World) -> None:
    world.publish(bundle(7))
    first = world.sidecar()
    assert await checkin(first) == "applied"
    await close(first)
    again = world.sidecar()
    try:
        assert again.stats.applied_version == 7
        assert again.upload_interval == 1800.0
        assert await checkin(again) == "unchanged"
        world.publish(bundle(7, settings={}))  # same version, other bytes: not newer
        assert await checkin(again) == "rejected"
    finally:
        await close(again)


BAD_BUNDLES = {
    "bad signature": lambda w: w.archive.publish(
        w.signer.envelope(json.dumps(bundle(8)).encode()).replace(
            b'"signature": "', b'"signature": "AAAA'
        )
    ),
    "unknown key": lambda w: w.publish(bundle(8), signer=Signer()),
    "expired": lambda w: w.publish(
        bundle(8, not_after=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())
    ),
    "older version": lambda w: w.publish(bundle(6)),
    "wrong agent": lambda w: w.publish(bundle(8, agent="site-b")),
    "outside the allowed CIDRs": lambda w: w.publish(
        bundle(8, settings={"targets": [{"address": "198.51.100.7", "credentials": ["office"]}]})
    ),
    "a setting the site does not allow": lambda w: w.publish(
        bundle(8, settings={"discovery": {"interval": "2h"}})
    ),
    "an undefined credential name": lambda w: w.publish(
        bundle(8, settings={"targets": [{"address": "192.0.2.99", "credentials": ["nope"]}]})
    ),
}
REASONS = {
    "bad signature": "bad signature",
    "unknown key": "signed with an unknown key",
    "expired": "expired",
    "older version": "version 6 is not newer than version 7",
    "wrong agent": "meant for agent 'site-b'",
    "outside the allowed CIDRs": "outside remote.allowed_cidrs",
    "a setting the site does not allow": "may not be set remotely",
    "an undefined credential name": "nope",
}


@pytest.mark.parametrize("case", list(BAD_BUNDLES))
async def test_bad_bundles_are_rejected_and_the_last_good_file_stays(
    world: World, sidecar: Sidecar, case: str
) -> None:
    world.publish(bundle(7))
    assert await checkin(sidecar) == "applied"
    good = world.remote.read_bytes()
    reloads = world.exporter.reloads
    BAD_BUNDLES[case](world)
    assert await checkin(sidecar) == "rejected"
    assert world.remote.read_bytes() == good
    assert world.exporter.reloads == reloads
    status = world.archive.statuses[-1]
    assert status["status"] == "failed"
    assert REASONS[case] in status["error"]
    assert "office-secret" not in status["error"]
    assert status["hash"].startswith("sha256:")
    assert sidecar.stats.applied_version == 7
    assert await checkin(sidecar) == "unchanged"  # reported once, not every check-in
    assert len(world.archive.statuses) == 2


async def test_a_refused_reload_restores_and_reports_failed(world: World, sidecar: Sidecar) -> None:
    world.publish(bundle(7))
    assert await checkin(sidecar) == "applied"
    good = world.remote.read_bytes()
    world.exporter.reload_results = [(False, "poll.interval: must be at least 1s")]
    data = world.publish(bundle(8))
    assert await checkin(sidecar) == "failed"
    assert world.remote.read_bytes() == good
    assert world.archive.statuses[-1] == {
        "version": 8,
        "hash": bundle_hash(data),
        "status": "failed",
        "error": "the exporter did not take the new config (500: poll.interval: must be at"
        " least 1s); the previous one is restored",
    }
    assert sidecar.stats.applied_version == 7


async def test_an_unreachable_exporter_means_try_again_next_time(world: World) -> None:
    world.publish(bundle(7))
    down = world.sidecar(exporter_url=f"http://127.0.0.1:{free_tcp_port()}")
    try:
        assert await checkin(down) == "failed"
    finally:
        await close(down)
    assert not world.remote.exists()  # restored: there was no file before
    assert world.archive.statuses[-1]["status"] == "failed"
    up = world.sidecar()
    try:
        assert await checkin(up) == "applied"  # fetched again: its ETag was not kept
    finally:
        await close(up)


async def test_a_confirmation_owed_is_sent_at_the_next_checkin(
    world: World, sidecar: Sidecar
) -> None:
    world.archive.status_failures = 1
    world.publish(bundle(7))
    assert await checkin(sidecar) == "applied"
    assert world.archive.statuses == []
    assert await checkin(sidecar) == "unchanged"
    assert [s["status"] for s in world.archive.statuses] == ["applied"]


async def test_the_archive_down_is_an_error_not_a_crash(tmp_path: Path, world: World) -> None:
    world.archive_url = f"https://127.0.0.1:{free_tcp_port()}"
    sidecar = world.sidecar()
    try:
        assert await checkin(sidecar) == "error"
        assert sidecar.stats.last_checkin_status == "error"
    finally:
        await close(sidecar)
