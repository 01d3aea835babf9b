"""The poll set under reloads: removed targets never come back, a reload flood costs no cycle.

Replays two findings of the attack run. A reload during a poll cycle brought
removed targets back (the cycle polled the list it started with, and stored
their answers after the reload had dropped them); and every reload woke the
poller for a whole extra cycle, so 220 reloads in a minute tripled the SNMP
traffic. The agents are in-memory clients, so these tests send nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path

from exporter.config import PollConfig, load_config
from exporter.poller import Poller, PollTarget
from exporter.service import Service
from exporter.snmp import CredentialMemory, Credentials, SnmpClient, SnmpOptions, community
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.store import SnapshotStore
from tests.oracle import FIXTURES

POLL = PollConfig(interval=3600.0, jitter=0.0, timeout=1.0, concurrency=4)
CREDS = (community("c", "mono_printer"),)


def _target(index: int) -> PollTarget:
    host = f"127.4.0.{index}"
    return PollTarget(host, 161, CREDS, f"{host}:161")


class _SlowFleet:
    """Connects to any address after a random short delay; records who was asked."""

    def __init__(self, seed: int) -> None:
        self._values = load_snmprec(FIXTURES / "mono_printer.snmprec")
        self._rng = random.Random(seed)
        self.asked: list[str] = []

    async def __call__(
        self,
        host: str,
        port: int,
        sets: Sequence[Credentials],
        options: SnmpOptions,
        memory: CredentialMemory,
    ) -> SnmpClient:
        self.asked.append(f"{host}:{port}")
        await asyncio.sleep(self._rng.uniform(0, 0.01))
        return MemoryClient(self._values, target=f"{host}:{port}")


async def test_reloads_in_the_middle_of_cycles_never_resurrect_a_target() -> None:
    rng = random.Random(7)
    fleet = _SlowFleet(seed=7)
    store = SnapshotStore()
    poller = Poller(store, POLL, connect_fn=fleet)
    everyone = [_target(i) for i in range(1, 41)]
    poller.configure(POLL, everyone)
    for _ in range(30):
        cycle = asyncio.create_task(poller.cycle())
        for _ in range(3):
            await asyncio.sleep(rng.uniform(0, 0.02))
            kept = rng.sample(everyone, rng.randint(0, len(everyone)))
            poller.configure(POLL, kept)
            allowed = {t.address for t in kept}
            asked_before = len(fleet.asked)
            assert {e.snapshot.target for e in store.entries()} <= allowed
            await asyncio.sleep(rng.uniform(0, 0.02))
            # Polls already connecting may finish, but nothing outside the set is stored,
            # and no poll of a removed target starts after the reload.
            assert {e.snapshot.target for e in store.entries()} <= allowed
            assert set(fleet.asked[asked_before:]) <= allowed
        await cycle
        assert {e.snapshot.target for e in store.entries()} <= allowed
    await poller.cycle()
    assert {e.snapshot.target for e in store.entries()} == allowed


async def test_a_reload_flood_costs_no_extra_cycle_and_newcomers_are_polled_at_once() -> None:
    fleet = _SlowFleet(seed=1)
    store = SnapshotStore()
    poll = PollConfig(interval=3600.0, jitter=0.0, timeout=1.0, concurrency=4)
    poller = Poller(store, poll, connect_fn=fleet)
    first = [_target(i) for i in range(1, 6)]
    poller.configure(poll, first)
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run(stop))
    try:
        await asyncio.wait_for(poller.first_cycle_done.wait(), timeout=30)
        assert len(fleet.asked) == 5
        for _ in range(220):  # the same config again and again: nothing new to poll
            poller.configure(poll, first)
            await asyncio.sleep(0)
        await asyncio.sleep(0.2)
        assert poller.cycles_total == 1
        assert len(fleet.asked) == 5
        newcomer = _target(9)
        poller.configure(poll, [*first, newcomer])
        for _ in range(200):  # bounded wait for the newcomer's poll
            if store.get(newcomer.address) is not None:
                break
            await asyncio.sleep(0.05)
        assert store.get(newcomer.address) is not None
        assert poller.cycles_total == 1
        assert fleet.asked[5:] == [newcomer.address]
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)


async def test_concurrent_reloads_run_one_at_a_time(tmp_path: Path) -> None:
    """SIGHUP and `POST /-/reload` may overlap: each reload reads and applies the file whole,
    one after another (the web layer shares and rate-limits bursts: tests/web/test_limits.py).
    """
    config_file = tmp_path / "printer-exporter.yml"
    config_file.write_text("poll: {interval: 1h}\n")
    service = Service(load_config(config_file), config_file)
    running = 0
    most = 0
    reload_now = service._reload_now

    async def counting() -> tuple[bool, str]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await reload_now()  # reads the file in a thread: other tasks run meanwhile
        finally:
            running -= 1

    service._reload_now = counting  # type: ignore[method-assign]
    results = await asyncio.gather(*(service.reload() for _ in range(20)))
    assert all(ok for ok, _ in results)
    assert service.reloads_total == 20
    assert most == 1
    config_file.write_text("poll: {interval: 2h}\n")
    ok, _ = await service.reload()
    assert ok
    assert service.config.poll.interval == 7200.0


async def test_ready_does_not_wait_for_a_fleet_of_dead_devices() -> None:
    """564 dead targets held `/-/ready` at 503 for 144 s: readiness waited for the whole
    first cycle. It now waits for one poll deadline at most."""
    never = asyncio.Event()

    async def dead(*_: object) -> SnmpClient:
        await never.wait()
        raise AssertionError("unreachable")

    poll = PollConfig(
        interval=600.0, jitter=0.0, timeout=0.1, retries=0, walk_timeout=1.0, concurrency=1
    )
    poller = Poller(SnapshotStore(), poll, connect_fn=dead)
    poller.configure(poll, [_target(i) for i in range(1, 101)])
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run(stop))
    try:
        assert not poller.ready()
        for _ in range(600):  # bounded; the deadline here is 1.4 s, the cycle 140 s
            if poller.ready():
                break
            await asyncio.sleep(0.05)
        assert poller.ready()
        assert not poller.first_cycle_done.is_set()
    finally:
        stop.set()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
