"""LeanClient against real agents on loopback: snmpsim, and a scripted agent for the bad days.

The snmpsim half proves the lean client is a drop-in for PysnmpClient: the
same `get` results and the same walk rows and stops, on every fixture, in
SNMPv1 and v2c. The scripted half covers what snmpsim will not do: drop or
delay a datagram, answer from the wrong port or community, answer tooBig,
answer garbage. Every packet goes to 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import pytest

from demo.simulator import Simulator
from exporter.snmp import PysnmpClient, SnmpOptions, community, usm
from exporter.snmp.ber import (
    GET,
    GET_BULK,
    RESPONSE,
    Absent,
    Message,
    VarBindValue,
    decode_message,
)
from exporter.snmp.ber_encode import encode_message, encode_value
from exporter.snmp.client import TRANSPORT_STATS
from exporter.snmp.errors import SnmpProtocolError, SnmpTimeout, SnmpTransportError
from exporter.snmp.lean import LeanClient, open_client
from exporter.snmp.lean_transport import close_endpoints
from exporter.snmp.types import Oid
from tests.conftest import fixture_communities

pytestmark = pytest.mark.integration

SYSTEM: Oid = (1, 3, 6, 1, 2, 1, 1)
SUPPLY_LEVEL: Oid = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9)
SUBTREES: list[Oid] = [
    SYSTEM,
    (1, 3, 6, 1, 2, 1, 2, 2, 1, 3),  # ifType
    (1, 3, 6, 1, 2, 1, 2, 2, 1, 6),  # ifPhysAddress
    (1, 3, 6, 1, 2, 1, 25, 3, 2, 1),  # hrDeviceTable
    (1, 3, 6, 1, 2, 1, 25, 3, 5, 1),  # hrPrinterTable
    (1, 3, 6, 1, 2, 1, 43, 5, 1, 1),  # prtGeneral
    (1, 3, 6, 1, 2, 1, 43, 6, 1, 1),  # prtCover
    (1, 3, 6, 1, 2, 1, 43, 8, 2, 1),  # prtInput
    (1, 3, 6, 1, 2, 1, 43, 10, 2, 1),  # prtMarker
    (1, 3, 6, 1, 2, 1, 43, 11, 1, 1),  # prtMarkerSupplies
    (1, 3, 6, 1, 2, 1, 43, 12, 1, 1),  # prtMarkerColorant
    (1, 3, 6, 1, 2, 1, 43, 16, 5, 1, 2),  # console
    (1, 3, 6, 1, 2, 1, 43, 18, 1, 1),  # prtAlert
    (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1),  # entPhysical
    (1, 3, 6, 1, 4, 1, 2699, 1, 2, 1, 2, 1, 1, 3),  # IEEE 1284 device ID
    (1, 3, 6, 1, 2, 1, 99),  # nothing there
    (1, 3, 6, 1, 6),  # past the last OID: the end of the MIB view
]
EVERYTHING: Oid = (1, 3, 6, 1)
GET_OIDS: list[Oid] = [
    *((*SYSTEM, column, 0) for column in range(1, 8)),
    (*SYSTEM, 99, 0),  # missing: v1 noSuchName, v2c noSuchObject
    (1, 3, 6, 1, 2, 1, 25, 3, 2, 1, 3, 1),
    (1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4, 1, 1),
    *((*SUPPLY_LEVEL, 1, index) for index in range(1, 12)),  # more than one GET batch
]
FAST = SnmpOptions(timeout=0.3, retries=1)


@pytest.fixture(autouse=True)
async def _close_sockets() -> AsyncIterator[None]:
    yield
    await close_endpoints()


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("name", fixture_communities())
async def test_lean_matches_pysnmp(
    snmp_agent: Simulator, name: str, version: Literal[1, 2]
) -> None:
    creds = community(name, name, version=version)
    lean = LeanClient(snmp_agent.host, snmp_agent.port, creds)
    reference = PysnmpClient(snmp_agent.host, snmp_agent.port, creds)

    got = await lean.get(GET_OIDS)
    assert got == await reference.get(GET_OIDS)
    assert (*SYSTEM, 2, 0) in got

    # the whole agent in one walk; in v1 that is a GETNEXT per OID, so v2c only
    for root in SUBTREES if version == 1 else [*SUBTREES, EVERYTHING]:
        walked = await lean.walk(root)
        expected = await reference.walk(root)
        assert walked.rows == expected.rows, root
        assert walked.stopped == expected.stopped, root
    assert lean.stats.requests == reference.stats.requests
    assert lean.stats.varbinds == reference.stats.varbinds


@pytest.mark.parametrize("version", [1, 2])
async def test_backwards_walk_stops_as_non_increasing(
    snmp_agent: Simulator, version: Literal[1, 2]
) -> None:
    creds = community("broken", "broken_agent", version=version)
    walk = await LeanClient(snmp_agent.host, snmp_agent.port, creds).walk(SUPPLY_LEVEL)

    assert walk.stopped == "non_increasing"
    assert [oid[-1] for oid, _ in walk.rows] == [1, 3]  # rows before the step back are kept
    assert walk.rows[0][1] == b"75"  # an OCTET STRING where an INTEGER belongs, as served


async def test_wrong_community_times_out_quickly(snmp_agent: Simulator) -> None:
    client = LeanClient(snmp_agent.host, snmp_agent.port, community("x", "wrong"), FAST)
    started = time.monotonic()

    with pytest.raises(SnmpTimeout, match=r"no response after 2 tries of 0.3s \(x \(v2c\)\)"):
        await client.get([(*SYSTEM, 2, 0)])

    assert time.monotonic() - started < 2.0
    stats = client.stats
    assert (stats.requests, stats.packets_sent, stats.retries, stats.timeouts) == (1, 2, 1, 1)
    assert (stats.responses, stats.packets_received) == (0, 0)


async def test_max_rows_bounds_a_walk(snmp_agent: Simulator) -> None:
    options = SnmpOptions(max_rows=5, max_repetitions=3)
    client = LeanClient(snmp_agent.host, snmp_agent.port, community("c", "color_mfp"), options)

    walk = await client.walk(EVERYTHING)

    assert (len(walk.rows), walk.stopped) == (5, "max_rows")
    assert client.stats.requests == 2  # 3 rows, then 2 of the next 3


async def test_traffic_counters_are_plausible(snmp_agent: Simulator) -> None:
    client = LeanClient(snmp_agent.host, snmp_agent.port, community("c", "color_mfp"))
    await client.get(GET_OIDS)
    for root in SUBTREES[:5]:
        await client.walk(root)

    stats = client.stats
    assert stats.packets_sent >= stats.requests > 0
    assert stats.packets_received == stats.responses == stats.requests
    assert stats.bytes_sent > 40 * stats.packets_sent
    assert stats.bytes_received > stats.bytes_sent
    assert stats.varbinds > len(GET_OIDS)
    assert (stats.retries, stats.timeouts) == (0, 0)


async def test_clients_share_one_socket_concurrently(snmp_agent: Simulator) -> None:
    clients = [
        LeanClient(snmp_agent.host, snmp_agent.port, community(n, n)) for n in fixture_communities()
    ] * 4
    walks = await asyncio.gather(*(c.walk(SYSTEM) for c in clients))

    for client, walk in zip(clients, walks, strict=True):
        assert walk.stopped is None
        assert (*SYSTEM, 2, 0) in dict(walk.rows), client.credentials_name


async def test_open_client_picks_by_version(snmp_agent: Simulator) -> None:
    lean = open_client(snmp_agent.host, snmp_agent.port, community("c", "color_mfp"))
    v3 = open_client(snmp_agent.host, snmp_agent.port, usm("v3", "noauth"))

    assert isinstance(lean, LeanClient)
    assert isinstance(v3, PysnmpClient)
    assert lean.target == v3.target == f"{snmp_agent.host}:{snmp_agent.port}"


async def test_send_failure_is_a_transport_error() -> None:
    client = LeanClient("127.0.0.1", 0, community("c", "c"), FAST)  # port 0: sendto refuses

    with pytest.raises(SnmpTransportError, match="cannot send"):
        await client.get([(*SYSTEM, 2, 0)])


# --- a scripted agent for what snmpsim will not do -------------------------------------------

Reply = Callable[[Message], bytes | None]
AgentFactory = Callable[..., Awaitable["ScriptedAgent"]]


@dataclass
class ScriptedAgent(asyncio.DatagramProtocol):
    """A v2c agent over a dict, whose misbehaviour each test chooses."""

    values: dict[Oid, VarBindValue]
    drop: int = 0  # ignore this many requests first
    delay_first: float = 0.0  # answer the first request this late, and ignore its retries
    too_big_over: int | None = None  # tooBig when a response would carry more varbinds
    reply: Reply | None = None  # replaces the normal answer
    from_other_port: bool = False
    requests: list[Message] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None
    other: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = decode_message(data)
        self.requests.append(request)
        if len(self.requests) <= self.drop:
            return
        if self.delay_first and len(self.requests) > 1:
            return
        answer = self.reply(request) if self.reply else self.answer(request)
        if answer is None:
            return
        sender = self.other if self.from_other_port else self.transport
        assert sender is not None
        loop = asyncio.get_running_loop()
        loop.call_later(self.delay_first, sender.sendto, answer, addr)

    def answer(self, request: Message) -> bytes:
        ordered = sorted(self.values)
        found: list[tuple[Oid, VarBindValue]] = []
        if request.pdu_type == GET:
            found = [
                (oid, self.values.get(oid, Absent.NO_SUCH_OBJECT)) for oid, _ in request.varbinds
            ]
        else:
            start = request.varbinds[0][0]
            later = [oid for oid in ordered if oid > start]
            count = request.error_index if request.pdu_type == GET_BULK else 1
            found = [(oid, self.values[oid]) for oid in later[:count]]
            if len(found) < count:
                found.append(((*start, 0), Absent.END_OF_MIB_VIEW))
        status = 1 if self.too_big_over is not None and len(found) > self.too_big_over else 0
        return respond(request, found if not status else [], status=status)


def respond(
    request: Message, varbinds: list[tuple[Oid, VarBindValue]], *, status: int = 0, index: int = 0
) -> bytes:
    return encode_message(
        request.version,
        request.community,
        RESPONSE,
        request.request_id,
        status,
        index,
        [(oid, encode_value(value)) for oid, value in varbinds],
    )


@pytest.fixture
async def agent_factory() -> AsyncIterator[AgentFactory]:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []

    async def start(host: str = "127.0.0.1", **kwargs: object) -> ScriptedAgent:
        assert host in ("127.0.0.1", "::1")  # loopback only
        agent = ScriptedAgent(**kwargs)  # type: ignore[arg-type]
        transport, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=(host, 0))
        other, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(host, 0)
        )
        agent.other = other
        transports.extend([transport, other])
        return agent

    yield start
    for transport in transports:
        transport.close()


def client_for(
    agent: ScriptedAgent, options: SnmpOptions = FAST, host: str | None = None
) -> LeanClient:
    assert agent.transport is not None
    bound, port = agent.transport.get_extra_info("sockname")[:2]
    return LeanClient(host or bound, port, community("c", "public"), options)


COLUMN: Oid = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 6, 1)
TABLE: dict[Oid, VarBindValue] = {(*COLUMN, i): f"supply {i}".encode() for i in range(1, 41)}


async def test_retry_after_a_dropped_request(agent_factory: AgentFactory) -> None:
    agent = await agent_factory(values=TABLE, drop=1)
    client = client_for(agent)

    assert await client.get([(*COLUMN, 1)]) == {(*COLUMN, 1): b"supply 1"}

    assert len({r.request_id for r in agent.requests}) == 1  # the retry kept its request-id
    assert (client.stats.retries, client.stats.packets_sent, client.stats.timeouts) == (1, 2, 0)


async def test_late_answer_to_the_first_try_is_accepted(
    agent_factory: AgentFactory,
) -> None:
    # answered after the resend at 0.5 s; the agent ignores the resends themselves
    agent = await agent_factory(values=TABLE, delay_first=0.75)
    client = client_for(agent, SnmpOptions(timeout=0.5, retries=3))

    assert await client.get([(*COLUMN, 2)]) == {(*COLUMN, 2): b"supply 2"}
    assert client.stats.retries >= 1


async def test_answer_from_another_port_is_ignored(
    agent_factory: AgentFactory,
) -> None:
    agent = await agent_factory(values=TABLE, from_other_port=True)
    before = TRANSPORT_STATS.unmatched

    with pytest.raises(SnmpTimeout):
        await client_for(agent).get([(*COLUMN, 1)])
    assert TRANSPORT_STATS.unmatched - before == 2  # one per try


async def test_answer_with_another_community_is_ignored(
    agent_factory: AgentFactory,
) -> None:
    def spoof(request: Message) -> bytes:
        return respond(request._replace(community=b"other"), [((*COLUMN, 1), b"forged")])

    agent = await agent_factory(values=TABLE, reply=spoof)

    with pytest.raises(SnmpTimeout):
        await client_for(agent).get([(*COLUMN, 1)])


async def test_too_big_halves_max_repetitions(
    agent_factory: AgentFactory,
) -> None:
    agent = await agent_factory(values=TABLE, too_big_over=4)
    client = client_for(agent, SnmpOptions(timeout=0.3, retries=1, max_repetitions=25))

    walk = await client.walk(COLUMN)

    assert [row[1] for row in walk.rows] == [TABLE[oid] for oid in sorted(TABLE)]
    assert walk.stopped is None
    assert client.max_repetitions == 3  # 25 -> 12 -> 6 -> 3, and it stays there
    assert [r.error_index for r in agent.requests[:4]] == [25, 12, 6, 3]


async def test_too_big_splits_a_get(agent_factory: AgentFactory) -> None:
    agent = await agent_factory(values=TABLE, too_big_over=3)
    wanted = sorted(TABLE)[:10]

    assert await client_for(agent).get(wanted) == {oid: TABLE[oid] for oid in wanted}


async def test_error_status_is_a_protocol_error(
    agent_factory: AgentFactory,
) -> None:
    agent = await agent_factory(values=TABLE, reply=lambda r: respond(r, [], status=5, index=1))

    with pytest.raises(SnmpProtocolError, match="GET answered genErr"):
        await client_for(agent).get([(*COLUMN, 1)])
    with pytest.raises(SnmpProtocolError, match="walk answered genErr"):
        await client_for(agent).walk(COLUMN)


async def test_garbage_answer_is_a_protocol_error_not_a_timeout(
    agent_factory: AgentFactory,
) -> None:
    def garbage(request: Message) -> bytes:
        good = respond(request, [((*COLUMN, 1), b"x")])
        return good[:-3] + b"\x45\x01\x00"  # value tag 0x45 (NsapAddress): not SNMPv2

    agent = await agent_factory(values=TABLE, reply=garbage)
    client = client_for(agent)

    with pytest.raises(SnmpProtocolError, match=r"undecodable response.*0x45"):
        await client.get([(*COLUMN, 1)])
    assert client.stats.timeouts == 0  # failed on the answer, not after waiting


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
async def test_ipv6_agent_on_its_own_socket(agent_factory: AgentFactory) -> None:
    v4 = await agent_factory(values=TABLE)
    v6 = await agent_factory(host="::1", values=TABLE)
    client6 = client_for(v6, host="0:0::1")  # answers come from "::1": must still match

    got4, got6 = await asyncio.gather(
        client_for(v4).get([(*COLUMN, 1)]), client6.get([(*COLUMN, 2)])
    )

    assert got4 == {(*COLUMN, 1): b"supply 1"}
    assert got6 == {(*COLUMN, 2): b"supply 2"}
    assert client6.target.startswith("[0:0::1]:")
