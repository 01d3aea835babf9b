"""Prometheus metrics, built afresh from the latest device snapshots on every scrape.

Why a custom collector and not a Gauge per device: series are derived from
the immutable snapshots each time, so a device that leaves the config loses
its series on the next scrape by itself, and a device that stops answering
shows `printer_up 0` and its last-success time but no stale levels or
counters. Nothing here talks to a printer.

One module a job:

- `families`: every metric name, type, labels and HELP.
- `series`: the builders that turn the state (`exporter.state`) into series,
  one `Group` per part of a device's data, and the exporter-wide ones.
- `collector`: `SnapshotCollector` and `render(state)`, through prometheus_client's own
  generators: the reference, but it formats every sample on every call.
- `text`: `MetricsRenderer`, the same bytes cached per device and per group, in text
  0.0.4 or OpenMetrics; this is what `/metrics` serves. Also the process families.

Label values come from agents, so each is cut to `MAX_LABEL_CHARS` and made
valid UTF-8 before it is exposed; both paths escape the rest the same way.
IP masking, if wanted, happens upstream in the snapshots.
"""

from exporter.metrics.collector import SnapshotCollector, render
from exporter.metrics.families import (
    COVER_STATUSES,
    DEVICE_STATUSES,
    MAX_LABEL_CHARS,
    PRINTER_STATUSES,
)
from exporter.metrics.series import DEVICE_FAMILIES, METRIC_NAMES
from exporter.metrics.text import EOF_LINE, MetricsRenderer, format_families, process_families
from exporter.model import SUPPLY_STATES
from exporter.state import (
    BuildInfo,
    DiscoveryStats,
    ExporterState,
    ReaderRunLike,
    TrafficCounts,
    current_build_info,
)

__all__ = [
    "COVER_STATUSES",
    "DEVICE_FAMILIES",
    "DEVICE_STATUSES",
    "EOF_LINE",
    "MAX_LABEL_CHARS",
    "METRIC_NAMES",
    "PRINTER_STATUSES",
    "SUPPLY_STATES",
    "BuildInfo",
    "DiscoveryStats",
    "ExporterState",
    "MetricsRenderer",
    "ReaderRunLike",
    "SnapshotCollector",
    "TrafficCounts",
    "current_build_info",
    "format_families",
    "process_families",
    "render",
]
