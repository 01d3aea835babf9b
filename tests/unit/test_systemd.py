"""systemd's notify protocol: a wedged event loop stops the watchdog heartbeat.

A real Unix datagram socket stands in for systemd's NOTIFY_SOCKET. Nothing here
judges the pace: a blocked loop is blocked until the test releases it, and the
test only checks what did or did not arrive meanwhile.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.daemon import serve
from exporter.systemd import Notifier

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(10)
    yield sock
    sock.close()


def _messages(sock: socket.socket, wait: float) -> list[str]:
    """Everything that arrives within `wait` seconds (a bounded drain)."""
    sock.settimeout(wait)
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            return out


def test_not_under_systemd_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.notify("READY=1")  # no socket, no error


def test_the_watchdog_interval_is_for_this_process_only(tmp_path: Path) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "n"), "WATCHDOG_USEC": "30000000"}
    assert Notifier(env).watchdog_seconds == 30.0
    assert Notifier({**env, "WATCHDOG_PID": "1"}).watchdog_seconds is None
    assert Notifier({**env, "WATCHDOG_USEC": "x"}).watchdog_seconds is None


def test_a_wedged_loop_stops_the_heartbeat(systemd: socket.socket, tmp_path: Path) -> None:
    notifier = Notifier(
        {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "100000"}  # 0.1 s
    )
    wedge, release = threading.Event(), threading.Event()

    async def main() -> None:
        stop = asyncio.Event()
        beat = asyncio.create_task(notifier.heartbeat(stop))
        await asyncio.sleep(0.3)
        wedge.set()
        release.wait(30)  # a blocking call on the loop: nothing else runs until released
        await asyncio.sleep(0.3)
        stop.set()
        await beat

    runner = threading.Thread(target=asyncio.run, args=(main(),))
    runner.start()
    assert wedge.wait(30)
    before = _messages(systemd, 0.05)  # the beats sent before the wedge, already queued
    assert before
    assert set(before) == {"WATCHDOG=1"}
    assert _messages(systemd, 1.0) == []  # ten intervals: not one beat from a wedged loop
    release.set()
    runner.join(30)
    after = _messages(systemd, 0.5)
    assert after
    assert set(after) == {"WATCHDOG=1"}  # the loop runs again, so do the beats


async def test_serve_says_ready_then_stopping(
    systemd: socket.socket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    config = tmp_path / "exporter.yml"
    config.write_text("poll: {interval: 1h}\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen = f"127.0.0.1:{probe.getsockname()[1]}"
    until = asyncio.Event()
    running = asyncio.create_task(serve(config, None, listen, until))
    ready = await asyncio.to_thread(systemd.recv, 4096)
    assert ready.decode() == f"READY=1\nSTATUS=serving on {listen}"
    until.set()
    assert await asyncio.wait_for(running, timeout=30) == 0
    assert await asyncio.to_thread(systemd.recv, 4096) == b"STOPPING=1"


@pytest.mark.parametrize("unit", ["printer-exporter", "pull-sync"])
def test_the_units_verify(unit: str, tmp_path: Path) -> None:
    """`systemd-analyze verify` on the shipped units, with the commands this checkout has."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    text = (UNITS / f"{unit}.service").read_text()
    assert "/usr/bin/" in text
    local = tmp_path / f"{unit}.service"
    local.write_text(text.replace("/usr/bin/", f"{Path(sys.executable).parent}/"))
    done = subprocess.run(
        [analyze, "verify", str(local)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""
