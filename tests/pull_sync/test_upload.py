"""Uploads against a real HTTPS archive on 127.0.0.1: headers, retries, dead letters,
and a simulated 24-hour outage on a fake clock."""

from __future__ import annotations

import gzip
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from pull_sync import __version__
from pull_sync.archive import ArchiveClient
from pull_sync.config import SidecarConfig
from pull_sync.errors import AgentRefused, BatchRefused, TransientError
from pull_sync.metrics import Stats
from pull_sync.outbox import Outbox
from pull_sync.upload import Uploader
from tests.pull_sync.conftest import TOKEN, Tls, fleet, load, write_config
from tests.pull_sync.outage import PRINTERS, Backend, simulate_outage
from tests.pull_sync.servers import Running, ServerTls, TestArchive, serve

pytestmark = pytest.mark.integration


def server_tls(tls: Tls) -> ServerTls:
    return ServerTls(str(tls.server_cert), str(tls.server_key))


@pytest.fixture
def running(archive: TestArchive, tls: Tls) -> Iterator[Running]:
    with serve(archive.app, tls=server_tls(tls)) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, running: Running, tls: Tls) -> SidecarConfig:
    return load(
        write_config(tmp_path, running.url, ca_file=tls.ca_file, archive_extra="timeout: 5s")
    )


@pytest.fixture
async def client(config: SidecarConfig) -> AsyncIterator[ArchiveClient]:
    stats = Stats()
    client = ArchiveClient(config.archive, on_latest_agent=stats.announce_latest_agent)
    client.stats = stats  # type: ignore[attr-defined]
    yield client
    await client.aclose()


def gz(count: int, seed: int = 0) -> tuple[bytes, int]:
    docs = fleet(count, tick=seed)
    return gzip.compress(json.dumps({"snapshots": docs}).encode()), count


async def test_upload_sends_the_documented_headers(
    client: ArchiveClient, archive: TestArchive
) -> None:
    body, _count = gz(3)
    result = await client.upload("key-1", body)
    assert (result.status, result.stored, result.duplicate) == (200, 3, False)
    assert archive.user_agents == {f"pull-sync/{__version__}"}
    assert [s["target"] for s in archive.batches["key-1"].snapshots] == [
        d["target"] for d in fleet(3)
    ]


async def test_a_repeated_key_is_stored_once(client: ArchiveClient, archive: TestArchive) -> None:
    body, _ = gz(2)
    await client.upload("key-1", body)
    again = await client.upload("key-1", body)
    assert again.duplicate
    assert again.stored == 0
    assert archive.posts["key-1"] == 2
    assert len(archive.batches) == 1


async def test_status_classes(client: ArchiveClient, archive: TestArchive) -> None:
    body, _ = gz(1)
    archive.mode, archive.retry_after = "503", "120"
    with pytest.raises(TransientError) as transient:
        await client.upload("k", body)
    assert (transient.value.status, transient.value.retry_after) == (503, 120.0)
    archive.mode, archive.retry_after = "429", "Wed, 21 Oct 2099 07:28:00 GMT"
    with pytest.raises(TransientError) as limited:
        await client.upload("k", body)
    assert limited.value.retry_after == 6 * 3600.0  # far dates are cut to the ceiling
    archive.mode, archive.retry_after = "400", None
    with pytest.raises(BatchRefused, match=r"refused it \(400\): mode 400"):
        await client.upload("k", body)
    archive.mode = "ok"
    archive.token = "pa1_another"
    with pytest.raises(AgentRefused, match=r"check archive\.url and archive\.token_file"):
        await client.upload("k", body)


async def test_the_announced_agent_version_is_a_value_and_one_log_line(
    client: ArchiveClient, archive: TestArchive, caplog: pytest.LogCaptureFixture
) -> None:
    archive.latest_agent = "9.9.9"
    body, _ = gz(1)
    with caplog.at_level(logging.INFO, logger="pull_sync"):
        for key in ("a", "b", "c"):
            await client.upload(key, body)
    stats: Stats = client.stats  # type: ignore[attr-defined]
    assert stats.latest_agent == "9.9.9"
    assert [r.getMessage() for r in caplog.records if "9.9.9" in r.getMessage()] == [
        f"the archive announces pull-sync 9.9.9 (this is {__version__}); update with pip,"
        " the image or the package manager (docs/pull_sync.md)"
    ]


# --- draining the outbox ---------------------------------------------------------------


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox.open(tmp_path / "outbox.db", 64 * 1024 * 1024) as box:
        yield box


async def test_drain_sends_oldest_first_and_removes_only_after_2xx(
    client: ArchiveClient, archive: TestArchive, outbox: Outbox, config: SidecarConfig
) -> None:
    keys = outbox.append([gz(2, seed=s) for s in range(3)]).keys
    stats = Stats()
    assert await Uploader(outbox, client, config.upload, stats).drain() is None
    assert [key for method, key in archive.requests] == list(keys)
    assert outbox.pending() == 0
    assert (stats.uploaded_batches, stats.uploaded_snapshots) == (3, 6)
    assert stats.upload_attempts == {"ok": 3}


async def test_a_refused_batch_goes_to_dead_letters_and_the_next_one_is_sent(
    client: ArchiveClient, archive: TestArchive, outbox: Outbox, config: SidecarConfig
) -> None:
    bad = gzip.compress(json.dumps({"snapshots": [{"schema": "nope"}]}).encode())
    keys = outbox.append([(bad, 1), gz(1)]).keys
    stats = Stats()
    assert await Uploader(outbox, client, config.upload, stats).drain() is None
    assert list(archive.batches) == [keys[1]]
    assert outbox.dead_letters() == [
        (keys[0], 422, "the archive refused it (422): not printer-snapshot/1")
    ]
    assert stats.upload_attempts == {"dead_letter": 1, "ok": 1}


async def test_agent_refused_keeps_every_batch(
    client: ArchiveClient, archive: TestArchive, outbox: Outbox, config: SidecarConfig
) -> None:
    outbox.append([gz(1), gz(1)])
    archive.token = "pa1_rotated"
    uploader = Uploader(outbox, client, config.upload, Stats(), rand=lambda: 1.0)
    assert await uploader.drain() == pytest.approx(0.01)
    assert await uploader.drain() == pytest.approx(0.02)
    assert outbox.pending() == 2
    assert outbox.dead_letters() == []
    archive.token = TOKEN
    assert await uploader.drain() is None
    assert outbox.pending() == 0
    assert uploader.failures == 0


async def test_retry_after_is_the_floor_of_the_wait(
    client: ArchiveClient, archive: TestArchive, outbox: Outbox, config: SidecarConfig
) -> None:
    outbox.append([gz(1)])
    archive.mode, archive.retry_after = "503", "42"
    uploader = Uploader(outbox, client, config.upload, Stats(), rand=lambda: 0.0)
    assert await uploader.drain() == 42.0


# --- a day-long outage, on a fake clock --------------------------------------------------


def archive_backend(tls: Tls) -> tuple[Backend, TestArchive]:
    archive = TestArchive(TOKEN)

    def fail(on: bool) -> None:
        archive.mode, archive.retry_after = ("503", "600") if on else ("ok", None)

    def start(port: int) -> AbstractContextManager[object]:
        return serve(archive.app, port=port, tls=server_tls(tls))

    return Backend(TOKEN, start, lambda: list(archive.batches), fail), archive


async def test_a_day_long_outage_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, tls: Tls
) -> None:
    backend, archive = archive_backend(tls)
    figures = await simulate_outage(tmp_path, tls, backend, "64MiB")
    assert figures["batches"] == 96  # every 15 min for 24 h
    assert figures["delivered"] == 96
    assert figures["dropped"] == 0
    assert figures["duplicates"] == 0
    assert archive.snapshot_count() == 96 * PRINTERS
    print(f"\noutage, test archive, 64 MiB outbox: {figures}")


async def test_a_small_outbox_drops_the_oldest_and_delivers_the_rest_once(
    tmp_path: Path, tls: Tls
) -> None:
    backend, _ = archive_backend(tls)
    figures = await simulate_outage(tmp_path, tls, backend, "1MiB")
    assert figures["dropped"] > 0
    assert figures["delivered"] == figures["batches"] - figures["dropped"]
    assert figures["duplicates"] == 0
    assert figures["peak_bytes"] <= 1024 * 1024
    print(f"\noutage, test archive, 1 MiB outbox: {figures}")


async def test_a_corrupt_record_is_quarantined_and_the_rest_delivered(
    client: ArchiveClient, archive: TestArchive, outbox: Outbox, config: SidecarConfig
) -> None:
    keys = outbox.append([gz(1, seed=1), gz(1, seed=2)]).keys
    db = sqlite3.connect(outbox.path)
    db.execute("UPDATE batch SET body = substr(body, 1, 20) WHERE key = ?", (keys[0],))
    db.commit()
    db.close()
    stats = Stats()
    assert await Uploader(outbox, client, config.upload, stats).drain() is None
    assert list(archive.batches) == [keys[1]]
    assert outbox.stats().counter("quarantined") == 1
    assert outbox.pending() == 0
