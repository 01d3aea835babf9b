"""PJL as a fallback source: fill what the SNMP read left empty, and only that.

SNMP stays first. After a device's SNMP read (or its failure), `read_pjl`
asks over PJL for exactly the gaps: INFO ID when there is no model, INFO
STATUS when there is no status, INFO PAGECOUNT when there is no `total` meter.
A device whose SNMP read was complete gets no connection at all.

Every value keeps its origin: the page count is counter `total` with `source`
`pjl:INFO PAGECOUNT`; identity and status fields are listed in the snapshot's
`sources` (`identity.model` from `pjl:INFO ID`, `status` from `pjl:INFO
STATUS`). A failed exchange costs only the PJL part: the snapshot keeps its
SNMP values and gains a `pjl: ...` warning. The run is timed as reader `pjl`,
so it shows in `printer_exporter_reader_duration_seconds` and `_success`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from exporter.model import Counter, DeviceRead, Identity, ReaderRun, Snapshot, Status, ValueSource
from exporter.pjl.client import PjlClient
from exporter.pjl.codes import to_status
from exporter.pjl.errors import PjlError
from exporter.pjl.parse import PjlInfo
from exporter.readers.manufacturer import manufacturer_from_text, strip_manufacturer_prefix

READER = "pjl"
PAGECOUNT_UNIT = "impressions"
"""INFO PAGECOUNT is "the number of pages printed by the print engine": marks on paper,
which the Printer MIB calls impressions."""


def source(category: str) -> str:
    return f"pjl:INFO {category}"


def wanted(snapshot: Snapshot) -> tuple[str, ...]:
    """The INFO categories that would fill a gap the SNMP read left, in asking order."""
    gaps = []
    if snapshot.identity.model is None:
        gaps.append("ID")
    if snapshot.status == Status():
        gaps.append("STATUS")
    if snapshot.counter("total") is None:
        gaps.append("PAGECOUNT")
    return tuple(gaps)


async def read_pjl(
    read: DeviceRead, host: str, port: int, client: PjlClient, timeout: float
) -> DeviceRead:
    """`read` with its gaps filled from PJL at `host:port`; unchanged when it has none."""
    categories = wanted(read.snapshot)
    if not categories:
        return read
    started = time.perf_counter()
    try:
        info = await client.info(host, port, categories, timeout=timeout)
    except PjlError as exc:
        snapshot, ok = _warn(read.snapshot, [str(exc)]), False
    else:
        snapshot = merge(read.snapshot, info, categories)
        ok = _filled(read.snapshot, snapshot)
    run = ReaderRun(READER, time.perf_counter() - started, ok)
    return DeviceRead(snapshot, (*read.readers, run))


def merge(snapshot: Snapshot, info: PjlInfo, categories: Sequence[str]) -> Snapshot:
    """`snapshot` with the PJL values of `categories` where it has none, and PJL's notes
    as warnings. A device for which PJL filled a value is reachable, whatever SNMP did;
    SNMP's `error` stays, so why SNMP failed is still shown."""
    identity, status, counters = snapshot.identity, snapshot.status, snapshot.counters
    sources: list[ValueSource] = []
    if "ID" in categories and info.model is not None and identity.model is None:
        identity = _identity(identity, info.model, sources)
    if "STATUS" in categories and info.status is not None and status == Status():
        status = to_status(info.status)
        sources.append(ValueSource("status", source("STATUS")))
    if "PAGECOUNT" in categories and info.pagecount is not None and not snapshot.counter("total"):
        total = Counter("total", info.pagecount, PAGECOUNT_UNIT, source("PAGECOUNT"))
        counters = (*counters, total)
    if sources or counters != snapshot.counters:
        snapshot = dataclasses.replace(
            snapshot,
            reachable=True,
            identity=identity,
            status=status,
            counters=counters,
            sources=(*snapshot.sources, *sources),
        )
    return _warn(snapshot, list(info.notes))


def _identity(identity: Identity, text: str, sources: list[ValueSource]) -> Identity:
    """The model from INFO ID (a leading maker name trimmed, as for SNMP models), and the
    maker it names when SNMP gave none."""
    manufacturer = identity.manufacturer
    if manufacturer is None:
        manufacturer = manufacturer_from_text(text)
        if manufacturer is not None:
            sources.append(ValueSource("identity.manufacturer", source("ID")))
    model = strip_manufacturer_prefix(text, manufacturer) or text
    sources.append(ValueSource("identity.model", source("ID")))
    return dataclasses.replace(identity, manufacturer=manufacturer, model=model)


def _filled(before: Snapshot, after: Snapshot) -> bool:
    return after.sources != before.sources or after.counters != before.counters


def _warn(snapshot: Snapshot, notes: list[str]) -> Snapshot:
    if not notes:
        return snapshot
    return dataclasses.replace(
        snapshot, warnings=(*snapshot.warnings, *(f"{READER}: {note}" for note in notes))
    )
