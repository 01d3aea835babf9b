"""The TLS certificate's expiry: read with `cryptography`, warned at `--dry-run` and start-up,
and exported as `printer_exporter_tls_certificate_expiry_timestamp_seconds{file}`."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Config
from exporter.daemon import dry_run, serve
from exporter.metrics import ExporterState, MetricsRenderer, render
from exporter.service import Service
from exporter.web import load_web_config
from exporter.web.certs import certificate_not_after, expiry_warnings, tls_certificate_expiry

METRIC = "printer_exporter_tls_certificate_expiry_timestamp_seconds"
DAY = 86400.0


def web_config_file(folder: Path, days_left: float) -> tuple[Path, Any, float]:
    """A web config with a server certificate that ends `days_left` days from now:
    (the file, the trustme CA, the notAfter as unix time)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    now = datetime.now(UTC).replace(microsecond=0)
    end = now + timedelta(days=days_left)
    leaf = ca.issue_cert("127.0.0.1", not_before=end - timedelta(days=90), not_after=end)
    leaf.cert_chain_pems[0].write_to_path(folder / "server.crt")
    leaf.private_key_pem.write_to_path(folder / "server.key")
    path = folder / "web.yml"
    path.write_text("tls_server_config: {cert_file: server.crt, key_file: server.key}\n")
    return path, ca, end.timestamp()


def test_not_after_is_read_from_the_pem(tmp_path: Path) -> None:
    path, _, end = web_config_file(tmp_path, 42)
    assert certificate_not_after(tmp_path / "server.crt") == end
    assert tls_certificate_expiry(load_web_config(path)) == {str(tmp_path / "server.crt"): end}
    assert tls_certificate_expiry(None) == {}


def test_warnings_name_the_file_and_the_date() -> None:
    now = 1_800_000_000.0
    expiry = {"/etc/a.crt": now - DAY, "/etc/b.crt": now + 10 * DAY, "/etc/c.crt": now + 90 * DAY}
    assert expiry_warnings(None, expiry, now) == [
        "TLS certificate /etc/a.crt expired on 2027-01-14 08:00:00 UTC: clients that verify "
        "it will refuse to connect; serving it anyway",
        "TLS certificate /etc/b.crt expires on 2027-01-25 08:00:00 UTC, in 10 days",
    ]


def test_dry_run_warns_about_an_expired_certificate_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _, end = web_config_file(tmp_path, -3)
    assert dry_run(None, path) == 0
    out = capsys.readouterr().out
    date = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"warning: TLS certificate {tmp_path / 'server.crt'} expired on {date}" in out


def test_the_metric_is_rendered_by_both_paths() -> None:
    state = ExporterState(tls_certificate_expiry={"/etc/tls/server.crt": 1_800_000_000.0})
    for body in (render(state), MetricsRenderer().render(state)):
        samples = [
            (sample.labels, sample.value)
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
            if sample.name == METRIC
        ]
        assert samples == [({"file": "/etc/tls/server.crt"}, 1_800_000_000.0)]


def test_the_service_state_carries_the_expiry_and_stays_one_object() -> None:
    """The render cache keys on the state object: it must not be rebuilt per call."""
    service = Service(Config(), None)
    service.tls_certificate_expiry = {"/etc/tls/server.crt": 1.0}
    first = service.state()
    assert dict(first.tls_certificate_expiry) == {"/etc/tls/server.crt": 1.0}
    assert service.state() is first


def expiry_samples(body: str) -> dict[str, float]:
    return {
        sample.labels["file"]: sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == METRIC
    }


async def test_start_up_warns_and_metrics_show_the_expiry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The real `serve`, over TLS on 127.0.0.1, with a certificate 10 days from its end."""
    path, ca, end = web_config_file(tmp_path, 10)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    until = asyncio.Event()
    found: dict[str, float] = {}
    with caplog.at_level(logging.WARNING, logger="exporter"):
        running = asyncio.create_task(serve(None, path, f"127.0.0.1:{port}", until))
        async with httpx.AsyncClient(verify=verify, timeout=10) as client:
            deadline = time.monotonic() + 30
            while not found and time.monotonic() < deadline and not running.done():
                try:
                    found = expiry_samples(
                        (await client.get(f"https://127.0.0.1:{port}/metrics")).text
                    )
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        until.set()
        assert await running == 0
    assert found == {str(tmp_path / "server.crt"): end}
    warned = [r.getMessage() for r in caplog.records if "server.crt expires on" in r.getMessage()]
    assert warned
    assert warned[0].endswith("in 10 days")
