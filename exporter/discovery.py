"""Range sweeps: find the printers in the CIDRs and ranges a user names.

One sweep sends, to every address, one SNMP GETNEXT whose five varbinds
answer every question classification asks (what the device is, and whether
it speaks the Printer-MIB or the PWG port monitor), so a printer costs one
round trip and an empty address one unanswered packet (plus retries).

The sending, pacing and matching of answers is SNMP transport and lives in
`exporter/snmp/sweep.py` (two sockets, a token bucket, bounded memory whatever
the range); this module decides what an answer means and which sets go where.

Safety: nothing is sent unless the config names ranges; a range larger than
/16 is refused at config time unless explicitly allowed; the sweep is
bounded in packets (addresses x communities x tries) and in time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
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
from exporter.readers.vendors import PRINTER_PRODUCT_SUBTREES
from exporter.snmp.credentials import Credentials
from exporter.snmp.sweep import Absent, SweepStats, get_next_sweep
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
class SweepResult(SweepStats):
    """What a sweep found, and (its `SweepStats` fields) what it cost."""

    found: list[Found] = field(default_factory=list)
    heard: set[str] = field(default_factory=set)
    """Every host that answered SNMP, printer or not (so `discover --icmp` pings the rest)."""


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
        for prefix in PRINTER_PRODUCT_SUBTREES:
            if is_under(object_id[1], prefix):
                return f"sysObjectID {format_oid(object_id[1])} is a printer product"
    return None


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
    """Ask every address the five questions once per community per try
    (`exporter.snmp.sweep`), and keep the answers that are printers, in range order.

    v3 credential sets are skipped: a v3 sweep needs a round trip per address
    to learn its engine ID first. v3-only devices belong in `targets`.
    """
    found: list[tuple[int, Found]] = []
    heard: set[str] = set()

    def on_answer(
        position: int, host: str, creds: Credentials, values: dict[Oid, SnmpValue | Absent]
    ) -> None:
        heard.add(host)
        printer = _found(host, port, creds, values)
        if printer is not None:
            found.append((position, printer))

    stats = await get_next_sweep(
        addresses,
        port,
        credentials,
        _QUESTIONS,
        on_answer,
        rate=rate,
        timeout=timeout,
        retries=retries,
        progress=progress,
    )
    ordered = [printer for _, printer in sorted(found, key=lambda item: item[0])]
    return SweepResult(found=ordered, heard=heard, **dataclasses.asdict(stats))


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
