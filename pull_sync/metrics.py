"""pull_sync's own metrics: a plain `Stats` the loops update, and a collector that reads it.

Why a custom collector over a `Stats` object rather than global prometheus
objects: the outbox figures live in SQLite and survive restarts (a counter of
dropped batches must not fall back to zero), so they are read from the
outbox's cached stats on each scrape, and everything else is plain attributes
that tests can read without a registry. The registry is our own, never the
global one.

Series (all prefixed `pull_sync_`):

    outbox_batches, outbox_bytes, outbox_snapshots, outbox_max_bytes,
    outbox_file_bytes, outbox_oldest_batch_timestamp_seconds
    outbox_dropped_batches_total, outbox_dropped_snapshots_total   (persisted)
    dead_letter_batches, dead_letters_total                        (persisted)
    quarantine_records, quarantined_total                          (persisted)
    outbox_append_failures_total
    collections_total{result}, collected_snapshots_total, skipped_documents_total,
    last_collect_success_timestamp_seconds
    upload_attempts_total{result}, upload_duration_seconds (histogram),
    uploaded_batches_total, uploaded_snapshots_total, uploaded_bytes_total,
    last_upload_success_timestamp_seconds
    checkins_total{result}, last_checkin_timestamp_seconds,
    last_checkin_status{status}
    config_applied_version, profiles_info{version}
    archive_latest_agent_info{version}, build_info{version}
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

from pull_sync import __version__
from pull_sync.outbox import OutboxStats

log = logging.getLogger("pull_sync")

UPLOAD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
CHECKIN_STATUSES = ("applied", "unchanged", "none", "rejected", "failed", "error")
"""Outcomes of a check-in: a bundle applied; 304; no bundle published (404); a bundle
refused by our checks; a good bundle the exporter did not take; no answer."""


@dataclass
class Histogram:
    buckets: tuple[float, ...] = UPLOAD_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(UPLOAD_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


@dataclass
class Stats:
    """Counters and last-seen values, updated by the collect, upload and check-in loops."""

    collections: Counter[str] = field(default_factory=Counter)
    collected_snapshots: int = 0
    skipped_documents: int = 0
    last_collect_success: float | None = None
    append_failures: int = 0
    upload_attempts: Counter[str] = field(default_factory=Counter)
    upload_seconds: Histogram = field(default_factory=Histogram)
    uploaded_batches: int = 0
    uploaded_snapshots: int = 0
    uploaded_bytes: int = 0
    last_upload_success: float | None = None
    checkins: Counter[str] = field(default_factory=Counter)
    last_checkin: float | None = None
    last_checkin_status: str | None = None
    applied_version: int = 0
    profiles_version: str | None = None
    latest_agent: str | None = None

    def announce_latest_agent(self, version: str) -> None:
        """Record the archive's newest agent release; log it once per new value."""
        if version != self.latest_agent:
            self.latest_agent = version
            if version != __version__:
                log.info(
                    "the archive announces pull-sync %s (this is %s); update with pip, the"
                    " image or the package manager (docs/pull_sync.md)",
                    version,
                    __version__,
                )


class StatsCollector(Collector):
    def __init__(self, stats: Stats, outbox: Callable[[], OutboxStats], max_bytes: int) -> None:
        self._stats = stats
        self._outbox = outbox
        self._max_bytes = max_bytes

    def collect(self) -> Iterable[Metric]:
        s, o = self._stats, self._outbox()
        yield _gauge("outbox_batches", "Batches waiting in the outbox.", o.batches)
        yield _gauge("outbox_bytes", "Compressed bytes waiting in the outbox.", o.bytes)
        yield _gauge("outbox_snapshots", "Snapshots waiting in the outbox.", o.snapshots)
        yield _gauge("outbox_max_bytes", "The outbox bound (outbox.max_bytes).", self._max_bytes)
        yield _gauge("outbox_file_bytes", "Outbox database and WAL size on disk.", o.file_bytes)
        if o.oldest_created is not None:
            yield _gauge(
                "outbox_oldest_batch_timestamp_seconds",
                "When the oldest waiting batch was queued.",
                o.oldest_created,
            )
        yield _counter(
            "outbox_dropped_batches",
            "Batches dropped, oldest first, because the outbox was full.",
            o.counter("dropped_batches"),
        )
        yield _counter(
            "outbox_dropped_snapshots",
            "Snapshots in the batches dropped because the outbox was full.",
            o.counter("dropped_snapshots"),
        )
        yield _gauge(
            "dead_letter_batches", "Batches in the dead-letter table.", o.dead_letter_batches
        )
        yield _counter(
            "dead_letters", "Batches the archive refused for good (4xx).", o.counter("dead_letters")
        )
        yield _gauge("quarantine_records", "Records in the quarantine table.", o.quarantine_records)
        yield _counter(
            "quarantined", "Corrupt outbox records moved to quarantine.", o.counter("quarantined")
        )
        yield _counter(
            "outbox_append_failures",
            "Collections that could not be queued (e.g. disk full).",
            s.append_failures,
        )
        yield _labelled_counter(
            "collections", "Snapshot collections from the exporter.", "result", s.collections
        )
        yield _counter(
            "collected_snapshots", "Snapshots collected and queued.", s.collected_snapshots
        )
        yield _counter(
            "skipped_documents",
            "Documents from the exporter that were not printer-snapshot/1 (not queued).",
            s.skipped_documents,
        )
        if s.last_collect_success is not None:
            yield _gauge(
                "last_collect_success_timestamp_seconds",
                "When snapshots were last collected.",
                s.last_collect_success,
            )
        yield _labelled_counter(
            "upload_attempts",
            "Batch uploads by result: ok, duplicate, retry, tls, agent_refused, dead_letter.",
            "result",
            s.upload_attempts,
        )
        histogram = HistogramMetricFamily(
            "pull_sync_upload_duration_seconds", "Time per batch upload attempt, answered or not."
        )
        histogram.add_metric([], s.upload_seconds.cumulative(), s.upload_seconds.total)
        yield histogram
        yield _counter("uploaded_batches", "Batches the archive confirmed.", s.uploaded_batches)
        yield _counter(
            "uploaded_snapshots", "Snapshots in the batches confirmed.", s.uploaded_snapshots
        )
        yield _counter(
            "uploaded_bytes", "Compressed body bytes of the batches confirmed.", s.uploaded_bytes
        )
        if s.last_upload_success is not None:
            yield _gauge(
                "last_upload_success_timestamp_seconds",
                "When the archive last confirmed a batch.",
                s.last_upload_success,
            )
        yield _labelled_counter("checkins", "Check-ins by result.", "result", s.checkins)
        if s.last_checkin is not None:
            yield _gauge(
                "last_checkin_timestamp_seconds", "When the last check-in ended.", s.last_checkin
            )
        status = GaugeMetricFamily(
            "pull_sync_last_checkin_status",
            "1 for the outcome of the last check-in.",
            labels=["status"],
        )
        for name in CHECKIN_STATUSES:
            status.add_metric([name], 1.0 if s.last_checkin_status == name else 0.0)
        yield status
        yield _gauge(
            "config_applied_version",
            "Version of the last config bundle applied (0: none).",
            s.applied_version,
        )
        if s.profiles_version is not None:
            yield _info("profiles", "Profile database version delivered.", s.profiles_version)
        if s.latest_agent is not None:
            yield _info(
                "archive_latest_agent",
                "Newest pull-sync release the archive announces.",
                s.latest_agent,
            )
        yield _info("build", "This pull-sync's version.", __version__)


def build_registry(
    stats: Stats, outbox: Callable[[], OutboxStats], max_bytes: int
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(stats, outbox, max_bytes))
    return registry


def serve_metrics(registry: CollectorRegistry, listen_address: str) -> Callable[[], None]:
    """Serve the registry on `listen_address` (loopback, checked by the config) in a
    thread; return the function that stops it.

    prometheus_client's own server: no HTTP code of ours. It runs on a thread, and
    that is safe here: a scrape reads plain attributes of `Stats` and the outbox's
    immutable `OutboxStats`, never SQLite.
    """
    host, _, port = listen_address.rpartition(":")
    server, thread = start_http_server(int(port), host.strip("[]"), registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"pull_sync_{name}", doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"pull_sync_{name}", doc, value=value)


def _labelled_counter(name: str, doc: str, label: str, values: Counter[str]) -> CounterMetricFamily:
    family = CounterMetricFamily(f"pull_sync_{name}", doc, labels=[label])
    for key in sorted(values):
        family.add_metric([key], values[key])
    return family


def _info(name: str, doc: str, version: str) -> InfoMetricFamily:
    return InfoMetricFamily(f"pull_sync_{name}", doc, value={"version": version})
