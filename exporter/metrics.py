"""Prometheus metrics, built afresh from the latest device snapshots on every scrape.

Why a custom collector and not a Gauge per device: series are derived from
the immutable snapshots each time, so a device that leaves the config loses
its series on the next scrape by itself, and a device that stops answering
shows `printer_up 0` and its last-success time but no stale levels or
counters. Nothing here talks to a printer.

Three ways out, one source of truth (the `_GROUPS` builders and `_global_families`):

- `SnapshotCollector(source)`: a prometheus_client collector, for a registry
  shared with other collectors (process metrics, say).
- `render(state)`: the text exposition via `generate_latest` on a private
  registry. The reference, but it formats every sample on every call (some
  µs each in pure Python), so seconds for a fleet of thousands.
- `MetricsRenderer().render(state)` / `.render_chunks(state)`: the same
  bytes, cached. A snapshot is immutable and most of a device's series do
  not change between polls, so text is kept per device and per group of
  families and formatted again only when its inputs change. This is the one
  `/metrics` should use; a unit test holds it byte-equal to `render`.

Label values come from agents, so each is cut to `MAX_LABEL_CHARS` and made
valid UTF-8 before it is exposed; both paths escape the rest the same way.
IP masking, if wanted, happens upstream in the snapshots.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import platform
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol, TypeAlias, TypeGuard, TypeVar

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from exporter import __version__
from exporter.model import (
    LEVEL_STATES,
    REACH_STATES,
    RECEPTACLE_STATES,
    SUPPLY_STATES,
    Snapshot,
)
from exporter.readers.decode import ERROR_CONDITIONS

__all__ = [
    "COVER_STATUSES",
    "DEVICE_STATUSES",
    "MAX_LABEL_CHARS",
    "METRIC_NAMES",
    "PRINTER_STATUSES",
    "SUPPLY_STATES",
    "BuildInfo",
    "DiscoveryStats",
    "ExporterState",
    "MetricsRenderer",
    "ReaderRunLike",
    "SnapshotCollector",
    "TrafficCounts",
    "current_build_info",
    "render",
]

MAX_LABEL_CHARS: Final = 256
"""Longest label value exposed: a panel line or alert text must not bloat every scrape."""

DEVICE_STATUSES: Final = ("running", "warning", "testing", "down", "unknown")
PRINTER_STATUSES: Final = ("idle", "printing", "warmup", "other", "unknown")
COVER_STATUSES: Final = ("open", "closed", "interlock_open", "interlock_closed", "other", "unknown")

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


def _none() -> Mapping[str, Any]:
    return _EMPTY


# --- the state the collector reads -------------------------------------------


class ReaderRunLike(Protocol):
    """One reader's run in the latest poll; `exporter.readers.device.ReaderRun` fits."""

    @property
    def reader(self) -> str: ...
    @property
    def seconds(self) -> float: ...
    @property
    def ok(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class TrafficCounts:
    """SNMP traffic since the exporter started, so a user can see where time goes."""

    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    retries: int = 0
    timeouts: int = 0


@dataclass(frozen=True, slots=True)
class DiscoveryStats:
    """Range sweeps since the exporter started. Last-sweep fields are None before the first."""

    sweeps_total: int = 0
    last_sweep_duration_seconds: float | None = None
    addresses_probed_total: int = 0
    devices_found: int | None = None
    """Printers found by the last sweep."""
    packets_sent_total: int = 0
    packets_received_total: int = 0
    bytes_sent_total: int = 0
    bytes_received_total: int = 0


@dataclass(frozen=True, slots=True)
class BuildInfo:
    version: str
    python_version: str
    pysnmp_version: str


@functools.cache
def current_build_info() -> BuildInfo:
    """This process's versions; read once, since package metadata does not change under us."""
    try:
        pysnmp_version = importlib.metadata.version("pysnmp")
    except importlib.metadata.PackageNotFoundError:
        pysnmp_version = "unknown"
    return BuildInfo(__version__, platform.python_version(), pysnmp_version)


@dataclass(frozen=True, slots=True)
class ExporterState:
    """Everything one scrape shows: the latest snapshots and the exporter's own counters.

    `snapshots` defines the set of devices: per-target entries in the other
    mappings are shown only for targets that have a snapshot, so a device
    removed from the config disappears even if a mapping still holds it.
    Values must be immutable (tuples, frozen dataclasses): `MetricsRenderer`
    reuses a device's text while its snapshot is the same object and its
    self-state values compare equal.
    """

    snapshots: Sequence[Snapshot] = ()
    last_success: Mapping[str, float] = field(default_factory=_none)
    """target -> unix time of the last successful poll, kept while the device is down."""
    reader_runs: Mapping[str, Sequence[ReaderRunLike]] = field(default_factory=_none)
    traffic: Mapping[str, TrafficCounts] = field(default_factory=_none)
    counter_regressions: Mapping[str, Mapping[str, int]] = field(default_factory=_none)
    """target -> counter name -> times the poller saw that meter go backwards."""
    counter_events_total: Mapping[str, Mapping[tuple[str, str], int]] = field(default_factory=_none)
    """target -> (counter name, event kind) -> meter integrity events since start."""
    poll_cycles_total: int = 0
    poll_cycle_duration_seconds: float | None = None
    """Wall time of the last completed cycle; None before the first."""
    poll_interval_seconds: float | None = None
    """The configured poll interval: alert rules judge staleness against it."""
    discovery: DiscoveryStats = DiscoveryStats()
    config_last_reload_successful: bool = True
    config_last_reload_success_timestamp_seconds: float | None = None
    config_reloads_total: int = 0
    build_info: BuildInfo = field(default_factory=current_build_info)
    tls_certificate_expiry: Mapping[str, float] = field(default_factory=_none)
    """TLS server certificate file -> its notAfter as unix time; empty without TLS."""
    snmp_dropped_datagrams: Mapping[str, int] = field(default_factory=_none)
    """reason -> SNMP datagrams the exporter's sockets received and dropped, since start."""


# --- the metric families -----------------------------------------------------

Kind: TypeAlias = Literal["gauge", "counter"]
_Row: TypeAlias = tuple[tuple[str, ...], float]


@dataclass(frozen=True, slots=True, eq=False)
class _Family:
    """One metric name. Compared and hashed by identity: each is defined once, below."""

    name: str
    """As exposed: counters end in `_total`."""
    kind: Kind
    labels: tuple[str, ...]
    help: str

    def new(self) -> GaugeMetricFamily | CounterMetricFamily:
        if self.kind == "counter":
            return CounterMetricFamily(
                self.name.removesuffix("_total"), self.help, labels=self.labels
            )
        return GaugeMetricFamily(self.name, self.help, labels=self.labels)


_HELP: Final[Mapping[str, str]] = {
    "printer_up": "1 if the device answered its latest poll (SNMPv2-MIB system 1.3.6.1.2.1.1 "
    "first), else 0.",
    "printer_reach_state": "How the latest poll reached the device, as a state set: up (SNMP "
    "answered), snmp_refused (an SNMPv3 report refused the credential), snmp_silent (no SNMP "
    "answer, but an ICMP echo reply), host_down (neither), no_answer (no SNMP answer, no echo "
    "sent: ICMP off or not permitted).",
    "printer_icmp_up": "1 if the ICMP echo sent beside the latest poll was answered, else 0; "
    "absent when none was sent.",
    "printer_icmp_rtt_seconds": "Mean round trip of the answered ICMP echoes of the latest poll.",
    "printer_info": "Device identity, value 1. manufacturer/model: IEEE 1284 device ID "
    "1.3.6.1.4.1.2699.1.2.1.2.1.1.3, hrDeviceDescr 1.3.6.1.2.1.25.3.2.1.3, sysDescr "
    "1.3.6.1.2.1.1.1; serial: prtGeneralSerialNumber 1.3.6.1.2.1.43.5.1.1.17, entPhysicalSerialNum "
    "1.3.6.1.2.1.47.1.1.1.1.11; mac: ifPhysAddress 1.3.6.1.2.1.2.2.1.6; firmware: "
    "entPhysicalFirmwareRev 1.3.6.1.2.1.47.1.1.1.1.9 or a vendor OID; name: sysName "
    "1.3.6.1.2.1.1.5; location: sysLocation 1.3.6.1.2.1.1.6; color: true or false from "
    "prtMarkerProcessColorants 1.3.6.1.2.1.43.10.2.1.6, else the supplies' colours, empty if "
    "unknown; asset_number: entPhysicalAssetID 1.3.6.1.2.1.47.1.1.1.1.15.",
    "printer_poll_duration_seconds": "Wall time of the latest poll of the device, failed or not.",
    "printer_last_poll_success_timestamp_seconds": "Unix time of the latest poll the device "
    "answered; kept while the device is down.",
    "printer_poll_warnings": "Oddities the readers noticed in the latest poll (garbled values, "
    "truncated walks); see `warnings` in /api/v1/snapshot.",
    "printer_device_status": "hrDeviceStatus 1.3.6.1.2.1.25.3.2.1.5 of the printer row, as a "
    "state set: 1 for the current status.",
    "printer_status": "hrPrinterStatus 1.3.6.1.2.1.25.3.5.1.1, as a state set: 1 for the current "
    "status.",
    "printer_error_condition": "hrPrinterDetectedErrorState 1.3.6.1.2.1.25.3.5.1.2: 1 if the "
    "condition's bit is set; one series for each of the 16 bits.",
    "printer_cover_status": "prtCoverStatus 1.3.6.1.2.1.43.6.1.1.3 as a state set; description "
    "is prtCoverDescription 1.3.6.1.2.1.43.6.1.1.2.",
    "printer_pages_total": "Meter reads by counter name: prtMarkerLifeCount "
    "1.3.6.1.2.1.43.10.2.1.4, prtMarkerPowerOnCount 1.3.6.1.2.1.43.10.2.1.5 or a vendor OID; "
    "see `source` in /api/v1/snapshot. unit: prtMarkerCounterUnit 1.3.6.1.2.1.43.10.2.1.3 or "
    "the vendor's.",
    "printer_supply_info": "One series of value 1 per supply, also when its level is a sentinel: "
    "prtMarkerSuppliesTable 1.3.6.1.2.1.43.11.1.1, description .6, type .5, class .4, unit .7; "
    "color from prtMarkerColorantValue 1.3.6.1.2.1.43.12.1.1.4 or the description; "
    "part_number and serial from the vendor profile (docs/profiles.md), empty when unknown.",
    "printer_supply_level": "prtMarkerSuppliesLevel 1.3.6.1.2.1.43.11.1.1.9 in the supply's "
    "unit; for a receptacle, the space left. Absent when the agent sends an RFC 3805 sentinel: "
    "see printer_supply_state.",
    "printer_supply_capacity": "prtMarkerSuppliesMaxCapacity 1.3.6.1.2.1.43.11.1.1.8; absent "
    "when unknown or a sentinel.",
    "printer_supply_remaining_ratio": "Fraction left before action, 0..1: "
    "prtMarkerSuppliesLevel 1.3.6.1.2.1.43.11.1.1.9 / prtMarkerSuppliesMaxCapacity "
    "1.3.6.1.2.1.43.11.1.1.8; absent when either is unknown or a sentinel.",
    "printer_supply_state": "State of the supply from prtMarkerSuppliesLevel "
    "1.3.6.1.2.1.43.11.1.1.9, as a state set. RFC 3805 sentinels land here: -1 unrestricted, "
    "-2 unknown, -3 some_remaining.",
    "printer_tray_info": "One series of value 1 per input tray, also when its level is a "
    "sentinel: prtInputTable 1.3.6.1.2.1.43.8.2.1, name prtInputName .13, media "
    "prtInputMediaName .12.",
    "printer_tray_level": "prtInputCurrentLevel 1.3.6.1.2.1.43.8.2.1.10; absent when a sentinel: "
    "see printer_tray_state.",
    "printer_tray_capacity": "prtInputMaxCapacity 1.3.6.1.2.1.43.8.2.1.9; absent when unknown "
    "or a sentinel.",
    "printer_tray_remaining_ratio": "Fraction of the tray still filled, 0..1: "
    "prtInputCurrentLevel 1.3.6.1.2.1.43.8.2.1.10 / prtInputMaxCapacity 1.3.6.1.2.1.43.8.2.1.9; "
    "absent when either is unknown or a sentinel.",
    "printer_tray_state": "State of the tray from prtInputCurrentLevel 1.3.6.1.2.1.43.8.2.1.10, "
    "as a state set; sentinels land here.",
    "printer_alert": "Active prtAlertTable 1.3.6.1.2.1.43.18.1.1 rows: severity .2, group .4, "
    "code .7, description .8. The value counts rows with the same labels (normally 1).",
    "printer_console_info": "Front-panel text, value 1: prtConsoleDisplayBufferText "
    "1.3.6.1.2.1.43.16.5.1.2; line numbers the non-empty lines from 1.",
    "printer_exporter_reader_duration_seconds": "Wall time of each reader in the device's latest "
    "poll.",
    "printer_exporter_reader_success": "1 if the reader succeeded in the device's latest poll.",
    "printer_exporter_snmp_packets_sent_total": "SNMP request packets sent to the device.",
    "printer_exporter_snmp_packets_received_total": "SNMP response packets from the device.",
    "printer_exporter_snmp_bytes_sent_total": "SNMP UDP payload bytes sent to the device.",
    "printer_exporter_snmp_bytes_received_total": "SNMP UDP payload bytes from the device.",
    "printer_exporter_snmp_retries_total": "SNMP requests re-sent to the device after a timeout.",
    "printer_exporter_snmp_timeouts_total": "SNMP requests the device left unanswered after "
    "every retry.",
    "printer_counter_event": "1 per meter integrity finding of the latest poll: kind decrease "
    "(withheld from this read), wrap (2^24/2^31/2^32) or total_mismatch (vendor total against "
    "prtMarkerLifeCount 1.3.6.1.2.1.43.10.2.1.4); see counter_events in /api/v1/snapshot.",
    "printer_exporter_counter_regressions_total": "Times the poller read a meter lower than the "
    "read before: a billing meter must never go backwards.",
    "printer_counter_events_total": "Meter integrity events since the exporter started, by "
    "kind: wrap (2^24/2^31/2^32; the exposed meter carries on), decrease (withheld from that "
    "read) or total_mismatch; alert on increase() of it, which stays visible for the window.",
    "printer_exporter_build_info": "Versions of this exporter, value 1.",
    "printer_exporter_poll_cycles_total": "Poll cycles completed.",
    "printer_exporter_poll_cycle_duration_seconds": "Wall time of the last completed poll cycle.",
    "printer_exporter_poll_interval_seconds": "The configured poll interval of a device.",
    "printer_exporter_discovery_sweeps_total": "Discovery sweeps completed.",
    "printer_exporter_discovery_last_sweep_duration_seconds": "Wall time of the last discovery "
    "sweep.",
    "printer_exporter_discovery_addresses_probed_total": "Addresses probed by discovery.",
    "printer_exporter_discovery_devices_found": "Printers found by the last discovery sweep.",
    "printer_exporter_discovery_packets_sent_total": "Packets sent by discovery.",
    "printer_exporter_discovery_packets_received_total": "Packets received by discovery.",
    "printer_exporter_discovery_bytes_sent_total": "Bytes sent by discovery.",
    "printer_exporter_discovery_bytes_received_total": "Bytes received by discovery.",
    "printer_exporter_config_last_reload_successful": "1 if the last config reload succeeded; 0 "
    "if it failed and the previous config stays in force.",
    "printer_exporter_config_last_reload_success_timestamp_seconds": "Unix time of the last "
    "successful config load.",
    "printer_exporter_config_reloads_total": "Config reloads attempted.",
    "printer_exporter_tls_certificate_expiry_timestamp_seconds": "Unix time at which the web "
    "server's TLS certificate expires (its notAfter).",
    "printer_exporter_snmp_dropped_datagrams_total": "SNMP datagrams received and dropped: "
    "malformed (did not decode: garbage, or an agent's broken answer) or unmatched (answers "
    "no request in flight: late, duplicate, or from the wrong address).",
}
"""HELP text by metric name: the OID a value comes from, so a reader can check it on the device."""


def _dev(name: str, kind: Kind, *labels: str) -> _Family:
    """A per-device family: `target` comes first."""
    return _Family(name, kind, ("target", *labels), _HELP[name])


def _glob(name: str, kind: Kind, *labels: str) -> _Family:
    """An exporter-wide family: no `target`."""
    return _Family(name, kind, labels, _HELP[name])


_SUPPLY = ("supply", "description", "type", "color")
_TRAY = ("tray", "name", "media")
_TRAFFIC_FIELDS = (
    "packets_sent",
    "packets_received",
    "bytes_sent",
    "bytes_received",
    "retries",
    "timeouts",
)

UP = _dev("printer_up", "gauge")
POLL_DURATION = _dev("printer_poll_duration_seconds", "gauge")
LAST_SUCCESS = _dev("printer_last_poll_success_timestamp_seconds", "gauge")
POLL_WARNINGS = _dev("printer_poll_warnings", "gauge")
REACH_STATE = _dev("printer_reach_state", "gauge", "state")
ICMP_UP = _dev("printer_icmp_up", "gauge")
ICMP_RTT = _dev("printer_icmp_rtt_seconds", "gauge")
INFO = _dev(
    "printer_info",
    "gauge",
    "manufacturer",
    "model",
    "serial",
    "mac",
    "firmware",
    "name",
    "location",
    "color",
    "asset_number",
)
DEVICE_STATUS = _dev("printer_device_status", "gauge", "status")
PRINTER_STATUS = _dev("printer_status", "gauge", "status")
ERROR_CONDITION = _dev("printer_error_condition", "gauge", "condition")
COVER_STATUS = _dev("printer_cover_status", "gauge", "cover", "description", "status")
CONSOLE = _dev("printer_console_info", "gauge", "line", "text")
PAGES = _dev("printer_pages_total", "counter", "counter", "unit")
SUPPLY_INFO = _dev(
    "printer_supply_info", "gauge", *_SUPPLY, "class", "unit", "part_number", "serial"
)
SUPPLY_LEVEL = _dev("printer_supply_level", "gauge", *_SUPPLY)
SUPPLY_CAPACITY = _dev("printer_supply_capacity", "gauge", *_SUPPLY)
SUPPLY_RATIO = _dev("printer_supply_remaining_ratio", "gauge", *_SUPPLY)
SUPPLY_STATE = _dev("printer_supply_state", "gauge", "supply", "state")
TRAY_INFO = _dev("printer_tray_info", "gauge", *_TRAY)
TRAY_LEVEL = _dev("printer_tray_level", "gauge", *_TRAY)
TRAY_CAPACITY = _dev("printer_tray_capacity", "gauge", *_TRAY)
TRAY_RATIO = _dev("printer_tray_remaining_ratio", "gauge", *_TRAY)
TRAY_STATE = _dev("printer_tray_state", "gauge", "tray", "state")
ALERT = _dev("printer_alert", "gauge", "severity", "group", "code", "description")
READER_DURATION = _dev("printer_exporter_reader_duration_seconds", "gauge", "reader")
READER_SUCCESS = _dev("printer_exporter_reader_success", "gauge", "reader")
TRAFFIC = tuple(_dev(f"printer_exporter_snmp_{attr}_total", "counter") for attr in _TRAFFIC_FIELDS)
COUNTER_REGRESSIONS = _dev("printer_exporter_counter_regressions_total", "counter", "counter")
COUNTER_EVENT = _dev("printer_counter_event", "gauge", "counter", "kind")
COUNTER_EVENTS = _dev("printer_counter_events_total", "counter", "counter", "kind")

BUILD_INFO = _glob(
    "printer_exporter_build_info", "gauge", "version", "python_version", "pysnmp_version"
)
POLL_CYCLES = _glob("printer_exporter_poll_cycles_total", "counter")
POLL_CYCLE_DURATION = _glob("printer_exporter_poll_cycle_duration_seconds", "gauge")
POLL_INTERVAL = _glob("printer_exporter_poll_interval_seconds", "gauge")
SWEEPS = _glob("printer_exporter_discovery_sweeps_total", "counter")
SWEEP_DURATION = _glob("printer_exporter_discovery_last_sweep_duration_seconds", "gauge")
PROBED = _glob("printer_exporter_discovery_addresses_probed_total", "counter")
FOUND = _glob("printer_exporter_discovery_devices_found", "gauge")
_DISCOVERY_FIELDS = (
    "packets_sent_total",
    "packets_received_total",
    "bytes_sent_total",
    "bytes_received_total",
)
DISCOVERY_TRAFFIC = tuple(
    _glob(f"printer_exporter_discovery_{attr}", "counter") for attr in _DISCOVERY_FIELDS
)
RELOAD_OK = _glob("printer_exporter_config_last_reload_successful", "gauge")
RELOAD_TIME = _glob("printer_exporter_config_last_reload_success_timestamp_seconds", "gauge")
RELOADS = _glob("printer_exporter_config_reloads_total", "counter")
TLS_EXPIRY = _glob("printer_exporter_tls_certificate_expiry_timestamp_seconds", "gauge", "file")
DROPPED = _glob("printer_exporter_snmp_dropped_datagrams_total", "counter", "reason")

GLOBAL_FAMILIES: Final[tuple[_Family, ...]] = (
    BUILD_INFO,
    POLL_CYCLES,
    POLL_CYCLE_DURATION,
    POLL_INTERVAL,
    SWEEPS,
    SWEEP_DURATION,
    PROBED,
    FOUND,
    *DISCOVERY_TRAFFIC,
    RELOAD_OK,
    RELOAD_TIME,
    RELOADS,
    TLS_EXPIRY,
    DROPPED,
)
"""Exporter-wide families in exposition order."""


# --- one device's series -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Device:
    """What one scrape shows of one device: its snapshot and its self-state."""

    snap: Snapshot
    last_success: float | None
    runs: tuple[ReaderRunLike, ...]
    traffic: TrafficCounts | None
    regressions: tuple[tuple[str, int], ...]
    events: tuple[tuple[tuple[str, str], int], ...]

    @classmethod
    def of(cls, state: ExporterState, snap: Snapshot) -> _Device:
        target = snap.target
        regressions = state.counter_regressions.get(target) or _EMPTY
        events: Mapping[tuple[str, str], int] = state.counter_events_total.get(target) or {}
        return cls(
            snap,
            state.last_success.get(target),
            tuple(state.reader_runs.get(target, ())),
            state.traffic.get(target),
            tuple(regressions.items()),
            tuple(events.items()),
        )


class _Add(Protocol):
    def __call__(self, family: _Family, value: float, *labels: str) -> None: ...


@dataclass(frozen=True, slots=True, eq=False)
class _Group:
    """Families built from one part of the device's data.

    `key` is everything the group's series depend on besides the target, so
    `MetricsRenderer` can keep a group's text while its key compares equal,
    even across snapshots: a new poll usually changes the counters and the
    timings, not the supplies, trays or identity.
    """

    families: tuple[_Family, ...]
    key: Callable[[_Device], object]
    build: Callable[[_Device, _Add], None]


def _poll(dev: _Device, add: _Add) -> None:
    snap, last_success = dev.snap, dev.last_success
    add(UP, 1.0 if snap.reachable else 0.0)
    add(POLL_DURATION, snap.duration_seconds)
    if last_success is None and snap.reachable:
        last_success = _timestamp(snap.taken_at)
    if last_success is not None:
        add(LAST_SUCCESS, last_success)
    if snap.reachable:
        add(POLL_WARNINGS, len(snap.warnings))


def _reach(dev: _Device, add: _Add) -> None:
    """Present also when the device did not answer: that is when it matters most."""
    reach = dev.snap.reachability
    if reach is None:
        return
    _state_set(add, REACH_STATE, REACH_STATES, reach.state)
    if reach.icmp_sent:
        add(ICMP_UP, 1.0 if reach.icmp_received else 0.0)
    if reach.icmp_rtt_seconds is not None:
        add(ICMP_RTT, reach.icmp_rtt_seconds)


def _identity(dev: _Device, add: _Add) -> None:
    i = dev.snap.identity
    color = {True: "true", False: "false", None: ""}[i.color]
    labels = (i.manufacturer, i.model, i.serial, i.mac, i.firmware, i.sys_name, i.location)
    add(INFO, 1.0, *map(_label, labels), color, _label(i.asset_number))


def _status(dev: _Device, add: _Add) -> None:
    status = dev.snap.status
    _state_set(add, DEVICE_STATUS, DEVICE_STATUSES, status.device)
    _state_set(add, PRINTER_STATUS, PRINTER_STATUSES, status.printer)
    errors = set(status.errors)
    for condition in ERROR_CONDITIONS:
        add(ERROR_CONDITION, 1.0 if condition in errors else 0.0, condition)
    for cover in _first_by(status.covers, lambda cover: cover.index):
        where = (str(cover.index), _label(cover.description))
        _state_set(add, COVER_STATUS, COVER_STATUSES, cover.status, *where)
    for number, text in enumerate(status.console, start=1):
        add(CONSOLE, 1.0, str(number), _label(text))


def _counters(dev: _Device, add: _Add) -> None:
    for counter in _first_by(dev.snap.counters, lambda counter: counter.name):
        if _known(counter.value):
            add(PAGES, counter.running_total, _label(counter.name), _label(counter.unit))


def _supplies(dev: _Device, add: _Add) -> None:
    for supply in _first_by(dev.snap.supplies, lambda supply: supply.index):
        labels = (_label(supply.description), _label(supply.type), _label(supply.color))
        add(
            SUPPLY_INFO,
            1.0,
            str(supply.index),
            *labels,
            _label(supply.supply_class),
            _label(supply.unit),
            _label(supply.part_number),
            _label(supply.serial),
        )
        states = RECEPTACLE_STATES if supply.supply_class == "filled" else LEVEL_STATES
        families = (SUPPLY_LEVEL, SUPPLY_CAPACITY, SUPPLY_RATIO, SUPPLY_STATE)
        _levels(add, supply, labels, states, *families)


def _trays(dev: _Device, add: _Add) -> None:
    for tray in _first_by(dev.snap.trays, lambda tray: tray.index):
        labels = (_label(tray.name), _label(tray.media))
        add(TRAY_INFO, 1.0, str(tray.index), *labels)
        _levels(add, tray, labels, LEVEL_STATES, TRAY_LEVEL, TRAY_CAPACITY, TRAY_RATIO, TRAY_STATE)


def _alerts(dev: _Device, add: _Add) -> None:
    """One series per distinct label set, valued by how many rows share it: an agent can
    list the same alert twice, and a repeated series would make Prometheus drop samples."""
    alerts: dict[tuple[str, ...], int] = {}
    for alert in dev.snap.alerts:
        key = tuple(map(_label, (alert.severity, alert.group, alert.code, alert.description)))
        alerts[key] = alerts.get(key, 0) + 1
    for key, count in alerts.items():
        add(ALERT, count, *key)


def _counter_events(dev: _Device, add: _Add) -> None:
    for key in dict.fromkeys((_label(e.counter), e.kind) for e in dev.snap.counter_events):
        add(COUNTER_EVENT, 1, *key)


def _readers(dev: _Device, add: _Add) -> None:
    for reader, run in {run.reader: run for run in dev.runs}.items():
        add(READER_DURATION, run.seconds, _label(reader))
        add(READER_SUCCESS, 1.0 if run.ok else 0.0, _label(reader))


def _traffic(dev: _Device, add: _Add) -> None:
    if dev.traffic is not None:
        for attr, family in zip(_TRAFFIC_FIELDS, TRAFFIC, strict=True):
            add(family, getattr(dev.traffic, attr))


def _regressions(dev: _Device, add: _Add) -> None:
    for counter, count in dev.regressions:
        add(COUNTER_REGRESSIONS, count, _label(counter))


def _events_total(dev: _Device, add: _Add) -> None:
    for (counter, kind), count in dev.events:
        add(COUNTER_EVENTS, count, _label(counter), kind)


def _poll_key(dev: _Device) -> object:
    snap = dev.snap
    return (
        snap.reachable,
        snap.duration_seconds,
        snap.taken_at,
        dev.last_success,
        len(snap.warnings),
    )


def _answered(build: Callable[[_Device, _Add], None]) -> Callable[[_Device, _Add], None]:
    """Data series only for a device that answered: an unreachable device's snapshot holds
    nothing current, and showing the previous values would pass stale data as fresh."""

    def build_if_reachable(dev: _Device, add: _Add) -> None:
        if dev.snap.reachable:
            build(dev, add)

    return build_if_reachable


def _data_key(part: str) -> Callable[[_Device], object]:
    return lambda dev: (dev.snap.reachable, getattr(dev.snap, part))


_GROUPS: Final[tuple[_Group, ...]] = (
    _Group(
        (UP, POLL_DURATION, LAST_SUCCESS, POLL_WARNINGS),
        _poll_key,
        _poll,
    ),
    _Group((REACH_STATE, ICMP_UP, ICMP_RTT), lambda dev: dev.snap.reachability, _reach),
    _Group((INFO,), _data_key("identity"), _answered(_identity)),
    _Group(
        (DEVICE_STATUS, PRINTER_STATUS, ERROR_CONDITION, COVER_STATUS, CONSOLE),
        _data_key("status"),
        _answered(_status),
    ),
    _Group((PAGES,), _data_key("counters"), _answered(_counters)),
    _Group(
        (SUPPLY_INFO, SUPPLY_LEVEL, SUPPLY_CAPACITY, SUPPLY_RATIO, SUPPLY_STATE),
        _data_key("supplies"),
        _answered(_supplies),
    ),
    _Group(
        (TRAY_INFO, TRAY_LEVEL, TRAY_CAPACITY, TRAY_RATIO, TRAY_STATE),
        _data_key("trays"),
        _answered(_trays),
    ),
    _Group((ALERT,), _data_key("alerts"), _answered(_alerts)),
    _Group((READER_DURATION, READER_SUCCESS), lambda dev: dev.runs, _readers),
    _Group(TRAFFIC, lambda dev: dev.traffic, _traffic),
    _Group((COUNTER_REGRESSIONS,), lambda dev: dev.regressions, _regressions),
    _Group((COUNTER_EVENT,), _data_key("counter_events"), _answered(_counter_events)),
    _Group((COUNTER_EVENTS,), lambda dev: dev.events, _events_total),
)

DEVICE_FAMILIES: Final[tuple[_Family, ...]] = tuple(f for g in _GROUPS for f in g.families)
"""Per-device families in exposition order."""

METRIC_NAMES: Final[frozenset[str]] = frozenset(
    family.name for family in (*GLOBAL_FAMILIES, *DEVICE_FAMILIES)
)
"""Every metric name as exposed; dashboards and alert rules may use no other."""


def _group_rows(group: _Group, dev: _Device) -> list[list[_Row]]:
    """The group's series for one device, one list per family in `group.families` order."""
    rows: dict[_Family, list[_Row]] = {family: [] for family in group.families}
    target = dev.snap.target

    def add(family: _Family, value: float, *labels: str) -> None:
        rows[family].append(((target, *labels), value or 0.0))  # -0.0 -> 0.0, as in _text

    group.build(dev, add)
    return list(rows.values())


def _label(value: str | None) -> str:
    """A label value that is bounded and valid UTF-8 whatever the agent sent."""
    if value is None:
        return ""
    if len(value) > MAX_LABEL_CHARS:
        value = value[:MAX_LABEL_CHARS]
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _timestamp(taken_at: str) -> float | None:
    """The poll's start as unix time; a time without a zone is UTC, as the schema says."""
    try:
        moment = datetime.fromisoformat(taken_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _known(value: float | None) -> TypeGuard[float]:
    """True for a real reading. A negative number is an RFC 3805 sentinel, never exposed."""
    return value is not None and value >= 0  # also False for NaN


def _state_set(
    add: _Add, family: _Family, states: Sequence[str], current: str, *labels: str
) -> None:
    for state in states:
        add(family, 1.0 if current == state else 0.0, *labels, state)


class _Level(Protocol):
    """What supplies and trays share: a level read by the RFC 3805 rules."""

    @property
    def index(self) -> int: ...
    @property
    def level(self) -> int | None: ...
    @property
    def max_capacity(self) -> int | None: ...
    @property
    def remaining_ratio(self) -> float | None: ...
    @property
    def state(self) -> str: ...


def _levels(
    add: _Add,
    item: _Level,
    labels: tuple[str, ...],
    states: tuple[str, ...],
    *families: _Family,
) -> None:
    """Level, capacity and ratio only when known (never a sentinel); the state always."""
    level, capacity, ratio, state = families
    index = str(item.index)
    if _known(item.level):
        add(level, item.level, index, *labels)
    if _known(item.max_capacity):
        add(capacity, item.max_capacity, index, *labels)
    if _known(item.remaining_ratio):
        add(ratio, item.remaining_ratio, index, *labels)
    _state_set(add, state, states, item.state, index)


_T = TypeVar("_T")


def _first_by(items: Iterable[_T], key: Callable[[_T], object]) -> Iterator[_T]:
    """Each item whose key was not seen before: a broken agent may repeat a row, and a
    repeated series would make Prometheus drop samples."""
    seen: set[object] = set()
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            yield item


def _devices(state: ExporterState) -> list[_Device]:
    """One entry per target, the last snapshot given winning."""
    latest = {snap.target: snap for snap in state.snapshots}
    return [_Device.of(state, snap) for snap in latest.values()]


def _global_families(state: ExporterState) -> list[GaugeMetricFamily | CounterMetricFamily]:
    """The exporter-wide series, in GLOBAL_FAMILIES order. Unknown values are left out."""
    out = {family: family.new() for family in GLOBAL_FAMILIES}

    def add(family: _Family, value: float | None, *labels: str) -> None:
        if value is not None:
            out[family].add_metric(labels, value)

    build, disc = state.build_info, state.discovery
    add(BUILD_INFO, 1.0, *map(_label, (build.version, build.python_version, build.pysnmp_version)))
    add(POLL_CYCLES, state.poll_cycles_total)
    add(POLL_CYCLE_DURATION, state.poll_cycle_duration_seconds)
    add(POLL_INTERVAL, state.poll_interval_seconds)
    add(SWEEPS, disc.sweeps_total)
    add(SWEEP_DURATION, disc.last_sweep_duration_seconds)
    add(PROBED, disc.addresses_probed_total)
    add(FOUND, disc.devices_found)
    for attr, family in zip(_DISCOVERY_FIELDS, DISCOVERY_TRAFFIC, strict=True):
        add(family, getattr(disc, attr))
    add(RELOAD_OK, 1.0 if state.config_last_reload_successful else 0.0)
    add(RELOAD_TIME, state.config_last_reload_success_timestamp_seconds)
    add(RELOADS, state.config_reloads_total)
    for file, not_after in sorted(state.tls_certificate_expiry.items()):
        add(TLS_EXPIRY, not_after, _label(file))
    for reason, count in sorted(state.snmp_dropped_datagrams.items()):
        add(DROPPED, count, reason)
    return list(out.values())


# --- the collector and the renderers ------------------------------------------


class SnapshotCollector(Collector):
    """Builds every family from `source()` on each collect: one family object per
    name, one `add_metric` per series, nothing kept between calls."""

    def __init__(self, source: Callable[[], ExporterState]) -> None:
        self._source = source

    def describe(self) -> Iterator[Metric]:
        """Names only, so registering never calls `source` and clashes show at once."""
        for family in (*GLOBAL_FAMILIES, *DEVICE_FAMILIES):
            yield family.new()

    def collect(self) -> Iterator[Metric]:
        state = self._source()
        yield from _global_families(state)
        metrics = {family: family.new() for family in DEVICE_FAMILIES}
        for dev in _devices(state):
            for group in _GROUPS:
                for family, rows in zip(group.families, _group_rows(group, dev), strict=True):
                    add_metric = metrics[family].add_metric
                    for labels, value in rows:
                        add_metric(labels, value)
        yield from metrics.values()


def render(state: ExporterState) -> bytes:
    """The text exposition of `state` through prometheus_client itself: the reference
    output. Nothing is cached; `MetricsRenderer` serves large fleets with the same bytes."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(lambda: state))
    return generate_latest(registry)


def _go_float(value: float) -> str:
    """A sample value exactly as prometheus_client's `floatToGoString` writes it."""
    if value.__class__ is int and -(10**15) < value < 1_000_000:
        return f"{value}.0"  # what repr(float(value)) gives, without the float
    value = float(value)
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _template(family: _Family) -> str:
    """A `str.format` template of one sample line: labels sorted by name, as
    `generate_latest` writes them, each taken by its position in the row."""
    order = sorted(range(len(family.labels)), key=family.labels.__getitem__)
    pairs = ",".join(f'{family.labels[i]}="{{{i}}}"' for i in order)
    return f"{family.name}{{{{{pairs}}}}} {{{len(family.labels)}}}\n"


def _header(family: _Family) -> bytes:
    doc = family.help.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {family.name} {doc}\n# TYPE {family.name} {family.kind}\n".encode()


_TEMPLATES: Final = {family: _template(family) for family in DEVICE_FAMILIES}
_HEADERS: Final = tuple(_header(family) for family in DEVICE_FAMILIES)


def _text(group: _Group, dev: _Device) -> tuple[bytes, ...]:
    """The group's lines for one device, one fragment per family, formatted straight
    from the builders' `add` calls (no row tuples: this is the hot path)."""
    lines: dict[_Family, list[str]] = {family: [] for family in group.families}
    target = _escape(dev.snap.target)

    def add(family: _Family, value: float, *labels: str) -> None:
        if labels:
            joined = "".join(labels)
            if '"' in joined or "\\" in joined or "\n" in joined:
                labels = tuple(map(_escape, labels))
        text = _FAST_VALUES.get(value) or _go_float(value)
        lines[family].append(_TEMPLATES[family].format(target, *labels, text))

    group.build(dev, add)
    return tuple("".join(family_lines).encode() for family_lines in lines.values())


_FAST_VALUES: Final[Mapping[float, str]] = {0.0: "0.0", 1.0: "1.0"}
"""The commonest values (state sets, flags). Both paths turn -0.0 into 0.0 first."""


@dataclass(frozen=True, slots=True)
class _Cached:
    dev: _Device
    keys: tuple[object, ...]
    texts: tuple[tuple[bytes, ...], ...]
    """Per group, per family."""
    flat: tuple[bytes, ...]
    """Per family, in DEVICE_FAMILIES order."""


def _cache_entry(dev: _Device, old: _Cached | None) -> _Cached:
    """The device's text, reusing each group of `old` whose key compares equal."""
    keys = tuple(group.key(dev) for group in _GROUPS)
    texts = tuple(
        old.texts[i] if old is not None and old.keys[i] == key else _text(group, dev)
        for i, (group, key) in enumerate(zip(_GROUPS, keys, strict=True))
    )
    return _Cached(dev, keys, texts, tuple(text for group in texts for text in group))


class MetricsRenderer:
    """`render(state)`, byte for byte, with text cached between scrapes at three levels.

    - A device is looked at again only when its snapshot is a new object or
      its self-state changed.
    - Then only the groups of families whose inputs changed (`_Group.key`,
      by value) are formatted again: a new poll usually changes counters and
      timings, not identity, status, supplies or trays.
    - A family's whole section (all devices) is joined again only when one of
      its device fragments changed or the device list did.

    Targets absent from `state` leave the cache on the same call, so memory
    follows the fleet: about twice the body size (device fragments plus
    sections). Concurrent scrapes take turns.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}
        self._sections: list[bytes] = list(_HEADERS)
        self._last_body: tuple[ExporterState, bytes] | None = None

    def render(self, state: ExporterState) -> bytes:
        """The exposition body (text format 0.0.4).

        The same state object gives the same bytes without any work: the service
        hands out one state object until something changes, so repeated scrapes
        between polls cost nothing however large the fleet.
        """
        last = self._last_body
        if last is not None and last[0] is state:
            return last[1]
        body = b"".join(self.render_chunks(state))
        self._last_body = (state, body)
        return body

    def render_chunks(self, state: ExporterState) -> list[bytes]:
        """The body in pieces, for a server that writes them without joining them first."""
        with self._lock:
            old, cache = self._cache, {}
            changed: set[int] = set()
            for dev in _devices(state):
                target = dev.snap.target
                entry = previous = old.get(target)
                if entry is None or entry.dev.snap is not dev.snap or entry.dev != dev:
                    entry = _cache_entry(dev, entry)
                    if previous is not None:
                        changed.update(
                            slot
                            for slot, (new, was) in enumerate(
                                zip(entry.flat, previous.flat, strict=True)
                            )
                            if new is not was
                        )
                cache[target] = entry
            if list(cache) != list(old):  # devices came, went or moved
                changed = set(range(len(DEVICE_FAMILIES)))
            self._cache = cache
            entries = list(cache.values())
            for slot in sorted(changed):
                body = b"".join([entry.flat[slot] for entry in entries])
                self._sections[slot] = _HEADERS[slot] + body
            return [_format_globals(state), *self._sections]


def _format_globals(state: ExporterState) -> bytes:
    """The exporter-wide families through `generate_latest`: a few lines, exact for free."""
    metrics = _global_families(state)

    class _Once(Collector):
        def collect(self) -> Iterable[Metric]:
            return metrics

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Once())
    return generate_latest(registry)
