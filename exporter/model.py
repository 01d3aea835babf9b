"""The normalised device snapshot: the contract between collector, metrics and archive.

One poll of one device makes one immutable `Snapshot`. Everything downstream
(`/metrics`, `probe --output json`, pull_sync, the archive) reads the same
object, so its JSON form (`printer-snapshot/1`, see docs/snapshot.md) may gain
fields but never changes the meaning of one.

Unknown is `None`, never a made-up number: an RFC 3805 sentinel lands in a
`state` field, and the level, capacity and ratio stay `None`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

SCHEMA = "printer-snapshot/1"

DeviceStatus = Literal["running", "warning", "testing", "down", "unknown"]
PrinterStatus = Literal["idle", "printing", "warmup", "other", "unknown"]
SupplyState = Literal[
    "ok", "low", "empty", "some_remaining", "unknown", "unrestricted", "near_full", "full"
]
SUPPLY_STATES: tuple[SupplyState, ...] = get_args(SupplyState)
"""Every state a supply or tray may be in. `near_full` and `full` are for receptacles
(class `filled`, a waste-toner box): their level is the space left, so the words that
mean "little left" for toner mean "almost full" for them (`Supply.__post_init__`)."""
_RECEPTACLE_STATES: dict[str, SupplyState] = {"low": "near_full", "empty": "full"}
RECEPTACLE_STATES: tuple[SupplyState, ...] = tuple(
    _RECEPTACLE_STATES.get(state, state)
    for state in SUPPLY_STATES
    if state not in ("near_full", "full")
)
"""The states a receptacle can be in, in the same order."""
LEVEL_STATES: tuple[SupplyState, ...] = tuple(
    state for state in SUPPLY_STATES if state not in ("near_full", "full")
)
"""The states a consumable or a tray can be in."""
AlertSeverity = Literal["critical", "warning", "warning_binary", "other"]
CounterEventKind = Literal["decrease", "wrap", "total_mismatch"]
ReachState = Literal["up", "snmp_refused", "snmp_silent", "host_down", "no_answer"]
REACH_STATES: tuple[ReachState, ...] = (
    "up",
    "snmp_refused",
    "snmp_silent",
    "host_down",
    "no_answer",
)


@dataclass(frozen=True, slots=True)
class Identity:
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    mac: str | None = None
    firmware: str | None = None
    color: bool | None = None
    asset_number: str | None = None
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    location: str | None = None
    contact: str | None = None
    uptime_seconds: float | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    device: DeviceStatus = "unknown"
    printer: PrinterStatus = "unknown"
    errors: tuple[str, ...] = ()
    console: tuple[str, ...] = ()
    covers: tuple[Cover, ...] = ()


@dataclass(frozen=True, slots=True)
class Cover:
    index: int
    description: str | None
    status: Literal["open", "closed", "interlock_open", "interlock_closed", "other", "unknown"]


@dataclass(frozen=True, slots=True)
class Counter:
    """One meter read. `source` names the OID or method, so every read is traceable."""

    name: str
    value: int
    unit: str
    source: str
    offset: int = 0
    """What the meter's wraps have added since the exporter first read it (exporter/ledger.py):
    the device shows `value`, the pages behind it are `running_total`."""

    @property
    def running_total(self) -> int:
        """The meter as exposed and billed: it only goes up across wraps."""
        return self.value + self.offset


@dataclass(frozen=True, slots=True)
class CounterEvent:
    """A meter that broke its promise to only go up, or two totals that disagree.

    See `exporter.integrity` for how each kind is detected and what the
    poller does with it: a decreased meter is withheld from the snapshot that
    carries the event.
    """

    kind: CounterEventKind
    counter: str
    previous: int | None
    current: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class Supply:
    index: int
    description: str | None
    type: str
    color: str | None
    supply_class: Literal["consumed", "filled", "other"]
    unit: str
    level: int | None
    max_capacity: int | None
    remaining_ratio: float | None
    state: SupplyState
    raw_level: int | None = None
    raw_max_capacity: int | None = None
    part_number: str | None = None
    """What to order: the maker's part number, where its MIB or the description gives it."""
    serial: str | None = None
    """The cartridge's own serial, where the maker's MIB gives it (a swap shows as a new one)."""

    def __post_init__(self) -> None:
        """A full waste-toner box is `full`, never `empty`: for a receptacle, RFC 3805's
        level is the space left, so no space left means full. Done here so that every
        path that makes a supply (the reader, a profile's quirks) says it the same way."""
        if self.supply_class == "filled" and self.state in _RECEPTACLE_STATES:
            object.__setattr__(self, "state", _RECEPTACLE_STATES[self.state])


@dataclass(frozen=True, slots=True)
class Tray:
    """An input tray. Its level fields repeat Supply's, name for name, on purpose: the
    snapshot gives a tray and a supply one shape of level (docs/snapshot.md), and a shared
    base would put the level before the tray's own fields in every positional use."""

    index: int
    name: str | None
    media: str | None
    level: int | None
    max_capacity: int | None
    remaining_ratio: float | None
    state: SupplyState
    raw_level: int | None = None
    raw_max_capacity: int | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    index: int
    severity: AlertSeverity
    training_level: str | None
    group: str
    group_index: int | None
    location: int | None
    code: str
    description: str | None
    time_ticks: int | None


@dataclass(frozen=True, slots=True)
class ValueSource:
    """Where a value without a `source` of its own came from, when not from the standard
    SNMP read: `{field: "identity.model", source: "pjl:INFO ID"}`."""

    field: str
    source: str


@dataclass(frozen=True, slots=True)
class Reachability:
    """How this poll reached the device: SNMP, and an ICMP echo beside it (exporter/icmp.py)."""

    state: ReachState
    icmp_sent: int = 0
    icmp_received: int = 0
    icmp_rtt_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    target: str
    taken_at: str
    duration_seconds: float
    reachable: bool
    error: str | None = None
    identity: Identity = field(default_factory=Identity)
    status: Status = field(default_factory=Status)
    counters: tuple[Counter, ...] = ()
    supplies: tuple[Supply, ...] = ()
    trays: tuple[Tray, ...] = ()
    alerts: tuple[Alert, ...] = ()
    counter_events: tuple[CounterEvent, ...] = ()
    """Integrity findings of this poll against the device's previous one."""
    warnings: tuple[str, ...] = ()
    """Things the reader noticed about the agent (garbled values, truncated walks)."""
    sources: tuple[ValueSource, ...] = ()
    """Identity and status fields filled by a fallback (PJL), each with its source."""
    reachability: Reachability | None = None
    """Set by the poller: what answered (SNMP, ICMP), so a printer that is off is told
    from one whose agent is silent. None where nothing pinged (a probe, the CLI)."""

    def counter(self, name: str) -> Counter | None:
        for counter in self.counters:
            if counter.name == name:
                return counter
        return None

    def to_json(self) -> dict[str, Any]:
        """The `printer-snapshot/1` document, with the schema tag first."""
        doc: dict[str, Any] = {"schema": SCHEMA}
        doc.update(_plain(self))
        return doc


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            key = "class" if f.name == "supply_class" else f.name
            out[key] = _plain(getattr(value, f.name))
        return out
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class ReaderRun:
    """One reader's run in a poll: how long it took and whether it got its part."""

    reader: str
    seconds: float
    ok: bool


@dataclass(frozen=True, slots=True)
class DeviceRead:
    """One poll's result: the snapshot, and how each reader fared."""

    snapshot: Snapshot
    readers: tuple[ReaderRun, ...]


def utc_now() -> str:
    """Now, as the snapshot writes times: RFC 3339 UTC with milliseconds and a Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
