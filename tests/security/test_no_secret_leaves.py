"""Secrets never leave the site: not in logs, metrics, pages, uploads or the archive.

The whole chain on loopback, with secrets no other test uses: snmpsim serves a
recording under a secret community and to an SNMPv3 user with secret keys; the
exporter polls both (debug logging); pull_sync uploads to the reference archive
(demo/central.py); the test then searches every place a secret could end up for
each secret: the exporter's log, `/metrics`, the pages and the snapshot API,
pull_sync's log and outbox, the archive's log and database, and the export.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
import yaml

from demo.central import Central
from demo.simulator import Simulator, V3User, free_tcp_port, free_udp_port
from exporter.daemon import serve
from tests.oracle import FIXTURES

pytestmark = pytest.mark.integration

COMMUNITY = "Cmty-9f3b-secret-XQ"
AUTH_KEY = "AuthKey-5d1c-secret-RT"
PRIV_KEY = "PrivKey-77ae-secret-MZ"
HOSTS = ("127.0.0.61", "127.0.0.62")


async def test_no_secret_reaches_any_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "recordings"
    data.mkdir()
    shutil.copy(FIXTURES / "color_mfp.snmprec", data / f"{COMMUNITY}.snmprec")
    shutil.copy(FIXTURES / "mono_printer.snmprec", data / "v3printer.snmprec")
    port = free_udp_port(HOSTS)
    user = V3User("monitor", "SHA", AUTH_KEY, "AES", PRIV_KEY)
    site = tmp_path / "site"
    site.mkdir()
    config = site / "printer-exporter.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "credentials": [
                    {"name": "office", "version": "2c", "community": COMMUNITY},
                    {
                        "name": "v3",
                        "version": 3,
                        "username": "monitor",
                        "auth_protocol": "SHA",
                        "auth_key": AUTH_KEY,
                        "priv_protocol": "AES",
                        "priv_key": PRIV_KEY,
                        "context": "v3printer",
                    },
                ],
                "targets": [
                    {"address": f"{HOSTS[0]}:{port}", "credentials": ["office"]},
                    {"address": f"{HOSTS[1]}:{port}", "credentials": ["v3"]},
                ],
                "poll": {"interval": "5s", "timeout": "1s"},
            }
        )
    )
    listen = f"127.0.0.1:{free_tcp_port()}"
    caplog.set_level(logging.DEBUG)
    outputs: list[bytes] = []
    with (
        Simulator(data, [(h, port) for h in HOSTS], v3_users=[user]),
        Central(site, config, f"http://{listen}") as central,
    ):
        until = asyncio.Event()
        running = asyncio.create_task(serve(config, None, listen, until))
        try:
            stored = await _wait_until_stored(central, 2)
            async with httpx.AsyncClient(base_url=f"http://{listen}", timeout=10) as client:
                for page in ("/metrics", "/", "/api/v1/snapshot"):
                    outputs.append((await client.get(page)).content)
                outputs.append((await client.get(f"/device/{HOSTS[1]}:{port}")).content)
        finally:
            until.set()
            await asyncio.wait_for(running, timeout=60)
        exported = central.export("--from", "2000-01-01", "--to", "2100-01-01", "--format", "json")
        outputs.append(exported.encode())
    assert stored >= 2
    for host in HOSTS:  # both polled: over v2c with the community, over v3 with the keys
        assert f'printer_up{{target="{host}:{port}"}} 1.0'.encode() in outputs[0]
    outputs.append(caplog.text.encode())
    written_by_the_operator = {config, site / "token", *(site / "keys").iterdir()}
    for path in site.rglob("*"):
        if path.is_file() and path not in written_by_the_operator:
            outputs.append(path.read_bytes())  # logs, outbox, database, remote file
    database = sqlite3.connect(site / "archive.db")
    try:
        outputs.append("\n".join(database.iterdump()).encode())
    finally:
        database.close()
    token = (site / "token").read_text().strip()
    for secret in (AUTH_KEY, PRIV_KEY, token, COMMUNITY):
        leaks = [i for i, out in enumerate(outputs) if secret.encode() in out]
        assert leaks == [], f"{secret[:8]}... found in outputs {leaks}"
    assert [i for i, out in enumerate(outputs) if COMMUNITY.encode() in out] == []


async def _wait_until_stored(central: Central, want: int) -> int:
    for _ in range(120):  # bounded: a minute at most
        stored = int((await asyncio.to_thread(central.agent))["snapshots_stored"])
        if stored >= want:
            return stored
        await asyncio.sleep(0.5)
    return 0
