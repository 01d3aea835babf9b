"""The latest snapshot per device, and what the exporter knows about each device's polls.

The poller writes, and `/metrics`, the web pages and `/api/v1/snapshot` read,
so a scrape never waits for a printer. Entries are immutable and replaced
whole, so a reader on another thread (a scrape served by the web server)
always sees one consistent entry per device.

What a device keeps when it stops answering (DESIGN.md): its last-success
time, and `up 0`. What it keeps when it leaves the poll set: nothing; the
next collect no longer shows it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exporter.model import DeviceRead, ReaderRun, Snapshot
from exporter.snmp.credentials import Credentials
from exporter.state import TRAFFIC_FIELDS, TrafficCounts


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    snapshot: Snapshot
    readers: tuple[ReaderRun, ...]
    last_success: float | None
    """Unix time of the last poll that reached the device; kept while it is down."""
    last_good: Snapshot | None
    """The last snapshot that reached the device, for pages that show stale data as stale."""
    traffic: TrafficCounts
    """SNMP traffic to this device since the exporter started."""
    events_total: tuple[tuple[str, str, int], ...] = ()
    """(counter, kind, times) of every meter integrity event since the exporter started."""
    polled_with: tuple[Credentials, ...] = ()
    """The credential sets the last poll was allowed to try: a change means poll again now."""

    @property
    def regressions(self) -> tuple[tuple[str, int], ...]:
        """(counter, times it went backwards) since the exporter started."""
        return tuple((c, n) for c, kind, n in self.events_total if kind == "decrease")


class SnapshotStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, DeviceEntry] = {}
        self.generation = 0
        """Bumped on every change, so renderers can cache by it."""

    def record(
        self,
        read: DeviceRead,
        traffic: TrafficCounts,
        now: float,
        polled_with: tuple[Credentials, ...] = (),
    ) -> DeviceEntry:
        """Store one poll's result; `traffic` is what this poll sent and received."""
        snap = read.snapshot
        with self._lock:
            old = self._entries.get(snap.target)
            reached = snap.reachable
            events = {(c, kind): n for c, kind, n in old.events_total} if old else {}
            for event in snap.counter_events:
                key = (event.counter, event.kind)
                events[key] = events.get(key, 0) + 1
            entry = DeviceEntry(
                snapshot=snap,
                readers=read.readers,
                last_success=now if reached else (old.last_success if old else None),
                last_good=snap if reached else (old.last_good if old else None),
                traffic=_add(old.traffic, traffic) if old else traffic,
                events_total=tuple((c, kind, n) for (c, kind), n in sorted(events.items())),
                polled_with=polled_with,
            )
            self._entries[snap.target] = entry
            self.generation += 1
            return entry

    def retain(self, targets: Iterable[str]) -> None:
        """Forget every device not in `targets` (removed from the config or the shard)."""
        keep = set(targets)
        with self._lock:
            gone = [t for t in self._entries if t not in keep]
            for target in gone:
                del self._entries[target]
            if gone:
                self.generation += 1

    def get(self, target: str) -> DeviceEntry | None:
        with self._lock:
            return self._entries.get(target)

    def entries(self) -> Sequence[DeviceEntry]:
        """Every device, sorted by target so pages and metrics are stable."""
        with self._lock:
            return [self._entries[t] for t in sorted(self._entries)]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _add(a: TrafficCounts, b: TrafficCounts) -> TrafficCounts:
    return TrafficCounts(**{name: getattr(a, name) + getattr(b, name) for name in TRAFFIC_FIELDS})
