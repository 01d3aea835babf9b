"""Drain the outbox into the archive, oldest batch first, one at a time.

    uploader = Uploader(outbox, archive, config.upload, stats)
    wait = await uploader.drain()      # None: empty; else seconds until the next try

A batch leaves the outbox only after a 2xx. What happens otherwise:

- TransientError (the archive is down, busy, or the TLS handshake failed): the
  batch stays first in line and `drain` returns how long to wait: exponential
  backoff with full jitter, never less than the archive's Retry-After.
- AgentRefused (401, 403, 404, 407, a redirect): the same, logged as an error;
  no batch is to blame, so none is dead-lettered.
- BatchRefused (any other 4xx): this batch moves to the dead-letter table and
  the next one is sent at once.

One at a time and in order, because the archive computes meter differences
between consecutive readings: a batch from yesterday must not arrive after one
from today when it can be helped. After a crash mid-request the same batch is
sent again with the same key; the archive answers 200 for a key it already has
and stores nothing, so a retry is never a duplicate.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from pull_sync.archive import ArchiveClient
from pull_sync.backoff import next_delay
from pull_sync.config import UploadConfig
from pull_sync.errors import (
    AgentRefused,
    ArchiveError,
    BatchRefused,
    OutboxError,
    TlsError,
    TransientError,
)
from pull_sync.metrics import Stats
from pull_sync.outbox import Outbox

log = logging.getLogger("pull_sync.upload")


class Uploader:
    def __init__(
        self,
        outbox: Outbox,
        archive: ArchiveClient,
        config: UploadConfig,
        stats: Stats,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._outbox = outbox
        self._archive = archive
        self._config = config
        self._stats = stats
        self._clock = clock
        self._monotonic = monotonic
        self._rand = rand
        self.failures = 0
        """Consecutive failed tries; the backoff exponent. Reset by any 2xx."""
        self._delivered: list[int] = []
        """Batches the archive confirmed that could not be removed (a full disk): skipped,
        so each is sent once per process, and removed as soon as the disk allows."""

    async def drain(self, limit: int | None = None) -> float | None:
        """Send batches until the outbox is empty (None) or a try fails (seconds to wait).

        `limit` bounds the batches sent in this call (default: those queued now).
        """
        self._forget_delivered()
        budget = limit if limit is not None else self._outbox.pending() + 1
        for _ in range(budget):
            batch = self._outbox.oldest(after=self._delivered[-1] if self._delivered else 0)
            if batch is None:
                return None
            started = self._monotonic()
            try:
                result = await self._archive.upload(batch.key, batch.body)
            except BatchRefused as error:
                self._observe(started, "dead_letter")
                log.error("batch %s refused, moved to the dead-letter table: %s", batch.key, error)
                self._outbox.dead_letter(batch, error.status, str(error))
                continue
            except (TransientError, AgentRefused) as error:
                self._observe(started, _result(error))
                return self._failed(batch.id, batch.key, error)
            self._observe(started, "duplicate" if result.duplicate else "ok")
            self.failures = 0
            self._stats.uploaded_batches += 1
            self._stats.uploaded_snapshots += batch.snapshots
            self._stats.uploaded_bytes += len(batch.body)
            self._stats.last_upload_success = self._clock()
            try:
                self._outbox.delete(batch.id)
            except OutboxError as error:
                # Delivered but still queued. Skip it from now on; if we crash first, it
                # is sent again and answered as a duplicate. Nothing is lost either way.
                log.error(
                    "batch %s delivered but not removed from the outbox: %s", batch.key, error
                )
                self._delivered.append(batch.id)
        return 0.0 if self._outbox.pending() > len(self._delivered) else None

    def _forget_delivered(self) -> None:
        while self._delivered:
            try:
                self._outbox.delete(self._delivered[0])
            except OutboxError:
                return
            self._delivered.pop(0)

    def _failed(self, batch_id: int, key: str, error: ArchiveError) -> float:
        retry_after = error.retry_after if isinstance(error, TransientError) else None
        delay = self._delay(retry_after)
        level = logging.ERROR if isinstance(error, AgentRefused | TlsError) else logging.WARNING
        log.log(
            level,
            "upload of batch %s failed (%d in a row), next try in %.1f s: %s",
            key,
            self.failures,
            delay,
            error,
        )
        try:
            self._outbox.record_failure(batch_id, str(error))
        except OutboxError as failure:
            log.error("%s", failure)
        return delay

    def _delay(self, retry_after: float | None) -> float:
        self.failures += 1
        return next_delay(
            self.failures - 1,
            retry_after,
            self._config.backoff_base,
            self._config.backoff_max,
            self._rand,
        )

    def _observe(self, started: float, result: str) -> None:
        self._stats.upload_seconds.observe(max(self._monotonic() - started, 0.0))
        self._stats.upload_attempts[result] += 1


def _result(error: ArchiveError) -> str:
    if isinstance(error, TlsError):
        return "tls"
    if isinstance(error, AgentRefused):
        return "agent_refused"
    return "retry"
