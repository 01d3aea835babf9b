"""Range sweeps: find the printers in the CIDRs and ranges a user names.

One sweep sends, to every address, one SNMP GETNEXT whose five varbinds
answer every question classification asks (what the device is, and whether
it speaks the Printer-MIB or the PWG port monitor), so a printer costs one
round trip and an empty address one unanswered packet (plus retries).

The sweep runs on one UDP socket per address family (opened when the first
address of that family comes up) with requests pre-encoded once per
community, paced by a token bucket to `rate` packets per second, and
answers are matched by request-id and source address. That is why a /16
takes seconds here, not the better part of an hour.

Memory does not grow with the range: addresses are read lazily, a chunk at a
time, and a chunk's state (its request ids, who answered) is dropped once its
last wait is over. Only a window of chunks is in flight; what a sweep keeps
is the printers it found and counters (see `_Sweep`).

Safety: nothing is sent unless the config names ranges; a range larger than
/16 is refused at config time unless explicitly allowed; the sweep is
bounded in packets (addresses x communities x tries) and in time.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import itertools
import logging
import operator
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from exporter.config import (
    Config,
    DiscoveryConfig,
    IPAddress,
    expand,
    format_host_port,
)
from exporter.poller import PollTarget, first_of
from exporter.readers import oids
from exporter.readers.decode import (
    decode_text,
    device_id_manufacturer,
    device_id_model,
    parse_device_id,
)
from exporter.snmp.ber import GET_NEXT, Absent, BerError, decode_response
from exporter.snmp.ber_encode import RequestTemplate
from exporter.snmp.credentials import Credentials
from exporter.snmp.types import Oid, SnmpValue, format_oid, is_under
from exporter.state import DiscoveryStats

log = logging.getLogger(__name__)

_QUESTIONS: tuple[Oid, ...] = (
    (*oids.SYSTEM, 1),  # -> sysDescr.0
    (*oids.SYSTEM, 2),  # -> sysObjectID.0
    oids.HR_DEVICE_TYPE,  # -> the first hrDeviceType row
    oids.PRT_MARKER_LIFE_COUNT,  # -> the first prtMarkerLifeCount row, if any
    oids.PPM_PRINTER_IEEE1284_DEVICE_ID,  # -> the first PWG port-monitor device ID
)
"""GETNEXT on these prefixes returns the first instance under each, in one PDU."""

PRINTER_OBJECT_IDS: tuple[Oid, ...] = (
    (1, 3, 6, 1, 4, 1, 11, 2, 3, 9),  # HP JetDirect / LaserJet / OfficeJet
    (1, 3, 6, 1, 4, 1, 2435, 2, 3, 9),  # Brother
    (1, 3, 6, 1, 4, 1, 236, 11, 5),  # Samsung printers
    (1, 3, 6, 1, 4, 1, 367, 1, 1),  # Ricoh
    (1, 3, 6, 1, 4, 1, 1347, 41),  # Kyocera
    (1, 3, 6, 1, 4, 1, 1248, 1, 2),  # Epson printers
    (1, 3, 6, 1, 4, 1, 253, 8, 62),  # Xerox
    (1, 3, 6, 1, 4, 1, 1602, 4),  # Canon
)
"""sysObjectID subtrees that name printer products, for agents without the Printer-MIB.

Only product subtrees, never a whole enterprise: HP's and Dell's numbers also
cover switches and servers."""


@dataclass(frozen=True, slots=True)
class Found:
    """One printer a sweep found, and why it counts as one."""

    address: str
    host: str
    port: int
    credentials: Credentials
    reason: str
    sys_descr: str | None
    sys_object_id: str | None
    model: str | None = None
    """Manufacturer and model from the IEEE 1284 device ID (PWG Port Monitor MIB) when the
    answer carried one, else the first line of sysDescr: what a person recognises."""


@dataclass(slots=True)
class SweepResult:
    found: list[Found] = field(default_factory=list)
    answered: int = 0
    """Addresses that answered SNMP at all, printers or not."""
    probed: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    duration_seconds: float = 0.0


def classify(answers: dict[Oid, SnmpValue | Absent]) -> str | None:
    """Why the device that gave these GETNEXT answers is a printer, or None if it is not."""
    by_question: dict[Oid, tuple[Oid, SnmpValue | Absent]] = {}
    for oid, value in answers.items():
        for question in _QUESTIONS:
            if is_under(oid, question) and question not in by_question:
                by_question[question] = (oid, value)
    device_type = by_question.get(oids.HR_DEVICE_TYPE)
    if device_type and device_type[1] == oids.HR_DEVICE_PRINTER:
        return "hrDeviceType is hrDevicePrinter"
    if oids.PRT_MARKER_LIFE_COUNT in by_question:
        return "implements the Printer-MIB (prtMarkerLifeCount)"
    if oids.PPM_PRINTER_IEEE1284_DEVICE_ID in by_question:
        return "implements the PWG Port Monitor MIB"
    object_id = by_question.get((*oids.SYSTEM, 2))
    if object_id and isinstance(object_id[1], tuple):
        for prefix in PRINTER_OBJECT_IDS:
            if is_under(object_id[1], prefix):
                return f"sysObjectID {format_oid(object_id[1])} is a printer product"
    return None


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
        *,
        rate: float,
        timeout: float,
        retries: int,
        progress: Callable[[int, int], None] | None,
        expected: int,
    ) -> None:
        self.result = SweepResult()
        self.pending: dict[int, tuple[_Chunk, int]] = {}
        """Request id -> (chunk, slot) for every chunk in flight, and for no other."""
        self.in_flight = 0
        """Addresses drawn and not yet done: at most `_WINDOW`."""
        self._port = port
        self._sets = sets
        self._templates = [
            RequestTemplate(
                c.version - 1, c.community_string.reveal().encode(), GET_NEXT, _QUESTIONS
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
        self._found: list[tuple[int, Found]] = []

    async def run(self, addresses: Iterator[IPAddress]) -> None:
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

    def _draw(self, addresses: Iterator[IPAddress]) -> _Chunk | None:
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
        found = _found(host, self._port, self._sets[which], dict(message.varbinds))
        if found is not None:
            self._found.append((chunk.position + index, found))

    def found(self) -> list[Found]:
        """The printers in range order, whatever order they answered in."""
        return [f for _, f in sorted(self._found, key=lambda item: item[0])]


def _found(
    host: str, port: int, creds: Credentials, values: dict[Oid, SnmpValue | Absent]
) -> Found | None:
    reason = classify(values)
    if reason is None:
        return None
    descr = values.get(oids.SYS_DESCR)
    object_id = values.get(oids.SYS_OBJECT_ID)
    sys_descr = decode_text(descr) if isinstance(descr, bytes) else None
    return Found(
        address=format_host_port(host, port),
        host=host,
        port=port,
        credentials=creds,
        reason=reason,
        sys_descr=sys_descr,
        sys_object_id=format_oid(object_id) if isinstance(object_id, tuple) else None,
        model=_model(values) or (sys_descr.splitlines()[0].strip() if sys_descr else None),
    )


def _model(values: dict[Oid, SnmpValue | Absent]) -> str | None:
    """ "MFG MDL" from a 1284 device ID among the answers, if there is one."""
    for oid, value in values.items():
        if is_under(oid, oids.PPM_PRINTER_IEEE1284_DEVICE_ID) and isinstance(value, bytes):
            fields = parse_device_id(value)
            model, maker = device_id_model(fields), device_id_manufacturer(fields)
            if model and maker and not model.lower().startswith(maker.lower()):
                return f"{maker} {model}"
            return model
    return None


async def sweep(
    addresses: Iterable[IPAddress],
    port: int,
    credentials: Sequence[Credentials],
    *,
    rate: float,
    timeout: float,
    retries: int,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Ask every address once per community per try; collect and classify the answers.

    Each address gets up to `retries` + 1 tries per community, `timeout` x (try number)
    apart, until it answers. `addresses` is read lazily, a window at a time, and memory
    stays bounded whatever its length (see `_Sweep`). `progress(done, total)` counts
    (address, community, try) slots; its total comes from `operator.length_hint`
    (`expand` gives an exact one) and grows if the addresses outrun it.

    v3 credential sets are skipped: a v3 sweep needs a round trip per address
    to learn its engine ID first. v3-only devices belong in `targets`.
    """
    sets = [c for c in credentials if c.version in (1, 2) and c.community_string is not None]
    started = time.monotonic()
    state = _Sweep(
        port,
        sets,
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
    result.found = state.found()
    result.duration_seconds = time.monotonic() - started
    return result


def _normal(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host.split("%")[0]))
    except ValueError:
        return host


class Discovery:
    """Sweeps the configured ranges every `interval` and keeps what it found."""

    def __init__(self, settings: DiscoveryConfig, config: Config) -> None:
        self._settings = settings
        self._config = config
        self.found: dict[str, Found] = {}
        self.stats = DiscoveryStats()
        self._wake = asyncio.Event()

    def configure(self, settings: DiscoveryConfig, config: Config) -> None:
        """Take new settings (a reload). New ranges, exclusions or range credentials are
        swept at once rather than at the end of the current interval, which may be hours."""
        old = self._settings
        self._settings = settings
        self._config = config
        if settings != old:
            self.found = {a: f for a, f in self.found.items() if self.covers(f.host)}
        if settings.scopes() != old.scopes() or settings.exclude != old.exclude:
            self._wake.set()

    def addresses(self) -> Iterator[IPAddress]:
        return expand(self._settings.ranges, self._settings.exclude)

    def covers(self, host: str) -> bool:
        """Whether `host` is inside a discovery range and not excluded."""
        return self._settings.credentials_for(host) is not None

    def poll_targets(self) -> list[PollTarget]:
        """The found printers, each with the sets its range allows in the config now.

        The set that answered the sweep goes first, as it is in the config now (a
        reload may have changed its community or taken it from the range; then it
        is not used at all)."""
        out = []
        for f in self.found.values():
            sets = self._config.credentials_allowed(f.host, f.port)
            if not sets:
                continue
            ordered = sorted(sets, key=lambda c: c.name != f.credentials.name)
            out.append(PollTarget(f.host, f.port, tuple(ordered), f.address))
        return out

    async def sweep_once(self) -> SweepResult:
        """Sweep every range once, each group of ranges with only the sets it allows.

        Ranges that name other credential sets never overlap (the config refuses
        it), so the groups are swept one after another, each at `rate`, and no
        address is asked twice.
        """
        s = self._settings
        result = SweepResult()
        for names, spans in s.scopes():
            part = await sweep(
                expand(spans, s.exclude),
                s.port,
                self._config.credential_sets(names),
                rate=s.rate,
                timeout=s.timeout,
                retries=s.retries,
            )
            result.found += part.found
            result.answered += part.answered
            result.probed += part.probed
            result.packets_sent += part.packets_sent
            result.packets_received += part.packets_received
            result.bytes_sent += part.bytes_sent
            result.bytes_received += part.bytes_received
            result.duration_seconds += part.duration_seconds
        self.found = {f.address: f for f in result.found}
        st = self.stats
        self.stats = DiscoveryStats(
            sweeps_total=st.sweeps_total + 1,
            last_sweep_duration_seconds=result.duration_seconds,
            addresses_probed_total=st.addresses_probed_total + result.probed,
            devices_found=len(result.found),
            packets_sent_total=st.packets_sent_total + result.packets_sent,
            packets_received_total=st.packets_received_total + result.packets_received,
            bytes_sent_total=st.bytes_sent_total + result.bytes_sent,
            bytes_received_total=st.bytes_received_total + result.bytes_received,
        )
        log.info(
            "discovery swept %d addresses in %.1fs: %d answered, %d printers",
            result.probed,
            result.duration_seconds,
            result.answered,
            len(result.found),
        )
        return result

    async def run(self, stop: asyncio.Event, on_found: Callable[[], None]) -> None:
        """Sweep now and then every `interval`, until `stop`. Does nothing without ranges."""
        while not stop.is_set():
            self._wake.clear()
            if self._settings.ranges:
                try:
                    await self.sweep_once()
                    on_found()
                except OSError as exc:
                    log.error("discovery sweep failed: %s", exc)
            await first_of(stop, self._wake, timeout=self._settings.interval)
