"""`render(state)`, byte for byte, cached: the text that `/metrics` serves.

A snapshot is immutable and most of a device's series do not change between polls, so
text is kept per device and per group of families (`series.Group`) and formatted again
only when its inputs change. Both exposition formats share the cached sample lines:
text 0.0.4 and OpenMetrics differ, for our families, only in a counter's HELP/TYPE
header (the name without `_total`), in HELP escaping, and in the closing `# EOF`.
Numbers are formatted by prometheus_client's own `floatToGoString`, so the bytes follow
whichever version is installed; a unit test holds the two renderers equal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from prometheus_client.exposition import generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from exporter.metrics.families import Family
from exporter.metrics.series import DEVICE_FAMILIES, GROUPS, Device, Group, devices_of
from exporter.metrics.series import global_families as build_global_families
from exporter.state import ExporterState

EOF_LINE: Final = b"# EOF\n"
"""OpenMetrics ends every exposition with this line."""


def _go_float(value: float) -> str:
    """A sample value as prometheus_client writes it; small integers without the call."""
    if value.__class__ is int and -(10**15) < value < 1_000_000:
        return f"{value}.0"  # what repr(float(value)) gives, without the float
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]  # untyped upstream
    return text


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _template(family: Family) -> str:
    """A `str.format` template of one sample line: labels sorted by name, as
    `generate_latest` writes them, each taken by its position in the row."""
    order = sorted(range(len(family.labels)), key=family.labels.__getitem__)
    pairs = ",".join(f'{family.labels[i]}="{{{i}}}"' for i in order)
    return f"{family.name}{{{{{pairs}}}}} {{{len(family.labels)}}}\n"


def _header(family: Family, openmetrics: bool) -> bytes:
    if openmetrics:
        name = family.name.removesuffix("_total") if family.kind == "counter" else family.name
        doc = _escape(family.help)
    else:
        name, doc = family.name, family.help.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {family.kind}\n".encode()


_TEMPLATES: Final = {family: _template(family) for family in DEVICE_FAMILIES}
_HEADERS: Final = {
    openmetrics: tuple(_header(family, openmetrics) for family in DEVICE_FAMILIES)
    for openmetrics in (False, True)
}


def _text(group: Group, dev: Device) -> tuple[bytes, ...]:
    """The group's lines for one device, one fragment per family, formatted straight
    from the builders' `add` calls (no row tuples: this is the hot path)."""
    lines: dict[Family, list[str]] = {family: [] for family in group.families}
    target = _escape(dev.snap.target)

    def add(family: Family, value: float, *labels: str) -> None:
        if labels:
            joined = "".join(labels)
            if '"' in joined or "\\" in joined or "\n" in joined:
                labels = tuple(map(_escape, labels))
        text = _FAST_VALUES.get(value) or _go_float(value)
        lines[family].append(_TEMPLATES[family].format(target, *labels, text))

    group.build(dev, add)
    return tuple("".join(family_lines).encode() for family_lines in lines.values())


_FAST_VALUES: Final[Mapping[float, str]] = {0.0: "0.0", 1.0: "1.0"}
"""The commonest values (state sets, flags). Both paths turn -0.0 into 0.0 first."""


@dataclass(frozen=True, slots=True)
class _Cached:
    dev: Device
    keys: tuple[object, ...]
    texts: tuple[tuple[bytes, ...], ...]
    """Per group, per family."""
    flat: tuple[bytes, ...]
    """Per family, in DEVICE_FAMILIES order."""


def _cache_entry(dev: Device, old: _Cached | None) -> _Cached:
    """The device's text, reusing each group of `old` whose key compares equal."""
    keys = tuple(group.key(dev) for group in GROUPS)
    texts = tuple(
        old.texts[i] if old is not None and old.keys[i] == key else _text(group, dev)
        for i, (group, key) in enumerate(zip(GROUPS, keys, strict=True))
    )
    return _Cached(dev, keys, texts, tuple(text for group in texts for text in group))


class MetricsRenderer:
    """`collector.render(state)`, byte for byte, with text cached between scrapes at three
    levels.

    - A device is looked at again only when its snapshot is a new object or
      its self-state changed.
    - Then only the groups of families whose inputs changed (`Group.key`,
      by value) are formatted again: a new poll usually changes counters and
      timings, not identity, status, supplies or trays.
    - A family's samples (all devices) are joined again only when one of its
      device fragments changed or the device list did.

    Targets absent from `state` leave the cache on the same call, so memory
    follows the fleet: about twice the body size (device fragments plus
    sections). Concurrent scrapes take turns.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}
        self._bodies: list[bytes] = [b"" for _ in DEVICE_FAMILIES]
        self._last: dict[bool, tuple[ExporterState, bytes]] = {}

    def render(self, state: ExporterState, *, openmetrics: bool = False) -> bytes:
        """The whole exposition: text 0.0.4, or OpenMetrics ending in `# EOF`.

        The same state object gives the same bytes without any work: the service
        hands out one state object until something changes, so repeated scrapes
        between polls cost nothing however large the fleet.
        """
        last = self._last.get(openmetrics)
        if last is not None and last[0] is state:
            return last[1]
        chunks = self.render_chunks(state, openmetrics=openmetrics)
        body = b"".join([*chunks, EOF_LINE] if openmetrics else chunks)
        self._last[openmetrics] = (state, body)
        return body

    def render_chunks(self, state: ExporterState, *, openmetrics: bool = False) -> list[bytes]:
        """The body in pieces (OpenMetrics without its `# EOF`), for a server that writes
        them without joining them first, or appends more families."""
        with self._lock:
            old, cache = self._cache, {}
            changed: set[int] = set()
            for dev in devices_of(state):
                target = dev.snap.target
                entry = previous = old.get(target)
                if entry is None or entry.dev.snap is not dev.snap or entry.dev != dev:
                    entry = _cache_entry(dev, entry)
                    if previous is not None:
                        changed.update(
                            slot
                            for slot, (new, was) in enumerate(
                                zip(entry.flat, previous.flat, strict=True)
                            )
                            if new is not was
                        )
                cache[target] = entry
            if list(cache) != list(old):  # devices came, went or moved
                changed = set(range(len(DEVICE_FAMILIES)))
            self._cache = cache
            entries = list(cache.values())
            for slot in sorted(changed):
                self._bodies[slot] = b"".join([entry.flat[slot] for entry in entries])
            chunks = [format_families(build_global_families(state), openmetrics=openmetrics)]
            for header, body in zip(_HEADERS[openmetrics], self._bodies, strict=True):
                chunks.append(header)
                chunks.append(body)
            return chunks


class _Once(Collector):
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def format_families(metrics: Iterable[Metric], *, openmetrics: bool = False) -> bytes:
    """A few families through prometheus_client's own generators (OpenMetrics without its
    `# EOF`, for a body that goes on): exact for free where speed does not matter."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Once(metrics))
    return exposition(registry, openmetrics=openmetrics).removesuffix(EOF_LINE)


def exposition(registry: CollectorRegistry, *, openmetrics: bool = False) -> bytes:
    """prometheus_client's own generator for the format asked (its OpenMetrics one is
    untyped upstream, hence the one ignore)."""
    if openmetrics:
        body: bytes = generate_openmetrics(registry)  # type: ignore[no-untyped-call]
        return body
    return generate_latest(registry)


def process_families() -> list[Metric]:
    """The exporter process itself (CPU, memory, open files, start time; Python and GC), as
    client_python's default registry shows them. Read at each scrape, so never cached."""
    return list(_PROCESS.collect())


_PROCESS: Final = CollectorRegistry(auto_describe=False)
ProcessCollector(registry=_PROCESS)
PlatformCollector(registry=_PROCESS)
GCCollector(registry=_PROCESS)
