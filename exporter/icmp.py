"""ICMP echo to polled printers: it tells a printer that is switched off from one whose SNMP
agent is off, locked down or asked with the wrong community.

Without it both are `printer_up 0`, and a technician drives out to a printer that was only
given a new community. With it, each poll says which of these it saw (`reach_state`):

| state | SNMP | ICMP echo | what it usually means |
|---|---|---|---|
| `up` | answered | (any) | working |
| `snmp_refused` | refused the credential (an SNMPv3 report) | (any) | wrong user, key or protocol |
| `snmp_silent` | no answer | answered | agent off, or a v1/v2c community it drops in silence |
| `host_down` | no answer | no answer | switched off, unplugged, or the address moved |
| `no_answer` | no answer | not sent | ICMP is off in the config or not permitted here |

ICMP sockets: unprivileged datagram sockets where the kernel allows them
(`net.ipv4.ping_group_range`), raw sockets when the process may open them (root, or
CAP_NET_RAW). When neither works, ICMP stays off for the life of the process, with one log
line, and every poll says `no_answer` instead of guessing: a firewall that drops echo would
otherwise make every silent agent look like a dead printer, which is also why `host_down`
is only said when SNMP got no answer either.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import icmplib

from exporter.model import Reachability, ReachState

log = logging.getLogger(__name__)

_send_echo = icmplib.async_ping
"""The one place an echo leaves the process (the test suite wraps it to refuse any address
outside loopback)."""
COUNT: Final = 1
"""Echoes per ping, unless told otherwise: also the config's `icmp.count` default."""
TIMEOUT: Final = 1.0
"""Seconds each echo waits for its reply, unless told otherwise: also `icmp.timeout`'s."""
MAX_COUNT: Final = 5
MAX_TIMEOUT: Final = 10.0


@dataclass(frozen=True, slots=True)
class Echo:
    """What one ping of a host saw."""

    sent: int
    received: int
    rtt_seconds: float | None
    """The mean round trip of the echoes answered; None when none was."""

    @property
    def answered(self) -> bool:
        return self.received > 0


class Pinger:
    """Echo requests to one host at a time, `count` of them, each waiting `timeout` seconds.

    `privileged` None tries an unprivileged socket first, then a raw one; True or False
    insists on one kind (tests, and sites that know which they want).
    """

    def __init__(
        self,
        *,
        count: int = COUNT,
        timeout: float = TIMEOUT,
        privileged: bool | None = None,
    ) -> None:
        if not 1 <= count <= MAX_COUNT:
            raise ValueError(f"count must be 1..{MAX_COUNT}, not {count}")
        if not 0 < timeout <= MAX_TIMEOUT:
            raise ValueError(f"timeout must be in (0, {MAX_TIMEOUT:g}] seconds, not {timeout}")
        self.count = count
        self.timeout = timeout
        self._modes: list[bool] = [False, True] if privileged is None else [privileged]
        self.available = True
        """False once no kind of ICMP socket can be opened here; then `ping` returns None."""

    async def ping(self, host: str) -> Echo | None:
        """The echo result, or None when ICMP cannot be used (no socket, no such name)."""
        while self.available:
            try:
                found = await _send_echo(
                    host,
                    count=self.count,
                    interval=0.05,
                    timeout=self.timeout,
                    privileged=self._modes[0],
                )
            except icmplib.SocketPermissionError:
                self._modes.pop(0)
                if not self._modes:
                    self.available = False
                    log.warning(
                        "ICMP is off: this process may open neither an unprivileged ICMP "
                        "socket (net.ipv4.ping_group_range) nor a raw one (CAP_NET_RAW); "
                        "polls will say no_answer where they would say host_down"
                    )
                continue
            except icmplib.ICMPLibError as exc:
                log.debug("ping %s: %s", host, exc)
                return None
            except OSError as exc:  # no route, a transient socket error: this host only
                log.debug("ping %s: %s", host, exc)
                return None
            rtt = found.avg_rtt / 1000.0 if found.packets_received else None
            return Echo(found.packets_sent, found.packets_received, rtt)
        return None


async def ping_sweep(
    hosts: Iterable[str], pinger: Pinger, *, rate: float, concurrency: int = 64
) -> list[str]:
    """The hosts that answer an echo, in the order given: at most `rate` echoes a second and
    `concurrency` waiting at once, so a /16 takes minutes, not a burst.

    A sweep of echoes is a scan of its own: nothing calls this unless asked (`discover
    --icmp`), and only over the addresses the user named. It stops early, returning what
    it has, when ICMP turns out not to be permitted here (`pinger.available`).
    """
    answered: list[tuple[int, str]] = []
    gate = asyncio.Semaphore(concurrency)
    pending: set[asyncio.Task[None]] = set()

    async def one(position: int, host: str) -> None:
        try:
            echo = await pinger.ping(host)
            if echo is not None and echo.answered:
                answered.append((position, host))
        finally:
            gate.release()

    for position, host in enumerate(hosts):
        if not pinger.available:
            break
        await gate.acquire()
        task = asyncio.create_task(one(position, host))
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(1.0 / rate)
    await asyncio.gather(*pending)
    return [host for _, host in sorted(answered)]


def reach_state(snmp_answered: bool, snmp_refused: bool, echo: Echo | None) -> ReachState:
    """The row of the module's table that this poll fits."""
    if snmp_answered:
        return "up"
    if snmp_refused:
        return "snmp_refused"
    if echo is None:
        return "no_answer"
    return "snmp_silent" if echo.answered else "host_down"


def reachability(snmp_answered: bool, snmp_refused: bool, echo: Echo | None) -> Reachability:
    """The snapshot's record of this poll's reachability."""
    return Reachability(
        state=reach_state(snmp_answered, snmp_refused, echo),
        icmp_sent=echo.sent if echo else 0,
        icmp_received=echo.received if echo else 0,
        icmp_rtt_seconds=echo.rtt_seconds if echo else None,
    )
