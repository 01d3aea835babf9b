"""The snapshot store: what a device keeps when it goes down, and when it leaves."""

from __future__ import annotations

from exporter.device import DeviceRead, ReaderRun
from exporter.metrics import TrafficCounts
from exporter.model import Snapshot
from exporter.store import SnapshotStore


def _read(target: str, reachable: bool) -> DeviceRead:
    snap = Snapshot(target=target, taken_at="t", duration_seconds=0.1, reachable=reachable)
    return DeviceRead(snap, (ReaderRun("identity", 0.05, reachable),))


def test_a_device_that_stops_answering_keeps_its_last_success() -> None:
    store = SnapshotStore()
    store.record(_read("a:161", True), TrafficCounts(packets_sent=3), now=100.0)
    entry = store.record(
        _read("a:161", False), TrafficCounts(packets_sent=2, timeouts=2), now=160.0
    )
    assert entry.snapshot.reachable is False
    assert entry.last_success == 100.0
    assert entry.last_good is not None
    assert entry.last_good.reachable is True
    assert entry.traffic == TrafficCounts(packets_sent=5, timeouts=2)


def test_a_device_never_reached_has_no_last_success() -> None:
    store = SnapshotStore()
    entry = store.record(_read("b:161", False), TrafficCounts(), now=5.0)
    assert entry.last_success is None
    assert entry.last_good is None


def test_retain_forgets_devices_that_left_and_bumps_the_generation() -> None:
    store = SnapshotStore()
    for target in ("a:161", "b:161", "c:161"):
        store.record(_read(target, True), TrafficCounts(), now=1.0)
    generation = store.generation
    store.retain(["b:161"])
    assert [e.snapshot.target for e in store.entries()] == ["b:161"]
    assert store.generation > generation
    assert store.get("a:161") is None
    assert len(store) == 1


def test_entries_are_sorted_by_target() -> None:
    store = SnapshotStore()
    for target in ("c:161", "a:161", "b:161"):
        store.record(_read(target, True), TrafficCounts(), now=1.0)
    assert [e.snapshot.target for e in store.entries()] == ["a:161", "b:161", "c:161"]
