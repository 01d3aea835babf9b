"""One conversation at a time per host, and no lock kept for a host nobody reads."""

from __future__ import annotations

import asyncio

from exporter.hostlock import HostLocks


async def test_one_holder_per_host_and_hosts_do_not_wait_for_each_other() -> None:
    locks = HostLocks()
    order: list[str] = []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def hold(host: str, name: str, *, first: bool = False) -> None:
        async with locks.hold(host):
            order.append(f"{name} in")
            if first:
                first_in.set()
                await release.wait()
            order.append(f"{name} out")

    a = asyncio.create_task(hold("127.0.0.1", "a", first=True))
    await first_in.wait()
    b = asyncio.create_task(hold("127.0.0.1", "b"))  # same host: waits for a
    await hold("127.0.0.2", "c")  # another host: goes through while a holds
    assert order == ["a in", "c in", "c out"]
    assert len(locks) == 1
    release.set()
    await asyncio.gather(a, b)
    assert order == ["a in", "c in", "c out", "a out", "b in", "b out"]
    assert len(locks) == 0  # nobody holds or waits: nothing kept


async def test_a_cancelled_waiter_leaves_nothing_behind() -> None:
    locks = HostLocks()
    entered = asyncio.Event()

    async def hold_forever() -> None:
        async with locks.hold("127.0.0.1"):
            entered.set()
            await asyncio.Event().wait()

    holder = asyncio.create_task(hold_forever())
    await entered.wait()
    waiter = asyncio.create_task(hold_forever())
    await asyncio.sleep(0)
    for task in (waiter, holder):
        task.cancel()
    await asyncio.gather(holder, waiter, return_exceptions=True)
    assert len(locks) == 0
