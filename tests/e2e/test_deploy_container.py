"""The deployable stack, run: the image built and started, the example Alertmanager config
loaded by a real Alertmanager.

The container test builds the image on a Debian root filesystem made with debootstrap and
runs it with podman (deploy/container/build-local.sh). It needs root, podman and debootstrap,
the Debian mirror and PyPI, and takes minutes, so it runs only with
PRINTER_EXPORTER_CONTAINER_TEST=1 and skips otherwise.

The Alertmanager test loads deploy/alertmanager/alertmanager.yml as shipped except for the
receivers' URLs, which point at a closed port on 127.0.0.1 so nothing leaves the machine,
posts alerts, and reads back which ones the inhibition rules silenced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.simulator import free_tcp_port
from tests.e2e.processes import Process, wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "container" / "build-local.sh"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


@pytest.mark.integration
@pytest.mark.skipif(
    os.environ.get("PRINTER_EXPORTER_CONTAINER_TEST") != "1",
    reason="builds and runs the image with podman: set PRINTER_EXPORTER_CONTAINER_TEST=1",
)
def test_the_image_builds_on_a_local_base_and_runs_healthy() -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=3600, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "health: healthy" in result.stdout
    assert "health: unhealthy" in result.stdout
    assert "runs as: 10001:10001" in result.stdout
    assert "printer_exporter_build_info" in result.stdout


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    if shutil.which("prometheus-alertmanager") is None:
        if os.environ.get("PRINTER_EXPORTER_REQUIRE_PROMTOOL"):
            pytest.fail("prometheus-alertmanager not installed, and the tools are required")
        pytest.skip("needs Debian's prometheus-alertmanager")
    config = yaml.safe_load(ALERTMANAGER.read_text())
    closed = f"http://127.0.0.1:{free_tcp_port()}/"
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = closed
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_tcp_port()
    process = Process(
        [
            "prometheus-alertmanager",
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        tmp_path / "alertmanager.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("Alertmanager", lambda: httpx.get(f"{url}/-/ready", timeout=2).is_success, 30)
        yield url
    finally:
        process.stop()


def alert(name: str, severity: str, target: str, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {
            "alertname": name,
            "severity": severity,
            "job": "printer-exporter",
            "instance": "site-a-exporter",
            "target": target,
            **labels,
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }


@pytest.mark.integration
def test_the_example_inhibitions_silence_what_they_should_and_nothing_else(
    alertmanager: str,
) -> None:
    down, up = "192.0.2.20:161", "192.0.2.21:161"
    sent = [
        alert("PrinterDown", "warning", down),
        alert("PrinterTonerLow", "warning", down, supply="1"),
        alert("PrinterSupplyEmpty", "critical", down, supply="2"),
        alert("PrinterTonerLow", "warning", up, supply="1"),
        alert("PrinterSupplyEmpty", "critical", up, supply="2"),
        alert("PrinterTonerLow", "warning", up, supply="2"),
        alert("PrinterDoorOpen", "warning", up),
        alert("PrinterServiceRequested", "critical", up),
    ]
    httpx.post(f"{alertmanager}/api/v2/alerts", json=sent, timeout=5).raise_for_status()

    def states() -> dict[tuple[str, str, str], str] | None:
        listed = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
        found = {
            (a["labels"]["alertname"], a["labels"]["target"], a["labels"].get("supply", "")): a[
                "status"
            ]["state"]
            for a in listed
        }
        return found if len(found) == len(sent) and "unprocessed" not in found.values() else None

    found = wait_for("Alertmanager to process the alerts", states, 30)
    assert found == {
        # the printer is down: its supply alerts are stale
        ("PrinterDown", down, ""): "active",
        ("PrinterTonerLow", down, "1"): "suppressed",
        ("PrinterSupplyEmpty", down, "2"): "suppressed",
        # the printer answers: supply 2 is empty, so its "low" says nothing new
        ("PrinterTonerLow", up, "1"): "active",
        ("PrinterSupplyEmpty", up, "2"): "active",
        ("PrinterTonerLow", up, "2"): "suppressed",
        # a critical alert without a supply silences no other alert of the printer
        ("PrinterDoorOpen", up, ""): "active",
        ("PrinterServiceRequested", up, ""): "active",
    }
