"""The exporter as a process: `--dry-run`, serving, reload by HTTP and SIGHUP, masking."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from demo.simulator import Simulator, free_tcp_port
from exporter.cli import main as cli_main
from tests.oracle import FIXTURES

pytestmark = pytest.mark.integration

HOST = "127.3.0.11"


def _wait(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            got = check()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if got:
                return got
            last = got
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def test_dry_run_accepts_a_good_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "good.yml"
    path.write_text("targets: ['127.0.0.1:1161']\n")
    assert cli_main(["--config.file", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out
    assert "targets: 1" in out


def test_dry_run_names_the_bad_key_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("poll:\n  interval: fast\n")
    assert cli_main(["--config.file", str(path), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "poll.interval" in out
    assert "'fast'" in out


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
    with Simulator(FIXTURES, [(HOST, port)]):
        yield port


def _start(args: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "exporter.cli",
                *args,
                "--web.listen-address",
                f"127.0.0.1:{port}",
                "--storage.path",
                str(log.parent / "data"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=15)


def test_serve_reload_by_http_and_sighup(tmp_path: Path, agent: int) -> None:
    config = tmp_path / "exporter.yml"
    good = (
        "credentials: [{name: mfp, version: 2c, community: color_mfp}]\n"
        f"targets: ['{HOST}:{agent}']\npoll: {{interval: 2s, timeout: 1s}}\n"
    )
    config.write_text(good)
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(["--config.file", str(config)], port, tmp_path / "exporter.log")
    try:
        _wait("ready", lambda: httpx.get(f"{base}/-/ready", timeout=2).status_code == 200)
        up = f'printer_up{{target="{HOST}:{agent}"}} 1.0'
        # A poll may time out while the machine is busy: wait for a good one.
        _wait("the printer up", lambda: up in httpx.get(f"{base}/metrics", timeout=5).text)

        snapshots = httpx.get(f"{base}/api/v1/snapshot", timeout=5).json()
        assert [s["schema"] for s in snapshots] == ["printer-snapshot/1"]
        assert snapshots[0]["identity"]["serial"] == "CNB9Q7K2M4"

        config.write_text("poll: {interval: never}\n")
        response = httpx.post(f"{base}/-/reload", timeout=10)
        assert response.status_code == 500
        assert "poll.interval" in response.text

        def reload_flag() -> str | None:
            for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
                if line.startswith("printer_exporter_config_last_reload_successful "):
                    return line.split()[1]
            return None

        assert _wait("the failed reload in /metrics", lambda: reload_flag() == "0.0")
        # The old config stays in force: the printer is still polled.
        assert up in httpx.get(f"{base}/metrics").text

        config.write_text(good.replace("interval: 2s", "interval: 3s"))
        proc.send_signal(signal.SIGHUP)
        assert _wait("the SIGHUP reload in /metrics", lambda: reload_flag() == "1.0")
    finally:
        code = _stop(proc)
    assert code == 0, (tmp_path / "exporter.log").read_text()


def test_serve_masks_targets_everywhere(tmp_path: Path, agent: int) -> None:
    config = tmp_path / "exporter.yml"
    config.write_text(
        "credentials: [{name: mfp, version: 2c, community: color_mfp}]\n"
        f"targets: ['{HOST}:{agent}']\npoll: {{interval: 5s, timeout: 1s}}\n"
        "privacy: {mask_ips: true, mask_mode: last_octet}\n"
    )
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(["--config.file", str(config)], port, tmp_path / "exporter.log")
    try:
        _wait("ready", lambda: httpx.get(f"{base}/-/ready", timeout=2).status_code == 200)
        up = f'printer_up{{target="x.x.x.11:{agent}"}} 1.0'
        _wait("the printer up", lambda: up in httpx.get(f"{base}/metrics", timeout=5).text)
        pages = [
            httpx.get(f"{base}{path}", timeout=5).text
            for path in ("/metrics", "/", "/api/v1/snapshot")
        ]
        for text in pages:
            assert HOST not in text
        assert f'printer_up{{target="x.x.x.11:{agent}"}} 1.0' in pages[0]
    finally:
        _stop(proc)


def test_serve_without_a_config_polls_nothing_and_is_ready(tmp_path: Path) -> None:
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start([], port, tmp_path / "log")
    try:
        _wait("ready", lambda: httpx.get(f"{base}/-/ready", timeout=2).status_code == 200)
        body = httpx.get(f"{base}/metrics", timeout=5).text
        assert "printer_up" not in body.replace("# HELP printer_up", "").replace(
            "# TYPE printer_up", ""
        )
        assert "printer_exporter_build_info" in body
        assert "process_resident_memory_bytes" in body  # the exporter's own process
        assert "python_info{" in body
        # Prometheus asks for OpenMetrics first: it gets OpenMetrics, whole and parseable.
        prometheus_accept = (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )
        response = httpx.get(f"{base}/metrics", headers={"accept": prometheus_accept}, timeout=5)
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        assert response.text.endswith("# EOF\n")
        assert response.text.count("# EOF") == 1
        names = {f.name for f in text_string_to_metric_families(response.text)}  # type: ignore[no-untyped-call]
        assert {"printer_exporter_build_info", "process_cpu_seconds"} <= names
    finally:
        assert _stop(proc) == 0
    log = (tmp_path / "log").read_text()
    assert "nothing to poll" in log
