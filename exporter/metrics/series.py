"""The series of one device and of the exporter, built from the state on every scrape.

Each `Group` builds the families of one part of a device's data and names the key
its series depend on, so the text formatter can keep a group's text while the key
compares equal. `global_families` builds the exporter-wide ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol, TypeGuard, TypeVar

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

from exporter.metrics.families import (
    ALERT,
    BUILD_INFO,
    CONSOLE,
    COUNTER_EVENT,
    COUNTER_EVENTS,
    COUNTER_REGRESSIONS,
    COVER_STATUS,
    COVER_STATUSES,
    DEVICE_STATUS,
    DEVICE_STATUSES,
    DISCOVERY_FIELDS,
    DISCOVERY_TRAFFIC,
    DROPPED,
    ERROR_CONDITION,
    FOUND,
    GLOBAL_FAMILIES,
    ICMP_RTT,
    ICMP_UP,
    INFO,
    LAST_SUCCESS,
    MAX_LABEL_CHARS,
    PAGES,
    POLL_CYCLE_DURATION,
    POLL_CYCLES,
    POLL_DURATION,
    POLL_INTERVAL,
    POLL_WARNINGS,
    PRINTER_STATUS,
    PRINTER_STATUSES,
    PROBED,
    REACH_STATE,
    READER_DURATION,
    READER_SUCCESS,
    RELOAD_OK,
    RELOAD_TIME,
    RELOADS,
    SUPPLY_CAPACITY,
    SUPPLY_INFO,
    SUPPLY_LEVEL,
    SUPPLY_RATIO,
    SUPPLY_STATE,
    SWEEP_DURATION,
    SWEEPS,
    TLS_EXPIRY,
    TRAFFIC,
    TRAFFIC_FIELDS,
    TRAY_CAPACITY,
    TRAY_INFO,
    TRAY_LEVEL,
    TRAY_RATIO,
    TRAY_STATE,
    UP,
    Family,
    Row,
)
from exporter.model import (
    LEVEL_STATES,
    REACH_STATES,
    RECEPTACLE_STATES,
    Snapshot,
)
from exporter.readers.decode import ERROR_CONDITIONS
from exporter.state import ExporterState, ReaderRunLike, TrafficCounts


@dataclass(frozen=True, slots=True)
class Device:
    """What one scrape shows of one device: its snapshot and its self-state."""

    snap: Snapshot
    last_success: float | None
    runs: tuple[ReaderRunLike, ...]
    traffic: TrafficCounts | None
    regressions: tuple[tuple[str, int], ...]
    events: tuple[tuple[tuple[str, str], int], ...]

    @classmethod
    def of(cls, state: ExporterState, snap: Snapshot) -> Device:
        target = snap.target
        regressions = state.counter_regressions.get(target) or {}
        events: Mapping[tuple[str, str], int] = state.counter_events_total.get(target) or {}
        return cls(
            snap,
            state.last_success.get(target),
            tuple(state.reader_runs.get(target, ())),
            state.traffic.get(target),
            tuple(regressions.items()),
            tuple(events.items()),
        )


class Add(Protocol):
    def __call__(self, family: Family, value: float, *labels: str) -> None: ...


@dataclass(frozen=True, slots=True, eq=False)
class Group:
    """Families built from one part of the device's data.

    `key` is everything the group's series depend on besides the target, so
    `MetricsRenderer` can keep a group's text while its key compares equal,
    even across snapshots: a new poll usually changes the counters and the
    timings, not the supplies, trays or identity.
    """

    families: tuple[Family, ...]
    key: Callable[[Device], object]
    build: Callable[[Device, Add], None]


def _poll(dev: Device, add: Add) -> None:
    snap, last_success = dev.snap, dev.last_success
    add(UP, 1.0 if snap.reachable else 0.0)
    add(POLL_DURATION, snap.duration_seconds)
    if last_success is None and snap.reachable:
        last_success = _timestamp(snap.taken_at)
    if last_success is not None:
        add(LAST_SUCCESS, last_success)
    if snap.reachable:
        add(POLL_WARNINGS, len(snap.warnings))


def _reach(dev: Device, add: Add) -> None:
    """Present also when the device did not answer: that is when it matters most."""
    reach = dev.snap.reachability
    if reach is None:
        return
    _state_set(add, REACH_STATE, REACH_STATES, reach.state)
    if reach.icmp_sent:
        add(ICMP_UP, 1.0 if reach.icmp_received else 0.0)
    if reach.icmp_rtt_seconds is not None:
        add(ICMP_RTT, reach.icmp_rtt_seconds)


def _identity(dev: Device, add: Add) -> None:
    i = dev.snap.identity
    color = {True: "true", False: "false", None: ""}[i.color]
    labels = (i.manufacturer, i.model, i.serial, i.mac, i.firmware, i.sys_name, i.location)
    add(INFO, 1.0, *map(_label, labels), color, _label(i.asset_number))


def _status(dev: Device, add: Add) -> None:
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


def _counters(dev: Device, add: Add) -> None:
    for counter in _first_by(dev.snap.counters, lambda counter: counter.name):
        if _known(counter.value):
            add(PAGES, counter.running_total, _label(counter.name), _label(counter.unit))


def _supplies(dev: Device, add: Add) -> None:
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


def _trays(dev: Device, add: Add) -> None:
    for tray in _first_by(dev.snap.trays, lambda tray: tray.index):
        labels = (_label(tray.name), _label(tray.media))
        add(TRAY_INFO, 1.0, str(tray.index), *labels)
        _levels(add, tray, labels, LEVEL_STATES, TRAY_LEVEL, TRAY_CAPACITY, TRAY_RATIO, TRAY_STATE)


def _alerts(dev: Device, add: Add) -> None:
    """One series per distinct label set, valued by how many rows share it: an agent can
    list the same alert twice, and a repeated series would make Prometheus drop samples."""
    alerts: dict[tuple[str, ...], int] = {}
    for alert in dev.snap.alerts:
        key = tuple(map(_label, (alert.severity, alert.group, alert.code, alert.description)))
        alerts[key] = alerts.get(key, 0) + 1
    for key, count in alerts.items():
        add(ALERT, count, *key)


def _counter_events(dev: Device, add: Add) -> None:
    for key in dict.fromkeys((_label(e.counter), e.kind) for e in dev.snap.counter_events):
        add(COUNTER_EVENT, 1, *key)


def _readers(dev: Device, add: Add) -> None:
    for reader, run in {run.reader: run for run in dev.runs}.items():
        add(READER_DURATION, run.seconds, _label(reader))
        add(READER_SUCCESS, 1.0 if run.ok else 0.0, _label(reader))


def _traffic(dev: Device, add: Add) -> None:
    if dev.traffic is not None:
        for attr, family in zip(TRAFFIC_FIELDS, TRAFFIC, strict=True):
            add(family, getattr(dev.traffic, attr))


def _regressions(dev: Device, add: Add) -> None:
    for counter, count in dev.regressions:
        add(COUNTER_REGRESSIONS, count, _label(counter))


def _events_total(dev: Device, add: Add) -> None:
    for (counter, kind), count in dev.events:
        add(COUNTER_EVENTS, count, _label(counter), kind)


def _poll_key(dev: Device) -> object:
    snap = dev.snap
    return (
        snap.reachable,
        snap.duration_seconds,
        snap.taken_at,
        dev.last_success,
        len(snap.warnings),
    )


def _answered(build: Callable[[Device, Add], None]) -> Callable[[Device, Add], None]:
    """Data series only for a device that answered: an unreachable device's snapshot holds
    nothing current, and showing the previous values would pass stale data as fresh."""

    def build_if_reachable(dev: Device, add: Add) -> None:
        if dev.snap.reachable:
            build(dev, add)

    return build_if_reachable


def _data_key(part: str) -> Callable[[Device], object]:
    return lambda dev: (dev.snap.reachable, getattr(dev.snap, part))


GROUPS: Final[tuple[Group, ...]] = (
    Group(
        (UP, POLL_DURATION, LAST_SUCCESS, POLL_WARNINGS),
        _poll_key,
        _poll,
    ),
    Group((REACH_STATE, ICMP_UP, ICMP_RTT), lambda dev: dev.snap.reachability, _reach),
    Group((INFO,), _data_key("identity"), _answered(_identity)),
    Group(
        (DEVICE_STATUS, PRINTER_STATUS, ERROR_CONDITION, COVER_STATUS, CONSOLE),
        _data_key("status"),
        _answered(_status),
    ),
    Group((PAGES,), _data_key("counters"), _answered(_counters)),
    Group(
        (SUPPLY_INFO, SUPPLY_LEVEL, SUPPLY_CAPACITY, SUPPLY_RATIO, SUPPLY_STATE),
        _data_key("supplies"),
        _answered(_supplies),
    ),
    Group(
        (TRAY_INFO, TRAY_LEVEL, TRAY_CAPACITY, TRAY_RATIO, TRAY_STATE),
        _data_key("trays"),
        _answered(_trays),
    ),
    Group((ALERT,), _data_key("alerts"), _answered(_alerts)),
    Group((READER_DURATION, READER_SUCCESS), lambda dev: dev.runs, _readers),
    Group(TRAFFIC, lambda dev: dev.traffic, _traffic),
    Group((COUNTER_REGRESSIONS,), lambda dev: dev.regressions, _regressions),
    Group((COUNTER_EVENT,), _data_key("counter_events"), _answered(_counter_events)),
    Group((COUNTER_EVENTS,), lambda dev: dev.events, _events_total),
)

DEVICE_FAMILIES: Final[tuple[Family, ...]] = tuple(f for g in GROUPS for f in g.families)
"""Per-device families in exposition order."""

METRIC_NAMES: Final[frozenset[str]] = frozenset(
    family.name for family in (*GLOBAL_FAMILIES, *DEVICE_FAMILIES)
)
"""Every metric name as exposed; dashboards and alert rules may use no other."""


def group_rows(group: Group, dev: Device) -> list[list[Row]]:
    """The group's series for one device, one list per family in `group.families` order."""
    rows: dict[Family, list[Row]] = {family: [] for family in group.families}
    target = dev.snap.target

    def add(family: Family, value: float, *labels: str) -> None:
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


def _state_set(add: Add, family: Family, states: Sequence[str], current: str, *labels: str) -> None:
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
    add: Add,
    item: _Level,
    labels: tuple[str, ...],
    states: tuple[str, ...],
    *families: Family,
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


def devices_of(state: ExporterState) -> list[Device]:
    """One entry per target, the last snapshot given winning."""
    latest = {snap.target: snap for snap in state.snapshots}
    return [Device.of(state, snap) for snap in latest.values()]


def global_families(state: ExporterState) -> list[GaugeMetricFamily | CounterMetricFamily]:
    """The exporter-wide series, in GLOBAL_FAMILIES order. Unknown values are left out."""
    out = {family: family.new() for family in GLOBAL_FAMILIES}

    def add(family: Family, value: float | None, *labels: str) -> None:
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
    for attr, family in zip(DISCOVERY_FIELDS, DISCOVERY_TRAFFIC, strict=True):
        add(family, getattr(disc, attr))
    add(RELOAD_OK, 1.0 if state.config_last_reload_successful else 0.0)
    add(RELOAD_TIME, state.config_last_reload_success_timestamp_seconds)
    add(RELOADS, state.config_reloads_total)
    for file, not_after in sorted(state.tls_certificate_expiry.items()):
        add(TLS_EXPIRY, not_after, _label(file))
    for reason, count in sorted(state.snmp_dropped_datagrams.items()):
        add(DROPPED, count, reason)
    return list(out.values())
