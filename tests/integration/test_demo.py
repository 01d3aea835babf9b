"""The README's first command: the demo fleet starts, every printer is read, and it exits 0."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from demo.__main__ import FLEET, main

pytestmark = pytest.mark.integration


def _free_port_on_all_demo_hosts() -> int:
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((FLEET[0].host, 0))
            port: int = s.getsockname()[1]
        try:
            for printer in FLEET:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.bind((printer.host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free UDP port on the demo addresses")


def test_demo_once_reads_the_whole_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--once", "--port", str(_free_port_on_all_demo_hosts())]) == 0
    out = capsys.readouterr().out
    for title in ("HP Color LaserJet Pro MFP M479fdw", "Kyocera", "Lexmark CX725", "Samsung"):
        assert title in out
    assert "unreachable" not in out


def test_demo_serves_the_fleet_and_stops_by_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        web_port = s.getsockname()[1]
    port = _free_port_on_all_demo_hosts()
    listen = f"127.0.0.1:{web_port}"
    seen: dict[str, str] = {}

    def scrape() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "metrics" not in seen:
            try:
                body = httpx.get(f"http://{listen}/metrics", timeout=2).text
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            if body.count("printer_up{") == len(FLEET) and " 0.0" not in _up_lines(body):
                seen["metrics"] = body
            time.sleep(0.5)

    scraper = threading.Thread(target=scrape)
    scraper.start()
    assert main(["--port", str(port), "--web.listen-address", listen, "--duration", "25"]) == 0
    scraper.join(timeout=70)
    out = capsys.readouterr().out
    assert f"http://{listen}/metrics" in out
    assert "metrics" in seen, "the exporter never showed every demo printer up"


def _up_lines(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if line.startswith("printer_up{"))
