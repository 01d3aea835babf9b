"""Range sweeps: find the printers in the CIDRs and ranges a user names.

One sweep sends, to every address, one SNMP GETNEXT whose five varbinds
answer every question classification asks (what the device is, and whether
it speaks the Printer-MIB or the PWG port monitor), so a printer costs one
round trip and an empty address one unanswered packet (plus retries).

The sweep runs on a single UDP socket with requests pre-encoded once per
community, paced by a token bucket to `rate` packets per second, and
answers are matched by request-id and source address. That is why a /16
takes seconds here, not the better part of an hour.

Safety: nothing is sent unless the config names ranges; a range larger than
/16 is refused at config time unless explicitly allowed; the sweep is
bounded in packets (addresses x communities x tries) and in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from exporter.config import (
    AddressRange,
    Config,
    DiscoveryConfig,
    IPAddress,
    expand,
    format_host_port,
)
from exporter.metrics import DiscoveryStats
from exporter.poller import PollTarget
from exporter.readers import oids
from exporter.readers.decode import decode_text
from exporter.snmp.ber import GET_NEXT, Absent, BerError, decode_response
from exporter.snmp.ber_encode import RequestTemplate
from exporter.snmp.credentials import Credentials
from exporter.snmp.types import Oid, SnmpValue, format_oid, is_under

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
    def __init__(self, on_answer: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._on_answer = on_answer

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._on_answer(data, addr)

    def error_received(self, exc: Exception) -> None:
        """ICMP unreachable and the like: that address simply has no agent. Not an error."""


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

    v3 credential sets are skipped: a v3 sweep needs a round trip per address
    to learn its engine ID first. v3-only devices belong in `targets`.
    """
    sets = [c for c in credentials if c.version in (1, 2) and c.community_string is not None]
    result = SweepResult()
    started = time.monotonic()
    pending: dict[int, tuple[str, Credentials]] = {}
    answers: dict[str, tuple[Credentials, dict[Oid, SnmpValue | Absent]]] = {}

    def on_answer(data: bytes, addr: tuple[str, int]) -> None:
        result.packets_received += 1
        result.bytes_received += len(data)
        try:
            message = decode_response(data)
        except BerError:
            return
        sent = pending.get(message.request_id)
        if sent is None or _normal(addr[0]) != sent[0] or addr[1] != port:
            return
        host, creds = sent
        if host not in answers and message.error_status == 0:
            answers[host] = (creds, dict(message.varbinds))

    addr_list = [str(a) for a in addresses]
    result.probed = len(addr_list)
    by_family: dict[int, list[str]] = {}
    for host in addr_list:
        by_family.setdefault(6 if ":" in host else 4, []).append(host)
    bucket = _Bucket(rate)
    total = len(addr_list) * len(sets) * (retries + 1)
    sent_count = 0
    loop = asyncio.get_running_loop()
    for family, hosts in by_family.items():
        af = socket.AF_INET6 if family == 6 else socket.AF_INET
        transport, _protocol = await loop.create_datagram_endpoint(
            lambda: _SweepProtocol(on_answer), family=af
        )
        try:
            for attempt in range(retries + 1):
                for creds in sets:
                    assert creds.community_string is not None
                    template = RequestTemplate(
                        creds.version - 1,
                        creds.community_string.reveal().encode(),
                        GET_NEXT,
                        _QUESTIONS,
                    )
                    for host in hosts:
                        sent_count += 1
                        if host in answers:
                            continue
                        await bucket.take()
                        request_id = secrets.randbelow(2**31 - 1) + 1
                        while request_id in pending:
                            request_id = secrets.randbelow(2**31 - 1) + 1
                        pending[request_id] = (host, creds)
                        packet = template.encode(request_id)
                        transport.sendto(packet, (host, port))
                        result.packets_sent += 1
                        result.bytes_sent += len(packet)
                        if progress is not None and sent_count % 256 == 0:
                            progress(sent_count, total)
                await asyncio.sleep(timeout * (attempt + 1))
        finally:
            transport.close()
    if progress is not None:
        progress(total, total)
    for host in addr_list:
        if host not in answers:
            continue
        result.answered += 1
        creds, values = answers[host]
        reason = classify(values)
        if reason is None:
            continue
        descr = values.get(oids.SYS_DESCR)
        object_id = values.get(oids.SYS_OBJECT_ID)
        result.found.append(
            Found(
                address=format_host_port(host, port),
                host=host,
                port=port,
                credentials=creds,
                reason=reason,
                sys_descr=decode_text(descr) if isinstance(descr, bytes) else None,
                sys_object_id=format_oid(object_id) if isinstance(object_id, tuple) else None,
            )
        )
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

    def configure(self, settings: DiscoveryConfig, config: Config) -> None:
        changed = settings != self._settings
        self._settings = settings
        self._config = config
        if changed:
            self.found = {a: f for a, f in self.found.items() if self.covers(f.host)}

    def addresses(self) -> Iterator[IPAddress]:
        return expand(self._settings.ranges, self._settings.exclude)

    def covers(self, host: str) -> bool:
        """Whether `host` is inside a discovery range and not excluded."""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        s = self._settings

        def within(r: AddressRange) -> bool:
            return r.first.version == ip.version and int(r.first) <= int(ip) <= int(r.last)

        return any(within(r) for r in s.ranges) and not any(within(r) for r in s.exclude)

    def poll_targets(self) -> list[PollTarget]:
        sets = self._config.credential_sets(self._settings.credentials)
        out = []
        for f in self.found.values():
            # The set that answered goes first; the others stay as fallbacks.
            ordered = (f.credentials, *(c for c in sets if c.name != f.credentials.name))
            out.append(PollTarget(f.host, f.port, ordered, f.address))
        return out

    async def sweep_once(self) -> SweepResult:
        s = self._settings
        result = await sweep(
            self.addresses(),
            s.port,
            self._config.credential_sets(s.credentials),
            rate=s.rate,
            timeout=s.timeout,
            retries=s.retries,
        )
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
            if self._settings.ranges:
                try:
                    await self.sweep_once()
                    on_found()
                except OSError as exc:
                    log.error("discovery sweep failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._settings.interval)
