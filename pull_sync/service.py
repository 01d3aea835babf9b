"""The schedule: collect and upload every upload interval, check in every check-in interval.

    sidecar = Sidecar(config, outbox, archive, exporter)
    await sidecar.run(stop)                  # until `stop` is set
    await sidecar.run(stop, once=True)       # one collect, drain, check-in; then return

Two loops share one process and one outbox. The upload loop collects on its
interval and drains the outbox right after; when a try fails, it waits the
backoff the uploader returns (a new collection does not cut a backoff short,
so Retry-After holds). The check-in loop starts at once and then runs every
check-in interval with +-5 % jitter, so a fleet restarted together does not
check in together forever. Intervals set by the last applied bundle win over
the local config.

The parts are passed in, so tests drive them with fakes and a fake clock;
`collect_once` and the uploader's `drain` are the steps those tests call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pull_sync.apply import Applier
from pull_sync.archive import ArchiveClient
from pull_sync.batches import MAX_RAW_BYTES, build_batches
from pull_sync.checkin import Checkin
from pull_sync.config import SidecarConfig
from pull_sync.errors import ExporterError, OutboxError
from pull_sync.exporter_api import ExporterClient
from pull_sync.metrics import Stats
from pull_sync.outbox import Outbox
from pull_sync.upload import Uploader

log = logging.getLogger("pull_sync")

CHECKIN_JITTER = 0.05
T = TypeVar("T")


class Sidecar:
    def __init__(
        self,
        config: SidecarConfig,
        outbox: Outbox,
        archive: ArchiveClient,
        exporter: ExporterClient,
        *,
        stats: Stats | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.exporter = exporter
        self.stats = stats or Stats()
        self._monotonic = monotonic
        self._rand = rand
        self.uploader = Uploader(
            outbox, archive, config.upload, self.stats, clock=clock, monotonic=monotonic, rand=rand
        )
        self.checkin: Checkin | None = None
        if config.signing.public_key is not None:
            applier = Applier(config.exporter.config_file, exporter.reload)
            self.checkin = Checkin(
                archive,
                outbox,
                applier,
                agent=config.agent_name,
                public_key=config.signing.public_key,
                stats=self.stats,
                clock=clock,
            )
        self._clock = clock

    @property
    def upload_interval(self) -> float:
        remote = self.checkin.interval("upload") if self.checkin else None
        return remote or self.config.upload.interval

    @property
    def checkin_interval(self) -> float:
        remote = self.checkin.interval("checkin") if self.checkin else None
        return remote or self.config.checkin.interval

    async def collect_once(self) -> int:
        """Read the exporter's snapshots and queue them; the number queued (0 on failure)."""
        try:
            raw = await self.exporter.snapshots()
            batches = await asyncio.to_thread(
                build_batches, raw, self.config.upload.max_batch_snapshots, MAX_RAW_BYTES
            )
        except ExporterError as error:
            self.stats.collections["error"] += 1
            log.warning("collect failed: %s", error)
            return 0
        del raw
        self.stats.skipped_documents += batches.skipped
        if batches.skipped:
            log.warning(
                "%d documents from the exporter were not printer-snapshot/1", batches.skipped
            )
        if not batches.bodies:
            self.stats.collections["empty"] += 1
            return 0
        try:
            appended = self.outbox.append(batches.bodies)
        except OutboxError as error:
            self.stats.collections["error"] += 1
            self.stats.append_failures += 1
            log.error("collected %d snapshots but cannot queue them: %s", batches.snapshots, error)
            return 0
        if appended.dropped_batches or appended.refused:
            log.warning(
                "outbox full (%d bytes): dropped the %d oldest batches (%d snapshots)%s",
                self.outbox.max_bytes,
                appended.dropped_batches,
                appended.dropped_snapshots,
                f"; {appended.refused} new batches larger than the bound"
                if appended.refused
                else "",
            )
        self.stats.collections["ok"] += 1
        self.stats.collected_snapshots += appended.snapshots
        self.stats.last_collect_success = self._clock()
        return appended.snapshots

    async def run(self, stop: asyncio.Event, *, once: bool = False) -> None:
        if once:
            await self.collect_once()
            await self.uploader.drain()
            if self.checkin is not None:
                await self.checkin.run_once()
            return
        loops = [self._upload_loop(stop)]
        if self.checkin is not None:
            loops.append(self._checkin_loop(stop, self.checkin))
        else:
            log.info("check-in off: no signing.public_key_file in the config")
        await asyncio.gather(*loops)

    async def _upload_loop(self, stop: asyncio.Event) -> None:
        next_collect = self._monotonic()
        upload_at: float | None = None
        while not stop.is_set():
            if self._monotonic() >= next_collect:
                await _guard("collect", self.collect_once())
                next_collect = self._monotonic() + self.upload_interval
                if upload_at is None:
                    upload_at = self._monotonic()
            if upload_at is not None and self._monotonic() >= upload_at:
                delay = await _guard(
                    "upload", self.uploader.drain(), self.config.upload.backoff_max
                )
                upload_at = None if delay is None else self._monotonic() + delay
            deadline = next_collect if upload_at is None else min(next_collect, upload_at)
            await _sleep(stop, deadline - self._monotonic())

    async def _checkin_loop(self, stop: asyncio.Event, checkin: Checkin) -> None:
        while not stop.is_set():
            await _guard("check-in", checkin.run_once())
            spread = 1 + CHECKIN_JITTER * (2 * self._rand() - 1)
            await _sleep(stop, self.checkin_interval * spread)


async def _guard(what: str, step: Awaitable[T], fallback: T | None = None) -> T | None:
    """Run one step of a loop; an error no step expected (a full disk on read, a bug) is
    logged and the loop goes on, so one bad moment does not end the sidecar."""
    try:
        return await step
    except Exception:
        log.exception("%s failed unexpectedly; trying again later", what)
        return fallback


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
