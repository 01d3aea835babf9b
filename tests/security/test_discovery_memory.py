"""A sweep's memory does not grow with its range (issue 7, defect 6).

A /8 that `max_addresses` allowed cost 1.38 GB before its first packet: the sweep
listed every address and kept every request id until the end. These tests run
`sweep` against a fake network (no packet leaves the process; the addresses are
loopback all the same) and check, at every packet sent, how much state the sweep
holds. Nothing here depends on the machine's speed: the window bounds the state
however fast or slow the sends and the waits are.
"""

from __future__ import annotations

import asyncio
import socket
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

import pytest

from exporter import discovery
from exporter.config import expand
from exporter.readers import oids
from exporter.snmp import community
from exporter.snmp import sweep as snmp_sweep
from exporter.snmp.ber import RESPONSE, decode_message
from exporter.snmp.ber_encode import encode_message, encode_value
from exporter.snmp.types import Oid

PRINTER: tuple[tuple[Oid, bytes], ...] = (
    (oids.SYS_DESCR, encode_value(b"Test LaserJet")),
    ((*oids.HR_DEVICE_TYPE, 1), encode_value(oids.HR_DEVICE_PRINTER)),
)
ROUTER: tuple[tuple[Oid, bytes], ...] = ((oids.SYS_DESCR, encode_value(b"Linux router")),)
FAST = {"rate": 1e9, "timeout": 0.002, "retries": 0}
"""No pacing and short waits: these tests count state, not time."""


def host(n: int) -> str:
    return str(IPv4Address("127.64.0.0") + n)


class FakeTransport(asyncio.DatagramTransport):
    def __init__(self, network: FakeNetwork, protocol: snmp_sweep._SweepProtocol) -> None:
        super().__init__()
        self._network = network
        self._protocol = protocol
        self._closed = False

    def sendto(self, data: Any, addr: Any = None) -> None:
        assert not self._closed
        self._network.received(bytes(data), addr, self._protocol)

    def close(self) -> None:
        self._closed = True

    def is_closing(self) -> bool:
        return self._closed


@dataclass
class FakeNetwork:
    """Every address that `agents` names answers its community with those varbinds.

    `hold` maps an address to the address whose first request releases its answer:
    that is how a test makes a printer answer after another one, or after its own
    answer window has closed. At every packet it notes the sweep's state; with
    `record=False` it keeps no per-address count, so that its own memory stays small.
    """

    agents: dict[str, tuple[str, tuple[tuple[Oid, bytes], ...]]] = field(default_factory=dict)
    hold: dict[str, str] = field(default_factory=dict)
    tries: Counter[tuple[str, bytes]] = field(default_factory=Counter)
    ids: set[int] = field(default_factory=set)
    families: list[int] = field(default_factory=list)
    bytes_sent: int = 0
    answers: int = 0
    most_pending: int = 0
    most_in_flight: int = 0
    record: bool = True
    _held: dict[str, Callable[[], None]] = field(default_factory=dict)

    async def endpoint(
        self, factory: Callable[[], snmp_sweep._SweepProtocol], *, family: int = 0, **_: Any
    ) -> tuple[FakeTransport, snmp_sweep._SweepProtocol]:
        self.families.append(family)
        protocol = factory()
        return FakeTransport(self, protocol), protocol

    def received(self, data: bytes, addr: tuple[str, int], protocol: Any) -> None:
        target, port = addr
        assert target.startswith("127.") or target == "::1", target  # loopback, even in a fake
        self.bytes_sent += len(data)
        if not self.record:
            return
        state = protocol.sweep
        self.most_pending = max(self.most_pending, len(state.pending))
        self.most_in_flight = max(self.most_in_flight, state.in_flight)
        message = decode_message(data)
        first_try = self.tries[target, message.community] == 0
        self.tries[target, message.community] += 1
        self.ids.add(message.request_id)
        for held, release in list(self.hold.items()):
            if release == target and held in self._held:
                asyncio.get_running_loop().call_soon(self._held.pop(held))
        agent = self.agents.get(target)
        if agent is None or agent[0].encode() != message.community:
            return
        answer = encode_message(
            message.version, message.community, RESPONSE, message.request_id, 0, 0, agent[1]
        )

        def deliver() -> None:
            self.answers += 1
            protocol.datagram_received(answer, (target, port))

        if target not in self.hold:
            asyncio.get_running_loop().call_soon(deliver)
        elif first_try:  # a held agent answers its first request only
            self._held[target] = deliver


async def run_sweep(
    fake: FakeNetwork, monkeypatch: pytest.MonkeyPatch, addresses: Any, **kwargs: Any
) -> discovery.SweepResult:
    """`sweep` with the running loop's UDP endpoints replaced by `fake`."""
    monkeypatch.setattr(asyncio.get_running_loop(), "create_datagram_endpoint", fake.endpoint)
    options = {**FAST, **kwargs}
    return await discovery.sweep(
        addresses,
        161,
        options.pop("credentials", [community("a", "public")]),
        **options,
    )


async def test_state_stays_within_the_window_and_retries_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A /20 through a 1,024-address window, two communities, one retry."""
    monkeypatch.setattr(snmp_sweep, "_WINDOW", 1024)
    fake = FakeNetwork(
        agents={
            host(10): ("b", PRINTER),  # answers the second community only
            host(20): ("a", PRINTER),  # answers after host(30), the sweep still reports it first
            host(30): ("a", PRINTER),
            host(40): ("a", ROUTER),  # answers SNMP, is no printer
            host(50): ("a", PRINTER),  # answers only after its chunk was forgotten: too late
            host(4000): ("b", PRINTER),
        },
        hold={host(20): host(31), host(50): host(2048)},
    )
    a, b = community("a", "a"), community("b", "b")
    result = await run_sweep(
        fake,
        monkeypatch,
        expand(["127.64.0.0/20"]),
        credentials=[a, b],
        retries=1,
        timeout=0.05,  # long enough that the window fills; the bound holds either way
    )

    assert result.probed == 4094
    assert fake.most_in_flight <= 1024
    assert fake.most_pending <= 1024 * 2
    assert len(fake.ids) > 3 * 1024 * 2  # ids were forgotten and new ones drawn, not kept
    # Found in range order, whatever order they answered in; the late one is not found.
    assert [(f.host, f.credentials.name) for f in result.found] == [
        (host(10), "b"),
        (host(20), "a"),
        (host(30), "a"),
        (host(4000), "b"),
    ]
    assert result.found[1].sys_descr == "Test LaserJet"
    assert result.answered == 5  # the four printers and the router
    # Every silent address got retries + 1 tries with every community, the others none
    # after they answered; the two that answer with "a" never hear "b".
    silent = [h for n in range(1, 4095) if (h := host(n)) not in fake.agents or n == 50]
    assert {fake.tries[h, c] for h in silent for c in (b"a", b"b")} == {2}
    assert (fake.tries[host(10), b"a"], fake.tries[host(10), b"b"]) == (1, 1)
    assert (fake.tries[host(30), b"a"], fake.tries[host(30), b"b"]) == (1, 0)
    assert fake.tries[host(20), b"b"] == 0
    # The accounting is the fake's own count.
    assert result.packets_sent == sum(fake.tries.values())
    assert result.bytes_sent == fake.bytes_sent
    assert result.packets_received == fake.answers
    assert fake.families == [socket.AF_INET]


async def test_memory_of_a_slash16_is_that_of_its_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """tracemalloc's peak over a /16, window 1,024: far below what listing the range costs."""
    monkeypatch.setattr(snmp_sweep, "_WINDOW", 1024)
    fake = FakeNetwork(record=False)
    # What the range costs as a list of strings (49 bytes a str object, 8 a list slot).
    listed = sum(49 + len(str(a)) + 8 for a in expand(["127.64.0.0/16"]))
    tracemalloc.start()
    try:
        result = await run_sweep(fake, monkeypatch, expand(["127.64.0.0/16"]), retries=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.probed == result.packets_sent == 65534
    assert listed > 4_000_000
    assert peak < 1_000_000


async def test_progress_counts_to_the_total_that_expand_announces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeNetwork()
    calls: list[tuple[int, int]] = []
    result = await run_sweep(
        fake,
        monkeypatch,
        expand(["127.64.0.0/22"]),
        credentials=[community("a", "a"), community("b", "b")],
        retries=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    total = 1022 * 2 * 3
    assert {t for _, t in calls} == {total}
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert done[-1] == total
    assert result.packets_sent == total


async def test_sockets_open_per_family_when_its_first_address_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeNetwork(agents={"::1": ("a", PRINTER), host(3): ("a", PRINTER)})
    result = await run_sweep(
        fake, monkeypatch, expand(["127.64.0.0/29", "::1"]), credentials=[community("a", "a")]
    )
    assert fake.families == [socket.AF_INET, socket.AF_INET6]
    assert [f.host for f in result.found] == [host(3), "::1"]
    assert result.probed == 7
