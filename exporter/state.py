"""What one scrape shows: the exporter's state, as the poller, store and discovery leave it.

A layer of its own below the metrics: the poller, the store and discovery fill these
types, and `exporter.metrics` turns them into series. Nothing here formats or talks to
a printer.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Protocol

from exporter import __version__
from exporter.model import Snapshot

__all__ = [
    "TRAFFIC_FIELDS",
    "BuildInfo",
    "DiscoveryStats",
    "ExporterState",
    "ReaderRunLike",
    "TrafficCounts",
    "current_build_info",
]

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


def _none() -> Mapping[str, Any]:
    return _EMPTY


class ReaderRunLike(Protocol):
    """One reader's run in the latest poll; `exporter.device.ReaderRun` fits."""

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


TRAFFIC_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in dataclasses.fields(TrafficCounts))
"""The wire-traffic counters, in exposition order: declared once, as `TrafficCounts`' fields.

The SNMP client's `TrafficStats` and the sweep's `SweepStats` count the same things
while they run (mutable, in the snmp layer); tests/unit/test_traffic_fields.py holds
them to these names, and the metrics name their series after them."""


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
