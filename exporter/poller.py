"""The schedule: poll every known device once per interval, keep the latest snapshot of each.

A cycle starts every `interval`. Within it each device waits a random delay
of up to `jitter x interval` before its poll, so a thousand printers are not
asked in the same second, and at most `concurrency` polls run at once. Every
poll has a deadline of its own (a printer that answers slowly must not hold
the cycle), and a cycle that overruns its interval delays the next instead of
overlapping it.

The poll set can change at any moment (a reload, a sweep). The set in force is
the only truth: a device that left it is not polled again, even by a cycle
that started before, and its late answer is dropped rather than stored, so a
removed target never comes back. A device that joined is polled at once; the
others keep their schedule, so a reload never costs an extra cycle.

`/metrics` never waits for any of this: it reads the store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from exporter.config import EwsSettings, IcmpConfig, PjlConfig, PollConfig
from exporter.device import DeviceRead, read_device, utc_now
from exporter.ews import EwsClient, read_ews
from exporter.icmp import Echo, Pinger, reachability
from exporter.integrity import meter_changes, total_mismatch, withhold_decreased
from exporter.ledger import MeterLedger
from exporter.model import Snapshot
from exporter.pjl import PjlClient, read_pjl
from exporter.profiles import Database, default_database
from exporter.snmp import (
    CredentialMemory,
    Credentials,
    SnmpAuthError,
    SnmpClient,
    SnmpError,
    SnmpOptions,
    connect,
)
from exporter.state import TRAFFIC_FIELDS, TrafficCounts
from exporter.store import DeviceEntry, SnapshotStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollTarget:
    """One device in the poll set: where it is and which credential sets to try."""

    host: str
    port: int
    credentials: tuple[Credentials, ...]
    address: str
    """The canonical `host:port`: the store key and the `target` label."""


PjlRule = Callable[[str, int], PjlConfig | None]
"""Whether and how a device polled at (host, port) may be read over PJL: `Config.pjl_allowed`."""

EwsRule = Callable[[str, int], EwsSettings | None]
"""Whether and how the web server of a device polled at (host, port) may be read:
`Config.ews_allowed`."""

Connect = Callable[
    [str, int, Sequence[Credentials], SnmpOptions, CredentialMemory], Awaitable[SnmpClient]
]


def snmp_options(poll: PollConfig) -> SnmpOptions:
    return SnmpOptions(
        timeout=poll.timeout,
        retries=poll.retries,
        max_repetitions=poll.max_repetitions,
        walk_timeout=poll.walk_timeout,
    )


def traffic_of(client: SnmpClient | None) -> TrafficCounts:
    """The metrics' view of what a client sent and received."""
    if client is None:
        return TrafficCounts()
    stats = client.stats
    return TrafficCounts(**{name: getattr(stats, name) for name in TRAFFIC_FIELDS})


class Poller:
    def __init__(
        self,
        store: SnapshotStore,
        poll: PollConfig,
        *,
        connect_fn: Connect = connect,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        ledger: MeterLedger | None = None,
    ) -> None:
        self.store = store
        self._poll = poll
        self._connect = connect_fn
        self._clock = clock
        self._rng = rng or random.Random()
        self._targets: tuple[PollTarget, ...] = ()
        self._current: dict[str, PollTarget] = {}
        """The poll set in force, by address: what `cycle` and `poll_once` check against."""
        self.ledger = ledger or MeterLedger()
        """Each device's meters as last read and their wrap offsets; in memory unless given
        a file (`--storage.path`)."""
        self.profiles: Database | None = None
        """The vendor profile database; None means the one shipped with the exporter."""
        self.pjl_rule: PjlRule | None = None
        """Where PJL may fill what SNMP left empty; None (the default) means nowhere."""
        self._pjl = PjlClient()
        self.ews_rule: EwsRule | None = None
        """Where the embedded web server may fill what SNMP left empty; None means nowhere."""
        self._ews = EwsClient()
        self._icmp = IcmpConfig()
        self._pinger: Pinger | None = Pinger()
        self._memory = CredentialMemory()
        self._wake = asyncio.Event()
        self.cycles_total = 0
        self.last_cycle_duration: float | None = None
        self.first_cycle_done = asyncio.Event()
        self.started_at: float | None = None
        """monotonic() when `run` began, for readiness (`ready`)."""

    @property
    def targets(self) -> tuple[PollTarget, ...]:
        return self._targets

    @property
    def interval(self) -> float:
        return self._poll.interval

    def configure(self, poll: PollConfig, targets: Sequence[PollTarget]) -> None:
        """Replace the schedule and the poll set (config reload, discovery).

        Devices that left the set lose their snapshot now; devices that joined it
        (or whose credential sets changed) are polled at once, the rest keep their
        schedule. The first target listed for an address wins, so callers put the
        configured targets before the discovered ones.
        """
        self._poll = poll
        unique: dict[str, PollTarget] = {}
        for target in targets:
            unique.setdefault(target.address, target)
        joined = any(self._current.get(a) != t for a, t in unique.items())
        self._current = unique
        self._targets = tuple(unique[a] for a in sorted(unique))
        self.store.retain(unique)
        if joined:
            self._wake.set()

    @property
    def icmp(self) -> IcmpConfig:
        return self._icmp

    @icmp.setter
    def icmp(self, settings: IcmpConfig) -> None:
        """A reload that keeps the settings keeps the pinger, and with it what this
        process learnt about ICMP sockets (no second warning)."""
        if settings == self._icmp:
            return
        self._icmp = settings
        if not settings.enabled:
            self._pinger = None
            return
        still = self._pinger is None or self._pinger.available
        self._pinger = Pinger(count=settings.count, timeout=settings.timeout)
        self._pinger.available = still

    def in_force(self, target: PollTarget) -> bool:
        """Whether `target` is still in the poll set, with the same credential sets."""
        return self._current.get(target.address) == target

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle every interval until `stop`; between cycles, poll newcomers at once."""
        self.started_at = time.monotonic()
        while not stop.is_set():
            started = time.monotonic()
            self._wake.clear()
            await self.cycle(jitter=True)
            while not stop.is_set():
                remaining = self._poll.interval - (time.monotonic() - started)
                if remaining <= 0:
                    break
                await first_of(stop, self._wake, timeout=remaining)
                if self._wake.is_set() and not stop.is_set():
                    self._wake.clear()
                    await self._poll_newcomers()

    async def _poll_newcomers(self) -> None:
        """Poll the devices that joined since the last cycle and have no snapshot yet."""
        newcomers = [
            t
            for t in self._targets
            if (entry := self.store.get(t.address)) is None or entry.polled_with != t.credentials
        ]
        await self._poll_all(newcomers, spread=0.0)

    async def cycle(self, *, jitter: bool = False) -> None:
        """Poll every target once, at most `concurrency` at a time."""
        started = time.monotonic()
        spread = self._poll.interval * self._poll.jitter if jitter else 0.0
        await self._poll_all(self._targets, spread)
        self.cycles_total += 1
        self.last_cycle_duration = time.monotonic() - started
        self.first_cycle_done.set()

    async def _poll_all(self, targets: Sequence[PollTarget], spread: float) -> None:
        gate = asyncio.Semaphore(self._poll.concurrency)

        async def one(target: PollTarget) -> None:
            if spread:
                await asyncio.sleep(self._rng.uniform(0, spread))
            async with gate:
                if self.in_force(target):  # a reload may have removed it meanwhile
                    await self.poll_once(target)

        await asyncio.gather(*(one(t) for t in targets))

    def ready(self) -> bool:
        """Whether the exporter has something to show: after the first cycle, or after one
        poll deadline at most, so a fleet of dead devices does not hold readiness for the
        many minutes their timeouts add up to."""
        if self.first_cycle_done.is_set():
            return True
        return (
            self.started_at is not None and time.monotonic() - self.started_at >= self._deadline()
        )

    async def poll_once(self, target: PollTarget) -> DeviceEntry | None:
        """Poll one device, whatever happens, and store the result; None when the device
        left the poll set while it was being read (the read is dropped, not stored)."""
        deadline = self._deadline()
        client: SnmpClient | None = None
        started = time.perf_counter()
        pinger = self._pinger
        echo = asyncio.create_task(pinger.ping(target.host)) if pinger else None
        refused = False
        try:
            async with asyncio.timeout(deadline):
                client = await self._connect(
                    target.host,
                    target.port,
                    target.credentials,
                    snmp_options(self._poll),
                    self._memory,
                )
                floor = self.ledger.running(target.address, "total")
                read = await read_device(client, self.profiles, total_floor=floor)
        except SnmpError as exc:
            read = _failed(target, str(exc), started)
            refused = isinstance(exc, SnmpAuthError)
        except TimeoutError:
            read = _failed(
                target, f"{target.address}: poll exceeded its {deadline:g}s deadline", started
            )
        snmp_answered = read.snapshot.reachable
        read = await self._pjl_fallback(target, read)
        read = await self._ews_fallback(target, read)
        read = _with_reach(read, snmp_answered, refused, await echo if echo else None)
        if read.snapshot.target != target.address:
            # One key per device, however the transport spells the address.
            read = DeviceRead(
                dataclasses.replace(read.snapshot, target=target.address), read.readers
            )
        if not read.snapshot.reachable:
            log.debug("poll of %s failed: %s", target.address, read.snapshot.error)
        if not self.in_force(target):
            log.debug("%s left the poll set during its poll; dropping the read", target.address)
            return None
        read = self._check_meters(read)
        entry = self.store.record(read, traffic_of(client), self._clock(), target.credentials)
        await self.ledger.flush()
        return entry

    async def _pjl_fallback(self, target: PollTarget, read: DeviceRead) -> DeviceRead:
        """SNMP first; PJL only for its gaps, and only where the config enables it
        (exporter/pjl/fallback.py). It has a deadline of its own (`pjl.timeout`)."""
        settings = self.pjl_rule(target.host, target.port) if self.pjl_rule else None
        if settings is None or not self.in_force(target):
            return read
        return await read_pjl(read, target.host, settings.port, self._pjl, settings.timeout)

    async def _ews_fallback(self, target: PollTarget, read: DeviceRead) -> DeviceRead:
        """SNMP (and PJL) first; the web server only for the gaps its profile's `ews:` pages
        can fill, only where the config enables it (exporter/ews/fallback.py), within
        `ews.timeout` of its own."""
        settings = self.ews_rule(target.host, target.port) if self.ews_rule else None
        if settings is None or not self.in_force(target):
            return read
        database = self.profiles or default_database()
        floor = self.ledger.running(target.address, "total")
        read, _ = await read_ews(
            read, target.host, settings, self._ews, database.get, total_floor=floor
        )
        return read

    def _check_meters(self, read: DeviceRead) -> DeviceRead:
        """Compare this read's meters with the device's last; withhold any that went down,
        and carry each meter's wrap offset (the ledger's) so the exposed meter only rises.

        A decreased meter is never published as a read (the event is, in the
        snapshot and in `printer_exporter_counter_regressions_total`). The
        ledger keeps every meter as read now, over the old values, so that a
        meter missing from one poll keeps its history, across restarts too.
        """
        snap = read.snapshot
        if not snap.counters:
            return read
        changes = meter_changes(self.ledger.baseline(snap.target) or None, snap.counters)
        self.ledger.observe(snap.target, snap.counters, changes)
        kept = withhold_decreased(snap.counters, changes)
        published = self.ledger.with_offsets(snap.target, kept)
        events = (*changes, *total_mismatch(published))
        for event in events:
            log.warning("%s: counter %s: %s", snap.target, event.counter, event.detail)
        checked = dataclasses.replace(snap, counters=published, counter_events=events)
        return DeviceRead(checked, read.readers)

    def _deadline(self) -> float:
        """A poll may take its walk budget plus a few request timeouts, but never an interval."""
        poll = self._poll
        budget = poll.walk_timeout + 4 * poll.timeout * (poll.retries + 1)
        return max(poll.timeout, min(budget, poll.interval))


def _with_reach(read: DeviceRead, answered: bool, refused: bool, echo: Echo | None) -> DeviceRead:
    """The read with how it reached the device: SNMP's outcome (before any PJL fallback,
    which answers on another port) and the echo beside it."""
    reach = reachability(answered, refused, echo)
    return DeviceRead(dataclasses.replace(read.snapshot, reachability=reach), read.readers)


def _failed(target: PollTarget, error: str, started: float) -> DeviceRead:
    snap = Snapshot(
        target=target.address,
        taken_at=utc_now(),
        duration_seconds=round(time.perf_counter() - started, 6),
        reachable=False,
        error=error,
    )
    return DeviceRead(snap, ())


async def first_of(*events: asyncio.Event, timeout: float) -> None:
    """Wait until any of `events` is set, or `timeout` seconds (the poller's and discovery's
    sleeps: a stop, or a change of config, ends them early)."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
