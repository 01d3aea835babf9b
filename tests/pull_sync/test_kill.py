"""kill -9 of the sidecar process, mid-upload and after the archive committed but before
the reply arrived: no loss and no duplicate, because the key was fixed at queueing.

The sidecar runs as a real process (`python -m pull_sync --once`); the test archive holds
the upload at the chosen point, the test kills the process there, and a second run
finishes the job. No sleep decides anything: every wait is for an event, with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pull_sync.outbox import Outbox
from tests.pull_sync.conftest import TOKEN, Tls, fleet, load, write_config
from tests.pull_sync.servers import FakeExporter, Gate, ServerTls, TestArchive, serve

pytestmark = pytest.mark.integration

DEVICES = 20
DEADLINE = 60.0


def start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pull_sync", "--config.file", str(config), "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def finish(process: subprocess.Popen[bytes]) -> str:
    _, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == 0, err.decode()
    return err.decode()


@pytest.fixture
def setup(tmp_path: Path, tls: Tls) -> Iterator[tuple[TestArchive, FakeExporter, Path]]:
    archive = TestArchive(TOKEN)
    exporter = FakeExporter()
    with (
        serve(archive.app, tls=ServerTls(str(tls.server_cert), str(tls.server_key))) as a,
        serve(exporter.app) as e,
    ):
        config = write_config(tmp_path, a.url, ca_file=tls.ca_file, exporter_url=e.url)
        yield archive, exporter, config


@pytest.mark.parametrize("where", ["before_body", "after_commit"])
def test_kill_9_loses_nothing_and_duplicates_nothing(
    setup: tuple[TestArchive, FakeExporter, Path], where: str
) -> None:
    archive, exporter, config = setup
    exporter.set_snapshots(fleet(DEVICES, tick=0))
    archive.gate = gate = Gate(where)
    first = start(config)
    try:
        assert gate.arrived.wait(DEADLINE), "the upload never reached the archive"
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=DEADLINE)
    finally:
        if first.poll() is None:
            first.kill()
        gate.release.set()
    assert first.returncode == -signal.SIGKILL
    outbox_path = load(config).outbox.path
    with Outbox.open(outbox_path, 2**26) as outbox:
        (key,) = outbox.queued_keys()  # the batch is still queued, with its key
    assert archive.posts[key] == 1
    if where == "after_commit":
        assert key in archive.batches
    # Killed before the archive read the body, the batch may still have reached it whole
    # (a small body sits in the socket buffers): either way it must be stored exactly once.

    first_stored = key in archive.batches
    exporter.set_snapshots(fleet(DEVICES, tick=1))
    finish(start(config))

    with Outbox.open(outbox_path, 2**26) as outbox:
        assert outbox.queued_keys() == []
        assert outbox.stats().counter("quarantined") == 0
    assert archive.posts[key] == 2  # the same key again, not a new batch
    assert len(archive.batches) == 2
    assert archive.duplicates[key] == (1 if first_stored else 0)
    assert archive.snapshot_count() == 2 * DEVICES
    targets = sorted(s["target"] for b in archive.batches.values() for s in b.snapshots)
    assert targets == sorted(d["target"] for d in fleet(DEVICES) * 2)
