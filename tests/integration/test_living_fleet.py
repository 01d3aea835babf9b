"""The demo's living printers (demo/living.py) against the real snmpsim on loopback.

The recordings are written at a fast pace (`PACE` seconds a step), so that meters,
supplies, the jam and the wrap all move within seconds. Every wait is a bounded loop
of reads; nothing here asserts how fast anything happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from demo.__main__ import DEMO_V3, FLEET, credentials
from demo.living import (
    ALERT_ENTRY,
    HP_ENGINE,
    HP_TOTAL_START,
    HR_DEVICE_STATUS,
    HR_ERROR_STATE,
    JAM_ALERT_INDEX,
    JAM_CYCLE,
    LIFE_COUNT,
    SUPPLY_LEVEL,
    VARIATION_DIR,
    WRAP_WIDTH,
    write_recordings,
)
from demo.simulator import Simulator, discover_engine_id, snmp_get
from exporter.config import PollConfig
from exporter.device import read_device
from exporter.model import CounterEvent
from exporter.poller import Poller, PollTarget
from exporter.snmp import SnmpOptions, community, connect, parse_oid
from exporter.store import SnapshotStore
from tests.conftest import FIXTURES

pytestmark = pytest.mark.integration

PACE = 0.1
"""Seconds per step here (the demo uses 5)."""
MAX_READS = 4 * JAM_CYCLE * 2
"""Reads at half a step apart: four whole jam cycles, far more than any story needs."""
DEADLINE = 40.0
"""Seconds any one wait may take, whatever the machine's load."""
FAST = PollConfig(
    interval=30.0, jitter=0.0, timeout=1.0, retries=1, concurrency=4, walk_timeout=10.0
)
OPTIONS = SnmpOptions(timeout=1.0, retries=1)
T = TypeVar("T")


def until(read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """`read()` every half step until `done` holds; fails after MAX_READS or DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    for _ in range(MAX_READS):
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(PACE / 2)
    pytest.fail(f"never happened within {MAX_READS} reads; last read {value!r}")


@pytest.fixture(scope="module")
def living(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    data = tmp_path_factory.mktemp("living")
    write_recordings(FIXTURES, data, ["color_mfp", "mono_printer"], PACE)
    with Simulator(data, [("127.0.0.1", None)], variation_dirs=[VARIATION_DIR]) as sim:
        yield sim


def value(sim: Simulator, name: str, oid: str) -> object:
    response = snmp_get(sim.host, sim.port, name, oid)
    assert response is not None, f"{name} did not answer for {oid}"
    return response.varbinds[0].value


def test_a_meter_rises(living: Simulator) -> None:
    first = value(living, "mono_printer", LIFE_COUNT)
    assert isinstance(first, int)
    later = until(lambda: value(living, "mono_printer", LIFE_COUNT), lambda v: v != first)
    assert isinstance(later, int)
    assert later > first


def test_a_supply_level_falls(living: Simulator) -> None:
    toner = f"{SUPPLY_LEVEL}.1"
    first = value(living, "mono_printer", toner)
    assert isinstance(first, int)
    later = until(lambda: value(living, "mono_printer", toner), lambda v: v != first)
    assert isinstance(later, int)
    assert later < first


def test_colour_and_mono_add_up_to_both_totals(living: Simulator) -> None:
    """prtMarkerLifeCount = HP engine total = mono + colour, read in one step (a read whose
    parts straddle a step is told by reading again and getting something else)."""
    oids = [LIFE_COUNT, *(f"{HP_ENGINE}.{i}.0" for i in (5, 6, 7))]

    def read() -> tuple[object, ...]:
        return tuple(value(living, "color_mfp", oid) for oid in oids)

    seen = []
    for _ in range(MAX_READS):
        first, second = read(), read()
        if first == second:
            seen.append(first)
        if len({s[0] for s in seen}) >= 2:
            break
    assert len({s[0] for s in seen}) >= 2, "the total never moved"
    for total, engine, mono, colour in seen:
        assert total == engine
        assert isinstance(mono, int)
        assert isinstance(colour, int)
        assert mono + colour == total


def test_the_jam_comes_and_goes(living: Simulator) -> None:
    alert_code = f"{ALERT_ENTRY}.7.1.{JAM_ALERT_INDEX}"

    def state() -> tuple[object, object, object]:
        code = snmp_get(living.host, living.port, "mono_printer", alert_code)
        assert code is not None
        jam = code.varbinds[0].value if code.varbinds[0].tag == 0x02 else None
        errors = value(living, "mono_printer", HR_ERROR_STATE)
        return jam, errors, value(living, "mono_printer", HR_DEVICE_STATUS)

    # Each read is three GETs, so one can straddle the jam's start or end: wait for a read
    # that agrees with itself, then check what it says.
    jammed = until(state, lambda s: s[0] is not None and s[1] != b"\x00" and s[2] != 2)
    assert jammed == (8, b"\x04", 5)  # prtAlertCode jam, the jammed bit, hrDeviceStatus down
    cleared = until(state, lambda s: s[0] is None and s[1] == b"\x00")
    assert cleared == (None, b"\x00", 2)  # running


async def test_the_exporter_reads_the_jam_as_an_alert_and_an_error(living: Simulator) -> None:
    """The same jam through the exporter's readers: what the landing page shows."""
    client = await connect(living.host, living.port, [community("m", "mono_printer")], OPTIONS)
    for _ in range(MAX_READS):  # until a poll that does not straddle the jam's start or end
        snap = (await read_device(client)).snapshot
        if snap.alerts and snap.status.errors:
            break
        await asyncio.sleep(PACE / 2)
    (alert,) = snap.alerts
    assert (alert.code, alert.severity) == ("jam", "critical")
    assert "jammed" in snap.status.errors


async def test_the_wrap_keeps_the_exposed_total_monotonic(tmp_path: Path) -> None:
    write_recordings(FIXTURES, tmp_path, ["color_mfp"], PACE)
    poller = Poller(store := SnapshotStore(), FAST)
    with Simulator(tmp_path, [("127.0.0.1", None)], variation_dirs=[VARIATION_DIR]) as sim:
        target = f"{sim.host}:{sim.port}"
        poller.configure(
            FAST, [PollTarget(sim.host, sim.port, (community("c", "color_mfp"),), target)]
        )
        raw: list[int] = []
        exposed: list[int] = []
        events: tuple[CounterEvent, ...] = ()
        for _ in range(MAX_READS):
            await poller.cycle()
            snap = store.entries()[0].snapshot
            total = snap.counter("total")
            assert total is not None, snap.error
            raw.append(total.value)
            exposed.append(total.running_total)
            events = tuple(e for e in snap.counter_events if e.counter == "total")
            if events:
                break
            await asyncio.sleep(PACE / 2)
    assert raw[0] >= HP_TOTAL_START, "the first poll came after the wrap"
    assert [e.kind for e in events] == ["wrap"]
    assert raw[-1] < raw[-2]  # the device's meter went down across 2^24 ...
    assert exposed == sorted(exposed)  # ... and the exposed one never did
    assert exposed[-1] == raw[-1] + WRAP_WIDTH


@pytest.fixture(scope="module")
def v3_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    (printer,) = [p for p in FLEET if p.v3_only]
    data = tmp_path_factory.mktemp("v3")
    write_recordings(FIXTURES, data, [printer.recording], PACE)
    with Simulator(
        data,
        [("127.0.0.1", None)],
        v3_users=[DEMO_V3],
        v3_empty_context=printer.recording,
        variation_dirs=[VARIATION_DIR],
        v3_only=True,
    ) as sim:
        yield sim


def test_the_v3_only_printer_ignores_every_community(v3_only: Simulator) -> None:
    for name in ("snmpv3", "public", "self", ""):
        assert snmp_get(v3_only.host, v3_only.port, name, timeout=0.5) is None
    assert discover_engine_id(v3_only.host, v3_only.port) == v3_only.engine_id


async def test_the_v3_only_printer_answers_authpriv_and_its_meter_rises(
    v3_only: Simulator,
) -> None:
    (printer,) = [p for p in FLEET if p.v3_only]
    creds = credentials(printer)
    assert creds.security_level == "authPriv"
    client = await connect(v3_only.host, v3_only.port, [creds], OPTIONS)
    oid = parse_oid(LIFE_COUNT)
    first = (await client.get([oid]))[oid]
    later = first
    for _ in range(MAX_READS):
        await asyncio.sleep(PACE / 2)
        later = (await client.get([oid]))[oid]
        if later != first:
            break
    assert isinstance(first, int)
    assert isinstance(later, int)
    assert later > first


def test_a_v3_only_agent_needs_a_user_and_variation_dirs_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs at least one SNMPv3 user"):
        Simulator(FIXTURES, v3_only=True)
    with pytest.raises(ValueError, match="not a directory"):
        Simulator(FIXTURES, variation_dirs=[tmp_path / "missing"])
