"""One check-in: confirm what is owed, fetch the bundle, verify, apply, confirm back.

    checkin = Checkin(archive, outbox, applier, agent="site-a", public_key=key, stats=stats)
    status = await checkin.run_once()

What is kept in the outbox database (`state` table), so a restart changes nothing:

- `applied_version`, `applied_hash`, `profiles_version`: what the site runs;
  a bundle must be newer than `applied_version`;
- `etag`: the bundle last dealt with, sent as If-None-Match. It is stored for
  a bundle applied, rejected, or refused by the exporter, so a bad bundle is
  reported once and not fetched and refused every hour. It is not stored when
  applying failed for a passing reason (the exporter was down): that bundle is
  tried again next time;
- `upload_interval`, `checkin_interval`: pull_sync's own schedule from the
  last bundle applied (absent: the local config's);
- `pending_status`: a confirmation not yet accepted by the archive. It is
  written before it is sent and removed after the 204, and sent first at the
  next check-in, so the archive learns every outcome even across an outage.

A bundle that cannot be verified is reported with version 0: its version field
is not read before its signature checks out. The hash identifies it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pull_sync.apply import Applier
from pull_sync.archive import ArchiveClient
from pull_sync.bundle import Bundle, envelope_hash, parse_bundle, verify_envelope
from pull_sync.errors import (
    AgentRefused,
    ApplyFailed,
    ArchiveError,
    BatchRefused,
    BundleRejected,
    OutboxError,
)
from pull_sync.metrics import Stats
from pull_sync.outbox import Outbox

log = logging.getLogger("pull_sync.checkin")


class Checkin:
    def __init__(
        self,
        archive: ArchiveClient,
        state: Outbox,
        applier: Applier,
        *,
        agent: str,
        public_key: bytes,
        stats: Stats,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._archive = archive
        self._state = state
        self._applier = applier
        self._agent = agent
        self._key = public_key
        self._stats = stats
        self._clock = clock
        stats.applied_version = self.applied_version
        stats.profiles_version = state.get_state("profiles_version")

    @property
    def applied_version(self) -> int:
        text = self._state.get_state("applied_version")
        return int(text) if text and text.isdigit() else 0

    def interval(self, name: str) -> float | None:
        """pull_sync's own `upload` / `checkin` interval set by the last bundle, if any."""
        text = self._state.get_state(f"{name}_interval")
        try:
            return float(text) if text else None
        except ValueError:
            return None

    async def run_once(self) -> str:
        """One check-in; its status (see metrics.CHECKIN_STATUSES). Never raises for the
        archive's or the bundle's faults: they are logged, counted and reported."""
        status = await self._run()
        self._stats.checkins[status] += 1
        self._stats.last_checkin = self._clock()
        self._stats.last_checkin_status = status
        return status

    async def _run(self) -> str:
        try:
            await self._send_pending()
            fetched = await self._archive.fetch_config(self._state.get_state("etag"))
        except ArchiveError as error:
            level = logging.ERROR if isinstance(error, AgentRefused) else logging.WARNING
            log.log(level, "check-in failed: %s", error)
            return "error"
        except OutboxError as error:
            log.error("check-in failed: %s", error)
            return "error"
        if fetched.status == 304:
            return "unchanged"
        if fetched.status == 404:
            return "none"
        try:
            data = verify_envelope(fetched.body, self._key)
            bundle = parse_bundle(
                data,
                agent=self._agent,
                applied_version=self.applied_version,
                now=datetime.fromtimestamp(self._clock(), UTC),
            )
        except BundleRejected as error:
            return await self._rejected(0, envelope_hash(fetched.body), fetched.etag, error)
        return await self._apply(bundle, fetched.etag)

    async def _apply(self, bundle: Bundle, etag: str | None) -> str:
        try:
            summary = await self._applier.apply(bundle, self._state.get_state("profiles_version"))
        except BundleRejected as error:
            return await self._rejected(bundle.version, bundle.hash, etag, error)
        except ApplyFailed as error:
            log.error("config version %d not applied: %s", bundle.version, error)
            await self._confirm(
                bundle.version,
                bundle.hash,
                "failed",
                str(error),
                ({} if error.retry else {"etag": etag or f'"{bundle.hash}"'}),
            )
            return "failed"
        except OutboxError as error:  # pragma: no cover - state write failures
            log.error("config version %d: %s", bundle.version, error)
            return "error"
        values: dict[str, str | None] = {
            "applied_version": str(bundle.version),
            "applied_hash": bundle.hash,
            "etag": etag or f'"{bundle.hash}"',
            "upload_interval": _number(bundle.upload_interval),
            "checkin_interval": _number(bundle.checkin_interval),
        }
        if bundle.profiles is not None:
            values["profiles_version"] = bundle.profiles.version
        await self._confirm(bundle.version, bundle.hash, "applied", None, values)
        self._stats.applied_version = bundle.version
        if bundle.profiles is not None:
            self._stats.profiles_version = bundle.profiles.version
        log.info("config version %d applied: %s", bundle.version, summary)
        return "applied"

    async def _rejected(
        self, version: int, bundle_hash: str, etag: str | None, error: BundleRejected
    ) -> str:
        log.error("config bundle %s rejected: %s", bundle_hash[:19], error)
        await self._confirm(
            version, bundle_hash, "failed", str(error), {"etag": etag or f'"{bundle_hash}"'}
        )
        return "rejected"

    async def _confirm(
        self,
        version: int,
        bundle_hash: str,
        status: str,
        error: str | None,
        state: dict[str, str | None],
    ) -> None:
        """Persist the outcome with the confirmation owed, then try to send it."""
        pending = json.dumps(
            {"version": version, "hash": bundle_hash, "status": status, "error": error}
        )
        try:
            self._state.set_state({**state, "pending_status": pending})
        except OutboxError as failure:
            log.error("cannot save the check-in state: %s", failure)
        try:
            await self._send_pending()
        except ArchiveError as failure:
            log.warning("confirmation not sent, will be sent at the next check-in: %s", failure)
        except OutboxError as failure:
            log.error("%s", failure)

    async def _send_pending(self) -> None:
        text = self._state.get_state("pending_status")
        if text is None:
            return
        try:
            owed = json.loads(text)
            version, bundle_hash = int(owed["version"]), str(owed["hash"])
            status, error = str(owed["status"]), owed.get("error")
        except (ValueError, KeyError, TypeError):
            self._state.set_state({"pending_status": None})
            return
        try:
            await self._archive.report(
                version, bundle_hash, status, None if error is None else str(error)
            )
        except BatchRefused as refused:
            # The archive will never take this one; keeping it would block every check-in.
            log.error("the archive refused the confirmation of version %d: %s", version, refused)
        self._state.set_state({"pending_status": None})


def _number(value: float | None) -> str | None:
    return None if value is None else repr(value)
