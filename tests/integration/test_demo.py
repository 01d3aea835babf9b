"""The README's first command: the demo fleet starts, every printer is read, and it exits 0."""

from __future__ import annotations

import re
import socket
import threading
import time

import httpx
import pytest

from demo.__main__ import FLEET, main
from demo.living import WRAP_WIDTH
from demo.simulator import free_udp_port, snmp_get

pytestmark = pytest.mark.integration


def _demo_port() -> int:
    return free_udp_port([p.host for p in FLEET])


def test_demo_once_reads_the_whole_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--once", "--port", str(_demo_port())]) == 0
    out = capsys.readouterr().out
    for title in ("HP Color LaserJet Pro MFP M479fdw", "Kyocera", "Lexmark CX725", "Samsung"):
        assert title in out
    assert "unreachable" not in out


def test_demo_serves_the_fleet_and_stops_by_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        web_port = s.getsockname()[1]
    port = _demo_port()
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
    assert main(["--port", str(port), "--web.listen-address", listen, "--duration", "60"]) == 0
    scraper.join(timeout=70)
    out = capsys.readouterr().out
    assert f"http://{listen}/metrics" in out
    # The round trip through pull_sync and the archive, in order: snapshots stored; a signed
    # range change published, pulled, applied and confirmed; the fifth printer found by it.
    steps = [
        "snapshots stored from demo-site",
        "archive: published signed config v1: add discovery range 127.0.0.15",
        "pull_sync: config v1 applied",
        "exporter: found 127.0.0.15 in the new range and polls it",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, out
    assert positions == sorted(positions)
    assert "metrics" in seen, "the exporter never showed every demo printer up"


def test_demo_without_the_central_side(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        web_port = s.getsockname()[1]
    listen = f"127.0.0.1:{web_port}"
    args = ["--no-central", "--port", str(_demo_port()), "--web.listen-address", listen]
    assert main([*args, "--duration", "5"]) == 0
    out = capsys.readouterr().out
    assert "archive" not in out
    assert f"http://{listen}/metrics" in out


def _up_lines(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if line.startswith("printer_up{"))


def test_a_busy_port_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    port = _demo_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((FLEET[0].host, port))
        assert main(["--once", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"UDP port {port} is already in use on {FLEET[0].host} (another demo running?):"
        " stop it, or pick another port with --port N"
    )


def test_the_living_fleet_shows_its_jam_wrap_and_v3_only_printer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """At a fast pace: the landing page shows the Kyocera's jam, then its end; the HP's
    total wraps at 2^24 while the exposed one only rises; the v3-only printer is up
    (read over SNMPv3) and silent to v2c, its community or `public`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        web_port = s.getsockname()[1]
    port = _demo_port()
    listen = f"127.0.0.1:{web_port}"
    v3_printer = next(p for p in FLEET if p.v3_only)
    hp, v3 = f"{FLEET[0].host}:{port}", f"{v3_printer.host}:{port}"
    rows: list[str] = []
    v2c_answers: list[bool] = []
    totals: list[float] = []
    seen: dict[str, str] = {}

    def watch() -> None:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(seen) < 4:
            time.sleep(0.3)
            try:
                page = httpx.get(f"http://{listen}/", timeout=2).text
                body = httpx.get(f"http://{listen}/metrics", timeout=2).text
            except httpx.HTTPError:
                continue
            if not v2c_answers:  # the agents are up: ask the v3-only printer over v2c
                for community in (v3_printer.recording, "public"):
                    reply = snmp_get(v3_printer.host, port, community, timeout=0.5)
                    v2c_answers.append(reply is not None)
            row = _fleet_row(page, "ECOSYS P3145dn")
            rows.append(row)
            if 'title="jammed"' in row and "1 · critical" in row:
                seen["jam"] = row
            elif "jam" in seen and 'class="row-ok"' in row:
                seen["cleared"] = row
            total = _sample(body, f'printer_pages_total{{counter="total",target="{hp}"')
            if total is not None:
                totals.append(total)
            if f'printer_counter_event{{counter="total",kind="wrap",target="{hp}"}}' in body:
                seen["wrap"] = body
            if f'printer_up{{target="{v3}"}} 1.0' in body:
                seen["v3"] = body

    watcher = threading.Thread(target=watch)
    watcher.start()
    args = ["--no-central", "--pace", "0.3", "--port", str(port), "--web.listen-address", listen]
    assert main([*args, "--duration", "20"]) == 0
    watcher.join(timeout=45)
    assert "a step every 0.3 s" in capsys.readouterr().out
    assert set(seen) == {"jam", "cleared", "wrap", "v3"}, rows[-3:]
    assert v2c_answers == [False, False]
    assert totals == sorted(totals)
    assert totals[-1] > WRAP_WIDTH


def _fleet_row(page: str, model: str) -> str:
    rows = re.findall(r"<tr class=\"row-\w+\">.*?</tr>", page, re.S)
    return next((row for row in rows if model in row), "")


def _sample(body: str, prefix: str) -> float | None:
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return None
