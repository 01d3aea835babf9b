"""The running exporter: config, poller, discovery and web server on one asyncio loop.

`Service` owns the config and everything built from it. A reload (SIGHUP or
`POST /-/reload`) parses the new file first and swaps it in only when it is
good; a bad file leaves the old config in force and shows in
`printer_exporter_config_last_reload_successful`, as snmp_exporter does.

Privacy: with `privacy.mask_ips`, every target leaves the process masked
(metrics, pages, the snapshot API). The store keeps the real address, since
the poller needs it; the mapping back exists only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from exporter.config import (
    Config,
    ConfigError,
    format_host_port,
    in_shard,
    load_config,
    parse_host_port,
)
from exporter.device import read_device
from exporter.discovery import Discovery
from exporter.ledger import MeterLedger
from exporter.metrics import (
    EOF_LINE,
    ExporterState,
    MetricsRenderer,
    format_families,
    process_families,
)
from exporter.model import Snapshot
from exporter.poller import Poller, PollTarget, snmp_options
from exporter.profiles import ProfileError, default_database
from exporter.snmp import TRANSPORT_STATS, SnmpError, connect
from exporter.store import DeviceEntry, SnapshotStore

log = logging.getLogger(__name__)

_RENDER_EVERY = 1.0


class ProbeRefused(ValueError):
    """The service will not probe this target (not allowed by the config, or malformed).

    The message is one line, shown to the HTTP client as the reason for a 400.
    """


class Service:
    def __init__(
        self,
        config: Config,
        config_path: Path | None = None,
        *,
        ledger: MeterLedger | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.store = SnapshotStore()
        self.poller = Poller(self.store, config.poll, ledger=ledger)
        self.discovery = Discovery(config.discovery, config)
        self.reloads_total = 0
        self.last_reload_ok = True
        self.last_reload_success = time.time()
        self._state: tuple[tuple[object, ...], ExporterState] | None = None
        self._reload_lock = asyncio.Lock()
        self.tls_certificate_expiry: Mapping[str, float] = {}
        """notAfter of the web server's certificate by file, read at start-up (daemon.py)."""
        self._renderer = MetricsRenderer()
        self._apply(config)

    # -- config ------------------------------------------------------------------

    def poll_targets(self, config: Config) -> list[PollTarget]:
        """Configured targets plus discovered ones, cut to this exporter's shard.

        A device that is both configured and found by a sweep stays configured:
        it keeps its own credential sets, never the range's (`credentials_allowed`).
        """
        targets = [
            PollTarget(t.host, t.port, config.credential_sets(t.credentials), t.address)
            for t in config.targets
        ]
        configured = {t.address for t in targets}
        targets += [t for t in self.discovery.poll_targets() if t.address not in configured]
        return [t for t in targets if in_shard(t.address, config.shard)]

    def _apply(self, config: Config) -> None:
        """Swap in a checked config. Raises ProfileError (nothing changed) if its profile
        override directory does not load."""
        default_database.cache_clear()
        self.poller.profiles = default_database(config.profiles.override_dir)
        self.poller.pjl_rule = config.pjl_allowed
        self.poller.ews_rule = config.ews_allowed
        self.poller.icmp = config.icmp
        self.config = config
        self.discovery.configure(config.discovery, config)
        self.poller.configure(config.poll, self.poll_targets(config))

    def refresh_targets(self) -> None:
        """Discovery found new devices: add them to the poll set."""
        self.poller.configure(self.config.poll, self.poll_targets(self.config))

    async def reload(self) -> tuple[bool, str]:
        """Reload the config file, one reload at a time (SIGHUP and `POST /-/reload`).

        Sharing a burst of requests and rate-limiting them is the web layer's
        job (`exporter.web.limits.ReloadGate`); a reload never wakes the poller
        for a cycle (`Poller.configure` polls only newcomers).
        """
        async with self._reload_lock:
            return await self._reload_now()

    async def _reload_now(self) -> tuple[bool, str]:
        self.reloads_total += 1
        if self.config_path is None:
            self.last_reload_ok = False
            return False, "no --config.file to reload"
        try:
            config = await asyncio.to_thread(load_config, self.config_path)
            self._apply(config)
        except (ConfigError, ProfileError) as exc:
            self.last_reload_ok = False
            log.error("config reload failed, keeping the old config: %s", exc)
            return False, str(exc)
        self.last_reload_ok = True
        self.last_reload_success = time.time()
        log.info("config reloaded from %s", self.config_path)
        return True, f"reloaded {self.config_path}"

    # -- what the web layer reads -----------------------------------------------

    def _mask(self, target: str) -> str:
        return self.config.privacy.mask(target)

    def _masked_snapshot(self, snap: Snapshot) -> Snapshot:
        masked = self._mask(snap.target)
        return snap if masked == snap.target else dataclasses.replace(snap, target=masked)

    def _masked_entry(self, entry: DeviceEntry) -> DeviceEntry:
        if not self.config.privacy.mask_ips:
            return entry
        good = entry.last_good
        return dataclasses.replace(
            entry,
            snapshot=self._masked_snapshot(entry.snapshot),
            last_good=self._masked_snapshot(good) if good is not None else None,
        )

    def entries(self) -> Sequence[DeviceEntry]:
        return [self._masked_entry(e) for e in self.store.entries()]

    def entry(self, target: str) -> DeviceEntry | None:
        for entry in self.store.entries():
            if self._mask(entry.snapshot.target) == target:
                return self._masked_entry(entry)
        return None

    def ready(self) -> bool:
        return self.poller.ready()

    def _state_key(self) -> tuple[object, ...]:
        """Everything `state()` depends on that can change: equal keys, equal states."""
        return (
            self.store.generation,
            self.poller.cycles_total,
            self.poller.last_cycle_duration,
            self.discovery.stats,
            self.reloads_total,
            self.last_reload_ok,
            self.config,
            tuple(sorted(self.tls_certificate_expiry.items())),
            (TRANSPORT_STATS.malformed, TRANSPORT_STATS.unmatched),
        )

    def state(self) -> ExporterState:
        """The exporter's state, the same object until something changes, so renders cache."""
        key = self._state_key()
        if self._state is None or self._state[0] != key:
            self._state = (key, self._build_state())
        return self._state[1]

    async def metrics_body(self, *, openmetrics: bool = False) -> bytes:
        """The exposition of the current state, rendered in a thread (the loop keeps polling),
        and the exporter process's own families (CPU, memory, files), read now.

        `MetricsRenderer` returns the previous bytes for the same state object and
        re-formats only devices whose snapshot changed, so with `_prerender` keeping
        it current a scrape pays for at most a second's worth of polls.
        """
        body = await asyncio.to_thread(self._render, self.state(), openmetrics)
        process = format_families(process_families(), openmetrics=openmetrics)
        if openmetrics:
            return body.removesuffix(EOF_LINE) + process + EOF_LINE
        return body + process

    def _render(self, state: ExporterState, openmetrics: bool) -> bytes:
        return self._renderer.render(state, openmetrics=openmetrics)

    async def _prerender(self, stop: asyncio.Event) -> None:
        """Keep the render cache current as polls land, at most every `_RENDER_EVERY` s."""
        rendered: ExporterState | None = None
        while not stop.is_set():
            state = self.state()
            if state is not rendered:
                await asyncio.to_thread(self._renderer.render, state)
                rendered = state
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=_RENDER_EVERY)

    def _build_state(self) -> ExporterState:
        entries = self.entries()
        return ExporterState(
            snapshots=[e.snapshot for e in entries],
            last_success={
                e.snapshot.target: e.last_success for e in entries if e.last_success is not None
            },
            reader_runs={e.snapshot.target: e.readers for e in entries},
            traffic={e.snapshot.target: e.traffic for e in entries},
            counter_regressions={
                e.snapshot.target: dict(e.regressions) for e in entries if e.regressions
            },
            counter_events_total={
                e.snapshot.target: {(c, kind): n for c, kind, n in e.events_total}
                for e in entries
                if e.events_total
            },
            poll_cycles_total=self.poller.cycles_total,
            poll_cycle_duration_seconds=self.poller.last_cycle_duration,
            poll_interval_seconds=self.config.poll.interval,
            discovery=self.discovery.stats,
            config_last_reload_successful=self.last_reload_ok,
            config_last_reload_success_timestamp_seconds=self.last_reload_success,
            config_reloads_total=self.reloads_total,
            tls_certificate_expiry=self.tls_certificate_expiry,
            snmp_dropped_datagrams={
                "malformed": TRANSPORT_STATS.malformed,
                "unmatched": TRANSPORT_STATS.unmatched,
            },
        )

    async def probe(self, target: str, params: Mapping[str, str]) -> Snapshot:
        """A synchronous read for `/probe`, limited to what the config lets this agent poll.

        An open probe endpoint would let anyone who reaches the port make the
        agent send SNMP anywhere; so a target must be configured, or inside a
        discovery range, and the credential set must be one defined locally.
        """
        try:
            host, port = parse_host_port(target, self.config.discovery.port)
        except ValueError as exc:
            raise ProbeRefused(f"target {exc}") from None
        address = format_host_port(host, port)
        sets = self.config.credentials_allowed(host, port)
        if sets is None:
            raise ProbeRefused(
                f"target {address!r} is not a configured target, nor in a discovery range"
                f" on the discovery port ({self.config.discovery.port})"
            )
        if "credentials" in params:
            wanted = params["credentials"]
            sets = tuple(c for c in sets if c.name == wanted)
            if not sets:
                raise ProbeRefused(f"credential set {wanted!r} is not allowed for {address!r}")
        try:
            client = await connect(host, port, sets, snmp_options(self.config.poll))
        except SnmpError as exc:
            return Snapshot(
                target=self._mask(address),
                taken_at="",
                duration_seconds=0.0,
                reachable=False,
                error=str(exc),
            )
        snap = (await read_device(client)).snapshot
        return self._masked_snapshot(dataclasses.replace(snap, target=address))

    # -- running -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and sweep until `stop`; SIGHUP reloads the config."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals here
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        tasks = [
            asyncio.create_task(self.poller.run(stop), name="poller"),
            asyncio.create_task(self.discovery.run(stop, self.refresh_targets), name="discovery"),
            asyncio.create_task(self._prerender(stop), name="prerender"),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.poller.ledger.save()
