"""The billing export: meter reads per agent, device, counter and period, as CSV or JSON.

    rows = billing_rows(engine, start, end)        # [start, end), aware UTC
    to_csv(rows, start, end) / to_json(rows, start, end)

Both `GET /api/v1/export` and `printer-archive export` call these, so the two
give the same figures. The rules for pages and flags are `archive.billing`'s.

One row per (agent, device, counter, unit) with a reading or a withheld
reading in the period. A device is its `target` (`host:port` as polled);
`serial` is the one its last reading in the period carried. The period is
half-open and stands alone: pages between the last reading before it and its
first reading belong to no period (docs/archive.md says how to bill without
gaps).

CSV cells that a spreadsheet would run as a formula (text starting with = + -
@, tab or CR) are prefixed with `'`: a serial number comes from the printer,
and a printer is not trusted to write into the dealer's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select

from archive import db
from archive.billing import Reading, Usage, usage
from archive.tables import agents, counter_events, meter_reads
from archive.times import format_time

COLUMNS: Final = (
    "agent",
    "target",
    "serial",
    "counter",
    "unit",
    "period_from",
    "period_to",
    "first_at",
    "first_value",
    "last_at",
    "last_value",
    "readings",
    "pages",
    "flags",
)
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_STREAM_ROWS: Final = 5000


@dataclass(frozen=True, slots=True)
class BillingRow:
    agent: str
    target: str
    counter: str
    unit: str | None
    usage: Usage

    @property
    def serial(self) -> str | None:
        return self.usage.last.serial if self.usage.last is not None else None


def billing_rows(engine: Engine, start: datetime, end: datetime) -> list[BillingRow]:
    """Every meter's usage in [start, end), sorted by agent, target, counter, unit.

    Readings are streamed from the database meter by meter (the query is ordered
    by meter, then time), so memory grows with the number of meters, not reads."""
    events = _withheld(engine, start, end)
    query = (
        select(
            agents.c.name,
            meter_reads.c.target,
            meter_reads.c.counter,
            meter_reads.c.unit,
            meter_reads.c.taken_at,
            meter_reads.c.value,
            meter_reads.c.serial,
        )
        .join(agents, agents.c.id == meter_reads.c.agent_id)
        .where(meter_reads.c.taken_at >= start, meter_reads.c.taken_at < end)
        .order_by(
            agents.c.name,
            meter_reads.c.target,
            meter_reads.c.counter,
            meter_reads.c.unit,
            meter_reads.c.taken_at,
            meter_reads.c.id,
        )
    )
    rows: list[BillingRow] = []
    seen: set[tuple[str, str, str]] = set()
    with db.read(engine) as conn:
        result = conn.execution_options(yield_per=_STREAM_ROWS).execute(query)
        for (agent, target, counter, unit), group in itertools.groupby(
            result, key=lambda r: (r[0], r[1], r[2], r[3])
        ):
            readings = [Reading(r[4], int(r[5]), r[6]) for r in group]
            withheld = events.get((agent, target, counter), [])
            rows.append(BillingRow(agent, target, counter, unit, usage(readings, withheld)))
            seen.add((agent, target, counter))
    for (agent, target, counter), times in events.items():
        if (agent, target, counter) not in seen:  # withheld, and no reading left in the period
            rows.append(BillingRow(agent, target, counter, None, usage([], times)))
    rows.sort(key=lambda r: (r.agent, r.target, r.counter, r.unit or ""))
    return rows


def _withheld(
    engine: Engine, start: datetime, end: datetime
) -> dict[tuple[str, str, str], list[datetime]]:
    query = (
        select(
            agents.c.name,
            counter_events.c.target,
            counter_events.c.counter,
            counter_events.c.taken_at,
        )
        .join(agents, agents.c.id == counter_events.c.agent_id)
        .where(
            counter_events.c.kind == "decrease",
            counter_events.c.taken_at >= start,
            counter_events.c.taken_at < end,
        )
    )
    found: dict[tuple[str, str, str], list[datetime]] = defaultdict(list)
    with db.read(engine) as conn:
        for name, target, counter, at in conn.execute(query):
            found[(name, target, counter)].append(at)
    return dict(found)


def row_fields(row: BillingRow, start: datetime, end: datetime) -> dict[str, Any]:
    """One row as the JSON export writes it (the CSV has the same columns)."""
    first, last = row.usage.first, row.usage.last
    return {
        "agent": row.agent,
        "target": row.target,
        "serial": row.serial,
        "counter": row.counter,
        "unit": row.unit,
        "period_from": format_time(start),
        "period_to": format_time(end),
        "first_at": format_time(first.at) if first else None,
        "first_value": first.value if first else None,
        "last_at": format_time(last.at) if last else None,
        "last_value": last.value if last else None,
        "readings": row.usage.readings,
        "pages": row.usage.pages,
        "flags": list(row.usage.flags),
    }


def to_json(rows: Iterable[BillingRow], start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "from": format_time(start),
        "to": format_time(end),
        "rows": [row_fields(row, start, end) for row in rows],
    }


def to_csv(rows: Sequence[BillingRow], start: datetime, end: datetime) -> str:
    """RFC 4180 CSV with a header line; flags joined by `;`, empty values for none."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        fields = row_fields(row, start, end)
        fields["flags"] = ";".join(fields["flags"])
        writer.writerow([_cell(fields[c]) for c in COLUMNS])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
