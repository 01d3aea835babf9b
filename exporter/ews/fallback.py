"""EWS as a fallback source: fill what SNMP and the profile's SNMP OIDs left empty, and only that.

SNMP stays first. After a device's SNMP read (and any PJL), `read_ews` looks
at the device's profile (`identity.profile`, or the target's `ews.profile`
when SNMP could not say) and asks its web server for exactly the pages that
would fill a gap: a counter the profile's `ews:` pages name that the snapshot
lacks, an identity field that is empty, a cartridge without its part number or
serial. A device whose read was complete gets no request at all.

Every value keeps its origin: counters carry `source` `http:<path>#<selector>`;
identity fields and supply part numbers and serials are listed in the
snapshot's `sources` (`{"field": "supplies[1].serial", "source": "http:..."}`).
A page that fails costs only its values, with an `ews: ...` warning; the poll
and every SNMP value stand. The run is timed as reader `ews`, so it shows in
`printer_exporter_reader_duration_seconds` and `_success`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from exporter.config import EwsSettings
from exporter.ews.client import EwsClient, Fetched, Page
from exporter.ews.documents import Document, parse
from exporter.ews.errors import EwsError
from exporter.model import Counter, DeviceRead, Identity, ReaderRun, Snapshot, Supply, ValueSource
from exporter.profiles.engine import part_meter_limit, supply_id_text
from exporter.profiles.model import (
    SUBSET_OF_TOTAL,
    EwsPage,
    EwsSpec,
    EwsSupplies,
    EwsValue,
    Profile,
)
from exporter.profiles.transforms import as_int, as_text

READER = "ews"
_MARKERS = frozenset({"toner", "ink"})


def source(path: str, value: EwsValue | str) -> str:
    return f"http:{path}#{value}"


def wanted(snapshot: Snapshot, spec: EwsSpec) -> tuple[EwsPage, ...]:
    """The pages that would fill a gap the SNMP read left, in the profile's order."""
    return tuple(page for page in spec.pages if _fills_gap(snapshot, page))


def _fills_gap(snapshot: Snapshot, page: EwsPage) -> bool:
    if any(snapshot.counter(c.name) is None for c in page.counters):
        return True
    if any(getattr(snapshot.identity, name) is None for name in page.identity):
        return True
    for spec in page.supplies:
        for supply in snapshot.supplies:
            if supply.type not in _MARKERS and not spec.types:
                continue
            if (spec.part_number and supply.part_number is None) or (
                spec.serial and supply.serial is None
            ):
                return True
    return False


async def read_ews(
    read: DeviceRead,
    host: str,
    settings: EwsSettings,
    client: EwsClient,
    profiles: Callable[[str], Profile | None],
    *,
    total_floor: int | None = None,
) -> tuple[DeviceRead, Fetched | None]:
    """`read` with its gaps filled from the device's web server; unchanged when the profile
    has no `ews:` pages or nothing is missing. Also what the exchange cost (None: none).
    `total_floor` is the device's total as last exposed (see `part_meter_limit`)."""
    name = read.snapshot.identity.profile or settings.profile
    profile = profiles(name) if name else None
    if profile is None or profile.ews is None:
        return read, None
    pages = wanted(read.snapshot, profile.ews)
    if not pages:
        return read, None
    started = time.perf_counter()
    merging = _Merging(read.snapshot, {page.path: page for page in pages}, total_floor)
    fetched = await client.fetch(
        host, settings, [page.path for page in pages], merging.wanted, merging.take
    )
    notes = [f"{path}: {error}" for path, error in fetched.errors.items()]
    ok = merging.parsed > 0 and not fetched.errors and not merging.failed
    snapshot = _warn(merging.snapshot, [*merging.failed, *notes])
    run = ReaderRun(READER, time.perf_counter() - started, ok)
    return DeviceRead(snapshot, (*read.readers, run)), fetched


class _Merging:
    """The snapshot as pages arrive: each page is parsed and merged at once, so the next
    page is asked for only if it still fills a gap (a second source for the same values
    is read only when the first failed)."""

    def __init__(
        self, snapshot: Snapshot, pages: Mapping[str, EwsPage], total_floor: int | None
    ) -> None:
        self.snapshot = snapshot
        self.pages = pages
        self.total_floor = total_floor
        self.parsed = 0
        self.failed: list[str] = []

    def wanted(self, path: str) -> bool:
        return _fills_gap(self.snapshot, self.pages[path])

    def take(self, got: Page) -> None:
        page = self.pages[got.path]
        try:
            document = parse(page.format, got.body, got.charset)
        except EwsError as exc:
            self.failed.append(f"{page.path}: {exc}")
            return
        self.parsed += 1
        self.snapshot = merge(
            self.snapshot, [page], {page.path: document}, total_floor=self.total_floor
        )


def merge(
    snapshot: Snapshot,
    pages: Sequence[EwsPage],
    documents: Mapping[str, Document],
    *,
    total_floor: int | None = None,
) -> Snapshot:
    """`snapshot` with the pages' values where it has none. Never replaces a value."""
    counters = list(snapshot.counters)
    identity = snapshot.identity
    supplies = list(snapshot.supplies)
    sources: list[ValueSource] = []
    notes: list[str] = []
    for page in pages:
        doc = documents.get(page.path)
        if doc is None:
            continue
        counters += _counters(page, doc, {c.name for c in counters}, notes)
        identity = _identity(page, doc, identity, sources)
        for spec in page.supplies:
            supplies = _supplies(page.path, spec, doc, supplies, sources, notes)
    counters = _guard(counters, snapshot.counters, notes, total_floor)
    if tuple(counters) == snapshot.counters and not sources:
        return _warn(snapshot, notes)
    filled = dataclasses.replace(
        snapshot,
        reachable=True,
        identity=identity,
        counters=tuple(counters),
        supplies=tuple(supplies),
        sources=(*snapshot.sources, *sources),
    )
    return _warn(filled, notes)


def _value(doc: Document, value: EwsValue) -> str | None:
    return doc.label(value.selector) if value.by_label else doc.select(value.selector)


def _counters(page: EwsPage, doc: Document, have: set[str], notes: list[str]) -> list[Counter]:
    out: list[Counter] = []
    for spec in page.counters:
        if spec.name in have:
            continue
        text = _value(doc, spec.value)
        if text is None:
            continue
        where = source(page.path, spec.value)
        number = as_int(text.encode(), spec.value.transforms)
        if number is None or number < 0:
            notes.append(f"{where}: {text[:40]!r} is not a meter; {spec.name} not read")
            continue
        out.append(Counter(spec.name, number, spec.unit, where))
        have.add(spec.name)
    return out


def _guard(
    counters: list[Counter], before: Sequence[Counter], notes: list[str], total_floor: int | None
) -> list[Counter]:
    """Drop an EWS part meter that exceeds the total: a wrong selector on this model."""
    total = next((c for c in counters if c.name == "total"), None)
    if total is None or total.unit != "impressions":
        return counters
    limit = part_meter_limit(total.value, total_floor)
    kept = []
    for counter in counters:
        new = counter not in before
        part = counter.name in SUBSET_OF_TOTAL and counter.unit == "impressions"
        if new and part and counter.value > limit:
            notes.append(
                f"{counter.name} {counter.value} from {counter.source} exceeds the total"
                f" {total.value}: not a meter of this model, dropped"
            )
            continue
        kept.append(counter)
    return kept


def _identity(
    page: EwsPage, doc: Document, identity: Identity, sources: list[ValueSource]
) -> Identity:
    for name, value in page.identity.items():
        if getattr(identity, name) is not None:
            continue
        text = _text(_value(doc, value), value)
        if text is None:
            continue
        identity = dataclasses.replace(cast(Any, identity), **{name: text})
        sources.append(ValueSource(f"identity.{name}", source(page.path, value)))
    return identity


def _supplies(
    path: str,
    spec: EwsSupplies,
    doc: Document,
    supplies: list[Supply],
    sources: list[ValueSource],
    notes: list[str],
) -> list[Supply]:
    """Each listed cartridge to the one supply of its colour (and type) that lacks what it
    gives; a cartridge that fits none, or more than one, names none."""
    out = list(supplies)
    for number, item in enumerate(doc.each(spec.each), start=1):
        color_text = _value(item, spec.color)
        if color_text is None:
            continue
        color = spec.colors.get(color_text.casefold(), color_text.casefold())
        kind: str | None = None
        if spec.type is not None:
            type_text = _value(item, spec.type) or ""
            kind = spec.types.get(type_text.casefold())
            if kind is None:
                continue
        fits = [
            i
            for i, supply in enumerate(out)
            if (supply.color or "").casefold() == color
            and (supply.type == kind if kind else supply.type in _MARKERS)
        ]
        if len(fits) != 1:
            if len(fits) > 1:
                notes.append(f"{path}#{spec.each}[{number}]: {len(fits)} {color} supplies fit")
            continue
        at = fits[0]
        changes: dict[str, str] = {}
        for field in ("part_number", "serial"):
            value: EwsValue | None = getattr(spec, field)
            if value is None or getattr(out[at], field) is not None:
                continue
            text = supply_id_text(_text(_value(item, value), value))
            if text is None:
                continue
            changes[field] = text
            where = source(path, f"{spec.each}[{number}]/{value}")
            sources.append(ValueSource(f"supplies[{out[at].index}].{field}", where))
        if changes:
            out[at] = dataclasses.replace(cast(Any, out[at]), **changes)
    return out


def _text(found: str | None, value: EwsValue) -> str | None:
    """The page's text through the value's transforms (the profile's, on its UTF-8 bytes)."""
    return None if found is None else as_text(found.encode(), value.transforms)


def _warn(snapshot: Snapshot, notes: Sequence[str]) -> Snapshot:
    if not notes:
        return snapshot
    return dataclasses.replace(
        snapshot, warnings=(*snapshot.warnings, *(f"{READER}: {note}" for note in notes))
    )
