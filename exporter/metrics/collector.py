"""The reference way out: a prometheus_client collector, and `render` through its own
generators (text 0.0.4 or OpenMetrics). Slow for a large fleet, exact by construction;
`text.MetricsRenderer` is held byte-equal to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from exporter.metrics.families import GLOBAL_FAMILIES
from exporter.metrics.series import (
    DEVICE_FAMILIES,
    GROUPS,
    devices_of,
    global_families,
    group_rows,
)
from exporter.metrics.text import exposition
from exporter.state import ExporterState


class SnapshotCollector(Collector):
    """Builds every family from `source()` on each collect: one family object per
    name, one `add_metric` per series, nothing kept between calls."""

    def __init__(self, source: Callable[[], ExporterState]) -> None:
        self._source = source

    def describe(self) -> Iterator[Metric]:
        """Names only, so registering never calls `source` and clashes show at once."""
        for family in (*GLOBAL_FAMILIES, *DEVICE_FAMILIES):
            yield family.new()

    def collect(self) -> Iterator[Metric]:
        state = self._source()
        yield from global_families(state)
        metrics = {family: family.new() for family in DEVICE_FAMILIES}
        for dev in devices_of(state):
            for group in GROUPS:
                for family, rows in zip(group.families, group_rows(group, dev), strict=True):
                    add_metric = metrics[family].add_metric
                    for labels, value in rows:
                        add_metric(labels, value)
        yield from metrics.values()


def render(state: ExporterState, *, openmetrics: bool = False) -> bytes:
    """The exposition of `state` through prometheus_client itself: the reference output.
    Nothing is cached; `MetricsRenderer` serves large fleets with the same bytes."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(lambda: state))
    return exposition(registry, openmetrics=openmetrics)
