"""`pull-sync` as a user meets it: --help teaches, --dry-run checks, a run serves /metrics
on loopback, uploads, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from demo.simulator import free_tcp_port
from pull_sync.cli import main
from tests.pull_sync.conftest import TOKEN, Tls, fleet, write_config
from tests.pull_sync.servers import FakeExporter, ServerTls, Signer, TestArchive, serve

DEADLINE = 60.0
UPLOADED = re.compile(r"^pull_sync_uploaded_batches_total [1-9]", re.M)


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "pull-sync --config.file pull-sync.yml --dry-run" in out
    assert "docs/pull_sync.md" in out


def test_dry_run_good(tmp_path: Path, capsys: pytest.CaptureFixture[str], signer: Signer) -> None:
    site = tmp_path / "printer-exporter.yml"
    site.write_text("targets: [192.0.2.1]\nremote: {file: remote.yml}\n")
    config = write_config(tmp_path, "https://archive.example", signer=signer, exporter_config=site)
    assert main(["--config.file", str(config), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "agent: site-a" in out
    assert "check-in: every 1h" in out
    assert out.rstrip().endswith("config OK")
    assert TOKEN not in out


def test_dry_run_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pull-sync.yml"
    config.write_text("agent: {name: a}\narchive: {url: 'https://a.example', token_file: x}\n")
    assert main(["--config.file", str(config), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert f"{config}: archive.token_file: cannot read" in err


def test_dry_run_checks_the_exporter_config_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "printer-exporter.yml"
    site.write_text("targetz: []\n")
    config = write_config(tmp_path, "https://archive.example", exporter_config=site)
    assert main(["--config.file", str(config), "--dry-run"]) == 1
    assert "targetz: unknown key" in capsys.readouterr().err


def test_dry_run_bad_tls_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    config = write_config(tmp_path, "https://archive.example", ca_file=tmp_path / "ca.pem")
    assert main(["--config.file", str(config), "--dry-run"]) == 1
    assert "archive.ca_file: cannot load" in capsys.readouterr().err


@pytest.mark.integration
def test_a_run_serves_metrics_on_loopback_and_stops_on_sigterm(tmp_path: Path, tls: Tls) -> None:
    archive = TestArchive(TOKEN)
    archive.latest_agent = "9.9.9"
    exporter = FakeExporter()
    exporter.set_snapshots(fleet(10))
    port = free_tcp_port()
    with (
        serve(archive.app, tls=ServerTls(str(tls.server_cert), str(tls.server_key))) as a,
        serve(exporter.app) as e,
    ):
        config = write_config(
            tmp_path,
            a.url,
            ca_file=tls.ca_file,
            exporter_url=e.url,
            extra=f"web: {{listen_address: '127.0.0.1:{port}'}}",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "pull_sync", "--config.file", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        try:
            body = ""
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                except httpx.HTTPError:
                    body = ""
                if UPLOADED.search(body):
                    break
                time.sleep(0.05)
            assert UPLOADED.search(body), body
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=DEADLINE)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=DEADLINE)
    assert process.returncode == 0, err.decode()
    assert 'pull_sync_archive_latest_agent_info{version="9.9.9"} 1.0' in body
    assert re.search(r"^pull_sync_upload_duration_seconds_count [1-9]", body, re.M)
    assert 'pull_sync_collections_total{result="ok"}' in body
    assert TOKEN not in body
    assert TOKEN not in err.decode()
    assert err.decode().count("9.9.9") == 1
    assert archive.snapshot_count() >= 10
