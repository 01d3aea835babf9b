"""The README's first command: the demo fleet starts, every printer is read, and it exits 0."""

from __future__ import annotations

import socket

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


def test_demo_reads_the_whole_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", str(_free_port_on_all_demo_hosts())]) == 0
    out = capsys.readouterr().out
    for title in ("HP Color LaserJet Pro MFP M479fdw", "Kyocera", "Lexmark CX725", "Samsung"):
        assert title in out
    assert "unreachable" not in out
