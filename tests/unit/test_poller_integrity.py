"""The poller's meter checks across polls: a meter that goes down is withheld, once."""

from __future__ import annotations

from collections.abc import Sequence

from exporter.config import PollConfig
from exporter.metrics import ExporterState, render
from exporter.poller import Poller, PollTarget
from exporter.snmp import CredentialMemory, Credentials, SnmpClient, SnmpOptions, community
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.snmp.types import Oid, SnmpValue
from exporter.store import DeviceEntry, SnapshotStore
from tests.oracle import FIXTURES

LIFE_COUNT = (1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4, 1, 1)
TARGET = PollTarget("127.0.0.1", 1161, (community("c", "mono_printer"),), "127.0.0.1:1161")


class _Meters:
    """Serves the mono_printer recording with the life count set per poll."""

    def __init__(self, counts: Sequence[int]) -> None:
        self._base = load_snmprec(FIXTURES / "mono_printer.snmprec")
        self._counts = list(counts)

    async def __call__(
        self,
        host: str,
        port: int,
        sets: Sequence[Credentials],
        options: SnmpOptions,
        memory: CredentialMemory,
    ) -> SnmpClient:
        values: dict[Oid, SnmpValue] = {**self._base, LIFE_COUNT: self._counts.pop(0)}
        return MemoryClient(values, target=f"{host}:{port}")


async def _poll(counts: Sequence[int]) -> tuple[Poller, list[DeviceEntry]]:
    poller = Poller(SnapshotStore(), PollConfig(), connect_fn=_Meters(counts))
    poller.configure(PollConfig(), [TARGET])
    entries = []
    for _ in counts:
        entry = await poller.poll_once(TARGET)
        assert entry is not None
        entries.append(entry)
    return poller, entries


async def test_a_decrease_is_withheld_for_one_poll_and_counted() -> None:
    poller, entries = await _poll([1000, 1200, 50, 80])
    totals = [e.snapshot.counter("total") for e in entries]
    assert [t.value if t else None for t in totals] == [1000, 1200, None, 80]
    events = entries[2].snapshot.counter_events
    # The Kyocera profile derives `mono` from `total` on a mono device: both go down.
    assert sorted((e.kind, e.counter, e.previous, e.current) for e in events) == [
        ("decrease", "mono", 1200, 50),
        ("decrease", "total", 1200, 50),
    ]
    assert entries[3].snapshot.counter_events == ()
    entry = poller.store.get(TARGET.address)
    assert entry is not None
    assert dict(entry.regressions) == {"mono": 1, "total": 1}


async def test_a_32_bit_wrap_keeps_the_meter_and_says_so() -> None:
    _, entries = await _poll([2**32 - 100, 20])
    snap = entries[1].snapshot
    total = snap.counter("total")
    assert total is not None
    assert total.value == 20
    assert {(e.kind, e.counter) for e in snap.counter_events} == {
        ("wrap", "total"),
        ("wrap", "mono"),
    }
    assert all("increase 120" in e.detail for e in snap.counter_events)


async def test_events_reach_metrics() -> None:
    poller, _ = await _poll([500, 400])
    entry = poller.store.get(TARGET.address)
    assert entry is not None
    body = render(
        ExporterState(
            snapshots=[entry.snapshot],
            counter_regressions={TARGET.address: dict(entry.regressions)},
        )
    ).decode()
    assert (
        'printer_counter_event{counter="total",kind="decrease",target="127.0.0.1:1161"} 1.0' in body
    )
    assert (
        'printer_exporter_counter_regressions_total{counter="total",target="127.0.0.1:1161"} 1.0'
        in body
    )
    assert 'printer_pages_total{counter="total"' not in body


HP = (1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 4, 2, 1, 4, 1, 2)
HP_TOTAL, HP_MONO, HP_COLOR = (*HP, 5, 0), (*HP, 6, 0), (*HP, 7, 0)
HP_TARGET = PollTarget("127.0.0.1", 1162, (community("c", "hp"),), "127.0.0.1:1162")


class _HpMeters:
    """The HP colour fixture with its Printer-MIB total and HP's own meters set per poll."""

    def __init__(self, reads: Sequence[dict[Oid, int]]) -> None:
        self._base = load_snmprec(FIXTURES / "vendors" / "hp.snmprec")
        self._reads = list(reads)

    async def __call__(
        self,
        host: str,
        port: int,
        sets: Sequence[Credentials],
        options: SnmpOptions,
        memory: CredentialMemory,
    ) -> SnmpClient:
        values: dict[Oid, SnmpValue] = {**self._base, **self._reads.pop(0)}
        return MemoryClient(values, target=f"{host}:{port}")


async def test_a_wrapped_total_keeps_mono_colour_and_its_vendor_twin() -> None:
    """Right after prtMarkerLifeCount rolls over at 2^24, mono and colour are far above its
    raw value: they are real meters still (not a wrong OID), and HP's own total, one step
    behind on the other side of the wrap, agrees with it once both count their wraps."""
    top = 2**24
    reads = [
        {LIFE_COUNT: top - 100, HP_TOTAL: top - 100, HP_MONO: 10_000_000, HP_COLOR: 6_777_116},
        {LIFE_COUNT: 50, HP_TOTAL: top - 10, HP_MONO: 10_000_090, HP_COLOR: 6_777_176},
        {LIFE_COUNT: 80, HP_TOTAL: 80, HP_MONO: 10_000_110, HP_COLOR: 6_777_186},
    ]
    poller = Poller(SnapshotStore(), PollConfig(), connect_fn=_HpMeters(reads))
    poller.configure(PollConfig(), [HP_TARGET])
    snaps = []
    for _ in reads:
        entry = await poller.poll_once(HP_TARGET)
        assert entry is not None
        snaps.append(entry.snapshot)
    exposed = [{c.name: c.running_total for c in s.counters} for s in snaps]
    assert [e.get("mono") for e in exposed] == [10_000_000, 10_000_090, 10_000_110]
    assert [e.get("color") for e in exposed] == [6_777_116, 6_777_176, 6_777_186]
    assert [e["total"] for e in exposed] == [top - 100, top + 50, top + 80]
    assert [e["vendor_total"] for e in exposed] == [top - 100, top - 10, top + 80]
    kinds = [sorted((e.kind, e.counter) for e in s.counter_events) for s in snaps]
    assert kinds == [[], [("wrap", "total")], [("wrap", "vendor_total")]]
    assert not any("exceeds" in w for s in snaps for w in s.warnings)


async def test_a_vendor_total_that_really_disagrees_is_still_reported() -> None:
    reads = [{LIFE_COUNT: 50_000, HP_TOTAL: 60_000, HP_MONO: 30_000, HP_COLOR: 20_000}]
    poller = Poller(SnapshotStore(), PollConfig(), connect_fn=_HpMeters(reads))
    poller.configure(PollConfig(), [HP_TARGET])
    entry = await poller.poll_once(HP_TARGET)
    assert entry is not None
    events = entry.snapshot.counter_events
    assert [(e.kind, e.previous, e.current) for e in events] == [("total_mismatch", 50_000, 60_000)]
