"""ICMP: the reachability table, the pinger's limits, and a real echo on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.icmp import Echo, Pinger, reach_state, reachability

ROOT = Path(__file__).resolve().parents[2]
ANSWERED = Echo(sent=1, received=1, rtt_seconds=0.0004)
LOST = Echo(sent=1, received=0, rtt_seconds=None)


@pytest.mark.parametrize(
    ("answered", "refused", "echo", "state"),
    [
        (True, False, ANSWERED, "up"),
        (True, False, LOST, "up"),  # a firewall that drops echo says nothing about SNMP
        (True, False, None, "up"),
        (False, True, LOST, "snmp_refused"),
        (False, True, None, "snmp_refused"),
        (False, False, ANSWERED, "snmp_silent"),
        (False, False, LOST, "host_down"),
        (False, False, None, "no_answer"),  # no echo sent: never guessed to be down
    ],
)
def test_the_state_table(answered: bool, refused: bool, echo: Echo | None, state: str) -> None:
    assert reach_state(answered, refused, echo) == state


def test_reachability_keeps_the_echo_figures() -> None:
    got = reachability(False, False, ANSWERED)
    assert (got.state, got.icmp_sent, got.icmp_received, got.icmp_rtt_seconds) == (
        "snmp_silent",
        1,
        1,
        0.0004,
    )
    assert reachability(False, False, None).icmp_sent == 0


@pytest.mark.parametrize(("count", "timeout"), [(0, 1.0), (6, 1.0), (1, 0.0), (1, 11.0)])
def test_the_pinger_refuses_unbounded_settings(count: int, timeout: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        Pinger(count=count, timeout=timeout)


def gid_may_ping(gid: int) -> bool:
    """Whether the kernel lets `gid` open an unprivileged ICMP socket."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    return low <= gid <= high


@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root here")
async def test_a_real_echo_on_loopback() -> None:
    pinger = Pinger(count=2, timeout=2.0)  # unprivileged first, raw when that is refused
    echo = await pinger.ping("127.0.0.9")
    assert echo is not None
    assert (echo.sent, echo.received) == (2, 2)
    assert echo.rtt_seconds is not None
    assert echo.rtt_seconds >= 0
    assert pinger.available


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root to drop to nobody with setpriv",
)
def test_without_any_icmp_socket_it_turns_off_once_and_says_so() -> None:
    """Run as nobody, without CAP_NET_RAW: raw sockets are refused; an unprivileged
    one works only where ping_group_range admits nobody's group."""
    script = (
        "import asyncio, logging, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from exporter.icmp import Pinger\n"
        "p = Pinger(timeout=2.0)\n"
        "echo = asyncio.run(p.ping('127.0.0.9'))\n"
        "print(echo is not None and echo.received, p.available)\n"
    )
    nobody = 65534
    drop = ["setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups"]
    done = subprocess.run(
        [*drop, sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    if gid_may_ping(nobody):
        assert done.stdout.split() == ["1", "True"]
    else:
        assert done.stdout.split() == ["False", "False"]
        assert done.stderr.count("ICMP is off") == 1
