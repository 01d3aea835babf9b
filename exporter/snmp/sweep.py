"""A GETNEXT sweep: one question set to every address of a range, on two sockets.

One sweep sends, to every address, one SNMP GETNEXT with the caller's varbinds, so a
device costs one round trip and an empty address one unanswered packet (plus retries).
It runs on one UDP socket per address family (opened when the first address of that
family comes up) with requests pre-encoded once per community, paced by a token bucket
to `rate` packets per second, and answers are matched by request-id and source address.
That is why a /16 takes seconds, not the better part of an hour.

Memory does not grow with the range: addresses are read lazily, a chunk at a time, and a
chunk's state (its request ids, who answered) is dropped once its last wait is over.
Only a window of chunks is in flight (see `_Sweep`).

This is transport: what an answer means is the caller's (exporter/discovery.py decides
which devices are printers). v1/v2c only: a v3 sweep needs a round trip per address to
learn its engine ID first.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import itertools
import operator
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from exporter.snmp.ber import GET_NEXT, Absent, BerError, decode_response
from exporter.snmp.ber_encode import RequestTemplate
from exporter.snmp.credentials import Credentials
from exporter.snmp.types import Oid, SnmpValue

__all__ = ["Absent", "Address", "Answer", "SweepStats", "get_next_sweep"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

Answer = Callable[[int, str, Credentials, dict[Oid, SnmpValue | Absent]], None]
"""Called per answering address: (its position in the range, host, the set it answered,
the GETNEXT answers by OID)."""


@dataclass(slots=True)
class SweepStats:
    """What a sweep cost. Its packet and byte fields are four of
    `exporter.state.TRAFFIC_FIELDS`, under the same names (a test holds them to it); a
    sweep has no per-request retries or timeouts to count."""

    answered: int = 0
    """Addresses that answered SNMP at all."""
    probed: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    duration_seconds: float = 0.0


class _Bucket:
    """Token bucket: `rate` tokens per second, a burst of at most one tenth of a second."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate / 10)
        self._tokens = self._capacity
        self._last = time.monotonic()

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self._rate)


class _SweepProtocol(asyncio.DatagramProtocol):
    """Hands every datagram of one family's socket to the sweep it belongs to."""

    def __init__(self, sweep: _Sweep) -> None:
        self.sweep = sweep

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sweep.on_answer(data, addr)

    def error_received(self, exc: Exception) -> None:
        """ICMP unreachable and the like: that address simply has no agent. Not an error."""


_CHUNK = 256
"""Addresses drawn from the range at a time. A chunk goes out one community at a time
(every address with the first community, then the second, ...), so an address that
answered the first community is usually not asked with the second."""

_WINDOW = 16_384
"""At most this many addresses are in flight (drawn and not yet done). With one request
id per address and community, this bounds a sweep's memory (a few MB) whatever the size
of the range. The rate, not the window, paces a sweep while rate x timeout x
(retries + 2) / (2 x communities) stays below it: about 300 addresses in flight with the
defaults, 10,000 at the config's maximum rate of 10,000 packets/s with a 1 s timeout and
no retry. Past that (long timeouts at high rates) the sweep waits for room rather than
grow."""


@dataclass(eq=False, slots=True)
class _Chunk:
    """Consecutive addresses of the range, from their first try to the end of their last wait."""

    position: int
    """Where hosts[0] stands in the range: found printers are reported in range order."""
    hosts: list[str]
    request_ids: list[int]
    """One id per (address, community), at [index * communities + community]; 0 until the
    first send. A retry resends the same id, so an answer to any try still counts."""
    answered: bytearray
    unanswered: int
    attempt: int = 0


class _Sweep:
    """The state of one sweep: only the chunks in flight, the counters and what was found.

    Why chunks in a window rather than one pass over the range: a pass needs a record per
    address (its request ids, whether it answered) until the retries are over, which
    made a /8 cost gigabytes before its first packet. Here an address is drawn from the
    (lazy) range when its chunk is sent and forgotten, request ids and all, once its last
    wait is over; while one chunk waits, the next ones are sent, so the window costs no
    time. What stays is O(`_WINDOW` x communities), plus the printers found.
    """

    def __init__(
        self,
        port: int,
        sets: Sequence[Credentials],
        questions: Sequence[Oid],
        on_answer: Answer,
        *,
        rate: float,
        timeout: float,
        retries: int,
        progress: Callable[[int, int], None] | None,
        expected: int,
    ) -> None:
        self.result = SweepStats()
        self.pending: dict[int, tuple[_Chunk, int]] = {}
        """Request id -> (chunk, slot) for every chunk in flight, and for no other."""
        self.in_flight = 0
        """Addresses drawn and not yet done: at most `_WINDOW`."""
        self._port = port
        self._sets = sets
        self._templates = [
            RequestTemplate(
                c.version - 1, c.community_string.reveal().encode(), GET_NEXT, tuple(questions)
            )
            for c in sets
            if c.community_string is not None
        ]
        self._timeout = timeout
        self._retries = retries
        self._progress = progress
        self._tries_per_address = len(sets) * (retries + 1)
        self._expected = expected
        self._slots_done = 0
        self._bucket = _Bucket(rate)
        self._chunk = _CHUNK
        self._window = max(_WINDOW, _CHUNK)
        self._due: list[tuple[float, int, _Chunk]] = []
        """Chunks waiting for answers, as a heap on the end of their wait."""
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._on_answer = on_answer

    async def run(self, addresses: Iterator[Address]) -> None:
        """Send, wait and retry chunk by chunk until the range is done.

        A chunk whose wait is over comes first (its retry, or its end), then a new chunk
        if the window has room, else a sleep until the next wait ends.
        """
        more = True
        while True:
            now = time.monotonic()
            if self._due and self._due[0][0] <= now:
                chunk = heapq.heappop(self._due)[2]
                if chunk.attempt < self._retries and chunk.unanswered:
                    chunk.attempt += 1
                    await self._send(chunk)
                else:
                    self._finish(chunk)
            elif more and self.in_flight + self._chunk <= self._window:
                chunk_or_none = self._draw(addresses)
                if chunk_or_none is None:
                    more = False
                else:
                    await self._send(chunk_or_none)
            elif self._due:
                await asyncio.sleep(self._due[0][0] - now)
            else:
                return

    def _draw(self, addresses: Iterator[Address]) -> _Chunk | None:
        hosts = [str(a) for a in itertools.islice(addresses, self._chunk)]
        if not hosts:
            return None
        chunk = _Chunk(
            position=self.result.probed,
            hosts=hosts,
            request_ids=[0] * (len(hosts) * len(self._sets)),
            answered=bytearray(len(hosts)),
            unanswered=len(hosts),
        )
        self.result.probed += len(hosts)
        self.in_flight += len(hosts)
        return chunk

    async def _send(self, chunk: _Chunk) -> None:
        """One try of every address of `chunk` that has not answered, with every community."""
        result, port, width = self.result, self._port, len(self._sets)
        for which, template in enumerate(self._templates):
            for index, host in enumerate(chunk.hosts):
                if chunk.answered[index]:
                    continue
                slot = index * width + which
                request_id = chunk.request_ids[slot] or self._register(chunk, slot)
                await self._bucket.take()
                transport = self._transports.get(6 if ":" in host else 4)
                if transport is None:
                    transport = await self._open(6 if ":" in host else 4)
                packet = template.encode(request_id)
                transport.sendto(packet, (host, port))
                result.packets_sent += 1
                result.bytes_sent += len(packet)
            # Read the answers that came while this community went out: an address that
            # answered is not asked with the next community, and no wait is judged before
            # its answers were read.
            await asyncio.sleep(0)
        self._count(len(chunk.hosts) * width)
        wait = self._timeout * (chunk.attempt + 1)
        heapq.heappush(self._due, (time.monotonic() + wait, chunk.position, chunk))

    def _register(self, chunk: _Chunk, slot: int) -> int:
        request_id = secrets.randbelow(2**31 - 1) + 1
        while request_id in self.pending:
            request_id = secrets.randbelow(2**31 - 1) + 1
        chunk.request_ids[slot] = request_id
        self.pending[request_id] = (chunk, slot)
        return request_id

    def _finish(self, chunk: _Chunk) -> None:
        """Forget the chunk: its answer window is over, and a late answer is ignored."""
        for request_id in chunk.request_ids:
            if request_id:
                del self.pending[request_id]
        self.in_flight -= len(chunk.hosts)
        # The tries an answered address did not need still count as done.
        self._count(len(chunk.hosts) * len(self._sets) * (self._retries - chunk.attempt))

    def _count(self, slots: int) -> None:
        self._slots_done += slots
        if self._progress is not None:
            planned = max(self._expected, self.result.probed) * self._tries_per_address
            self._progress(self._slots_done, planned)

    async def _open(self, family: int) -> asyncio.DatagramTransport:
        """The family's socket, opened when its first address comes up."""
        af = socket.AF_INET6 if family == 6 else socket.AF_INET
        transport, _protocol = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _SweepProtocol(self), family=af
        )
        self._transports[family] = transport
        return transport

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    def on_answer(self, data: bytes, addr: tuple[str, int]) -> None:
        self.result.packets_received += 1
        self.result.bytes_received += len(data)
        try:
            message = decode_response(data)
        except BerError:
            return
        sent = self.pending.get(message.request_id)
        if sent is None:
            return
        chunk, slot = sent
        index, which = divmod(slot, len(self._sets))
        host = chunk.hosts[index]
        if addr[1] != self._port or _normal(addr[0]) != host:
            return
        if chunk.answered[index] or message.error_status != 0:
            return
        chunk.answered[index] = 1
        chunk.unanswered -= 1
        self.result.answered += 1
        self._on_answer(chunk.position + index, host, self._sets[which], dict(message.varbinds))


async def get_next_sweep(
    addresses: Iterable[Address],
    port: int,
    credentials: Sequence[Credentials],
    questions: Sequence[Oid],
    on_answer: Answer,
    *,
    rate: float,
    timeout: float,
    retries: int,
    progress: Callable[[int, int], None] | None = None,
) -> SweepStats:
    """Ask every address `questions` once per community per try; hand each answer on.

    Each address gets up to `retries` + 1 tries per community, `timeout` x (try number)
    apart, until it answers. `addresses` is read lazily, a window at a time, and memory
    stays bounded whatever its length (see `_Sweep`). `progress(done, total)` counts
    (address, community, try) slots; its total comes from `operator.length_hint`
    (an exact one for a range the config expanded) and grows if the addresses outrun it.
    v3 credential sets are skipped.
    """
    sets = [c for c in credentials if c.version in (1, 2) and c.community_string is not None]
    started = time.monotonic()
    state = _Sweep(
        port,
        sets,
        questions,
        on_answer,
        rate=rate,
        timeout=timeout,
        retries=retries,
        progress=progress,
        expected=operator.length_hint(addresses),
    )
    source = iter(addresses)
    try:
        if sets:
            await state.run(source)
        else:
            state.result.probed = sum(1 for _ in source)
    finally:
        state.close()
    result = state.result
    if progress is not None:
        total = result.probed * len(sets) * (retries + 1)
        progress(total, total)
    result.duration_seconds = time.monotonic() - started
    return result


def _normal(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host.split("%")[0]))
    except ValueError:
        return host
