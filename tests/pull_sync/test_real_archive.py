"""The sidecar against the real archive: `printer-archive serve` over TLS on 127.0.0.1, an
agent made with `agent add`, a bundle signed with `keygen` + `config publish`, and the
real `pull-sync` process. Skipped until the `archive` package is installed and works.

What it proves beyond the test archive: the two sides read archive-api/1 the same way
(headers, gzip, idempotency, envelope, ETag, confirm-back), with no shared code.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from demo.simulator import free_tcp_port
from exporter.config import load_config
from pull_sync.config import load_config as load_sidecar
from pull_sync.outbox import Outbox
from tests.pull_sync.conftest import Tls, fleet, write_config
from tests.pull_sync.outage import Backend, simulate_outage
from tests.pull_sync.servers import FakeExporter, serve

pytestmark = pytest.mark.integration

ARCHIVE = shutil.which("printer-archive", path=str(Path(sys.executable).parent))
DEADLINE = 60.0
SITE = """
credentials:
  - {name: office, version: 2c, community: office-secret}
targets: [192.0.2.1]
remote:
  file: remote.yml
  allowed_cidrs: [192.0.2.0/24]
  allowed_settings: [targets, discovery.ranges, poll.interval]
"""


def archive_cli(*args: str) -> str:
    assert ARCHIVE is not None
    done = subprocess.run(
        [ARCHIVE, *args], capture_output=True, text=True, timeout=DEADLINE, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class RealArchive:
    url: str
    db: str
    db_path: Path
    token: str
    keys: Path


def prepare(folder: Path) -> tuple[str, Path, str]:
    """A fresh archive database with agent site-a and a signing key pair in folder/keys."""
    if ARCHIVE is None:
        pytest.skip("printer-archive is not installed")
    folder.mkdir()
    db_path = folder / "archive.db"
    db = f"sqlite:///{db_path}"
    try:
        token = archive_cli("agent", "add", "site-a", "--db", db).strip().splitlines()[-1]
        archive_cli("keygen", "--out", str(folder / "keys"))
    except AssertionError as error:
        pytest.skip(f"the archive CLI does not work yet: {error}")
    return db, db_path, token


@contextmanager
def running(db: str, tls: Tls, port: int) -> Iterator[str]:
    """`printer-archive serve` over TLS on 127.0.0.1:port until the block ends; its URL."""
    assert ARCHIVE is not None
    web = Path(db.removeprefix("sqlite:///")).parent / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {tls.server_cert}\n  key_file: {tls.server_key}\n"
    )
    command = [ARCHIVE, "serve", "--db", db, "--web.listen-address", f"127.0.0.1:{port}"]
    command += ["--web.config.file", str(web), "--log.level", "warn"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            if process.poll() is not None:
                assert process.stderr is not None
                pytest.skip(f"printer-archive serve exited: {process.stderr.read()[:300]!r}")
            try:
                if httpx.get(f"{url}/-/healthy", verify=context, timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("printer-archive serve did not become healthy")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=DEADLINE)


@pytest.fixture
def real_archive(tmp_path: Path, tls: Tls) -> Iterator[RealArchive]:
    db, db_path, token = prepare(tmp_path / "archive")
    with running(db, tls, free_tcp_port()) as url:
        yield RealArchive(url, db, db_path, token, tmp_path / "archive" / "keys")


def run_sidecar(config: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pull_sync", "--config.file", str(config), "--once"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def stored_keys(db_path: Path) -> list[str]:
    """Idempotency keys the archive holds, read from its own database."""
    with sqlite3.connect(db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
            for column in ("idempotency_key", "key", "batch_key"):
                if column in columns and "agent_id" in columns:
                    return [r[0] for r in db.execute(f"SELECT {column} FROM {table}")]
    pytest.skip(f"cannot find the idempotency keys in the archive's tables: {tables}")


def test_upload_checkin_apply_confirm_with_the_real_archive(
    tmp_path: Path, tls: Tls, real_archive: RealArchive
) -> None:
    site = tmp_path / "site" / "printer-exporter.yml"
    site.parent.mkdir()
    site.write_text(SITE)
    exporter = FakeExporter(reload=lambda: (True, "reloaded"))
    exporter.set_snapshots(fleet(25))
    bundle = tmp_path / "site-a.yaml"
    bundle.write_text(
        "settings:\n"
        "  targets: [{address: 192.0.2.10, credentials: [office]}]\n"
        "  poll: {interval: 5m}\n"
    )
    archive_cli(
        "config", "publish", "--agent", "site-a", "--file", str(bundle),
        "--key", str(real_archive.keys / "archive-signing.key"), "--db", real_archive.db,
    )  # fmt: skip
    with serve(exporter.app) as running:
        config = write_config(
            tmp_path,
            real_archive.url,
            ca_file=tls.ca_file,
            exporter_url=running.url,
            exporter_config=site,
        )
        (tmp_path / "token").write_text(real_archive.token + "\n")
        (tmp_path / "signing.pub").write_bytes(
            (real_archive.keys / "archive-signing.pub").read_bytes()
        )
        text = config.read_text() + "signing: {public_key_file: signing.pub}\n"
        config.write_text(text)
        log = run_sidecar(config)

        assert "config version 1 applied" in log, log
        assert [t.address for t in load_config(site).targets] == [
            "192.0.2.1:161",
            "192.0.2.10:161",
        ]
        assert exporter.reloads == 1
        agents = archive_cli("agent", "list", "--db", real_archive.db)
        assert "site-a" in agents
        assert "applied" in agents, agents
        keys = stored_keys(real_archive.db_path)
        assert len(keys) == 1

        # A batch the archive committed whose reply was lost: still queued with its key.
        sidecar = load_sidecar(config)
        with Outbox.open(sidecar.outbox.path, sidecar.outbox.max_bytes) as outbox:
            body = gzip.compress(json.dumps({"snapshots": fleet(3, tick=9)}).encode())
            (key,) = outbox.append([(body, 3)]).keys
        response = httpx.post(
            f"{real_archive.url}/api/v1/snapshots",
            content=body,
            headers={
                "Authorization": f"Bearer {real_archive.token}",
                "Idempotency-Key": key,
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
            },
            verify=ssl.create_default_context(cafile=str(tls.ca_file)),
        )
        assert response.status_code == 200, response.text
        run_sidecar(config)  # sends `key` again, and a new collection
        with Outbox.open(sidecar.outbox.path, sidecar.outbox.max_bytes) as outbox:
            assert outbox.queued_keys() == []
        keys = stored_keys(real_archive.db_path)
        assert keys.count(key) == 1
        assert len(keys) == 3

    # No secret anywhere it could leak to: the token and the site's SNMP community are in
    # none of the logs, the uploads, the outbox, the remote file or the archive's database.
    places = [real_archive.db_path, sidecar.outbox.path, site.parent / "remote.yml"]
    blobs = [log.encode()] + [p.read_bytes() for p in places]
    blobs += [p.read_bytes() for p in real_archive.db_path.parent.glob("archive.db*")]
    for secret in (real_archive.token, "office-secret"):
        assert all(secret.encode() not in blob for blob in blobs), secret


async def test_a_day_long_outage_with_the_real_archive(tmp_path: Path, tls: Tls) -> None:
    """Refusing for 16 simulated hours, then up: every batch stored once, by key, in the
    archive's own database."""
    db, db_path, token = prepare(tmp_path / "archive")
    backend = Backend(
        token,
        lambda port: running(db, tls, port),
        lambda: stored_keys(db_path),
    )
    sidecar_folder = tmp_path / "site"
    sidecar_folder.mkdir()
    figures = await simulate_outage(sidecar_folder, tls, backend, "64MiB")
    assert figures["batches"] == 96
    assert figures["delivered"] == 96
    assert figures["duplicates"] == 0
    print(f"\noutage, real archive, 64 MiB outbox: {figures}")


@pytest.mark.parametrize("case", ["unknown key", "outside the allowed CIDRs"])
def test_bad_bundles_from_the_real_archive_are_rejected(
    tmp_path: Path, tls: Tls, real_archive: RealArchive, case: str
) -> None:
    site = tmp_path / "site" / "printer-exporter.yml"
    site.parent.mkdir()
    site.write_text(SITE)
    key = real_archive.keys / "archive-signing.key"
    good = tmp_path / "good.yaml"
    good.write_text("settings:\n  targets: [{address: 192.0.2.10, credentials: [office]}]\n")
    exporter = FakeExporter()
    with serve(exporter.app) as running_exporter:
        config = write_config(
            tmp_path, real_archive.url, ca_file=tls.ca_file,
            exporter_url=running_exporter.url, exporter_config=site,
        )  # fmt: skip
        (tmp_path / "token").write_text(real_archive.token + "\n")
        (tmp_path / "signing.pub").write_bytes(
            (real_archive.keys / "archive-signing.pub").read_bytes()
        )
        config.write_text(config.read_text() + "signing: {public_key_file: signing.pub}\n")
        publish = ["config", "publish", "--agent", "site-a", "--db", real_archive.db]
        archive_cli(*publish, "--file", str(good), "--key", str(key), "--version", "5")
        assert "config version 5 applied" in run_sidecar(config)
        before = (site.parent / "remote.yml").read_bytes()
        bad = tmp_path / "bad.yaml"
        bad.write_text("settings:\n  targets: [{address: 192.0.2.11, credentials: [office]}]\n")
        if case == "unknown key":
            archive_cli("keygen", "--out", str(tmp_path / "other"))
            key = tmp_path / "other" / "archive-signing.key"
        elif case == "outside the allowed CIDRs":
            bad.write_text("settings:\n  targets: [{address: 198.51.100.7}]\n")
        # (An older version cannot be published at all: `config publish` refuses it. The
        # sidecar's own check is tested against the test archive, test_checkin.py.)
        archive_cli(*publish, "--file", str(bad), "--key", str(key))
        log = run_sidecar(config)
    assert "rejected" in log, log
    assert (site.parent / "remote.yml").read_bytes() == before
    assert exporter.reloads == 1
    agents = archive_cli("agent", "list", "--db", real_archive.db)
    assert "failed" in agents, agents
