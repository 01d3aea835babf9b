"""Meters from the PWG Imaging System Counter MIB, for devices that implement it.

PWG-IMAGING-COUNTER-MIB (PWG 5106.3, the SNMP form of the PWG 5106.1 counters)
is the one vendor-neutral place where a device can say how many impressions
were mono or colour, and how many came from print, copy or received faxes.
Few devices implement it, and the vendor profiles already read richer meters
where they exist, so this reader is a fallback: `device.py` merges what it
returns *below* prtMarkerLifeCount and the vendor profile, adding only counter
names those did not produce (docs/profiles.md, "PWG Imaging System Counter MIB").

How the MIB is read:
- icKeyTable maps each managed service (systemTotals, print, copy, faxIn, scan,
  ...) to a key; every counter table is indexed by (key, work type, persistence).
- Only the `workTotals` / `lifetime` row of a service is read: `powerOn` and
  `reset` counts restart, and `datastream` leaves out maintenance work, so
  neither could stand beside prtMarkerLifeCount as a billing meter.
- Impressions (icImpressionTable) first; a service without an impression row
  falls back to its sheets (icSheetTable), with `unit` saying so, so that one
  service's total, mono and colour always share one unit.
- A device without the MIB costs one request: the walk of icKeyTable, which
  comes back empty. Its counter tables are then walked side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from exporter.model import Counter
from exporter.readers import oids
from exporter.readers.fetch import INTEGER32, DeviceData
from exporter.snmp import SnmpProtocolError
from exporter.snmp.types import Oid, SnmpValue, format_oid

SYSTEM_TOTALS: Final = 3
COPY: Final = 4
FAX_IN: Final = 7
PRINT: Final = 11
SCAN: Final = 12
"""IcServiceTypeTC values this reader maps (emailIn/Out, faxOut, networkFax*, transform
have no name in the counter vocabulary)."""

WORK_TOTALS: Final = 3
"""IcWorkTypeTC workTotals(3): all work, user and maintenance, like prtMarkerLifeCount."""
LIFETIME: Final = 3
"""IcPersistenceTC lifetime(3): never reset; powerOn(4) and reset(5) would be wrong for billing."""

MAX_COUNT: Final = 2**64 - 1
"""IcCounter32 is Integer32 0..2**31-1, but an agent that sends a Counter32 or Counter64 past
that is still counting pages: accepted as meters.py accepts prtMarkerLifeCount. A negative
value (some agents' 'unknown') is never a count and is dropped with a warning."""

_MAX_INDEX: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class _Meters:
    """Vocabulary names for one service's total, mono and colour counts."""

    total: str
    mono: str | None = None
    color: str | None = None


_IMPRESSION_METERS: Final[Mapping[int, _Meters]] = {
    SYSTEM_TOTALS: _Meters("total", "mono", "color"),
    PRINT: _Meters("print_total", "print_mono", "print_color"),
    COPY: _Meters("copy_total", "copy_mono", "copy_color"),
    FAX_IN: _Meters("fax_total"),
}
"""Services whose hardcopy output the vocabulary names (faxIn: received faxes printed)."""

WANTED_SERVICES: Final = frozenset({*_IMPRESSION_METERS, SCAN})

_IMPRESSION_COLUMNS: Final = (
    oids.IC_IMPRESSION_TOTAL_IMPS,
    oids.IC_IMPRESSION_MONOCHROME_IMPS,
    oids.IC_IMPRESSION_FULL_COLOR_IMPS,
)
_SHEET_COLUMNS: Final = (
    oids.IC_SHEET_TOTAL_SHEETS,
    oids.IC_SHEET_MONOCHROME_SHEETS,
    oids.IC_SHEET_FULL_COLOR_SHEETS,
)
TABLES: Final[tuple[tuple[Oid, tuple[Oid, ...]], ...]] = (
    (oids.IC_IMPRESSION_ENTRY, _IMPRESSION_COLUMNS),
    (oids.IC_SHEET_ENTRY, _SHEET_COLUMNS),
    (oids.IC_TWO_SIDED_ENTRY, (oids.IC_TWO_SIDED_TOTAL_IMPS,)),
    (oids.IC_IMAGE_ENTRY, (oids.IC_IMAGE_TOTAL_IMAGES,)),
)
"""The counter tables read, each with the columns used from it."""


def lifetime_row(key: int) -> Oid:
    """The (key, workTotals, lifetime) index of a service's billing row in every counter table."""
    return (key, WORK_TOTALS, LIFETIME)


async def read_pwg_counters(data: DeviceData) -> tuple[Counter, ...]:
    """The device's PWG counters in the meter vocabulary; () when it lacks the MIB."""
    # One walk decides. A device without the MIB answers it with the next subtree (or, on
    # SNMPv1, noSuchName, which the client reads as the end of the MIB view); an error
    # status is a refusal and fails this reader, as it would any other.
    probe = await data.walk(oids.IC_KEY_ENTRY)
    if not probe.rows:
        return ()
    types, indexes = await data.table(
        oids.IC_KEY_ENTRY, (oids.IC_KEY_SERVICE_TYPE, oids.IC_KEY_SERVICE_INDEX), arity=1
    )
    keys: dict[int, tuple[int | None, int | None]] = {}
    for (key,), raw in types.items():
        what = format_oid((*oids.IC_KEY_SERVICE_TYPE, key))
        service_type = data.integer(raw, what, valid=INTEGER32)
        raw_index = indexes.get((key,))
        what = format_oid((*oids.IC_KEY_SERVICE_INDEX, key))
        keys[key] = (service_type, data.integer(raw_index, what, valid=(0, _MAX_INDEX)))
    services, notes = service_keys(keys)
    for note in notes:
        data.warn(note)
    if not services:
        return ()

    await data.prefetch([entry for entry, _ in TABLES])  # side by side when the client can
    counts: dict[Oid, int] = {}
    for entry, columns in TABLES:
        try:
            read = await data.table(entry, columns, arity=3)
        except SnmpProtocolError as exc:
            data.warn(f"{format_oid(entry)}: not read ({exc})")
            continue
        for column, cells in zip(columns, read, strict=True):
            for key in services.values():
                row = lifetime_row(key)
                value = _count(data, cells.get(row), column + row)
                if value is not None:
                    counts[column + row] = value
    counters, notes = map_counters(services, counts)
    for note in notes:
        data.warn(note)
    return counters


def _count(data: DeviceData, value: SnmpValue | None, oid: Oid) -> int | None:
    return data.integer(value, format_oid(oid), valid=(0, MAX_COUNT))


def service_keys(
    keys: Mapping[int, tuple[int | None, int | None]],
) -> tuple[dict[int, int], list[str]]:
    """IcServiceTypeTC -> icKeyIndex for the services this reader maps, and notes on the choice.

    `keys` is icKeyIndex -> (icKeyServiceType, icKeyServiceIndex). Subunit keys
    (service type unknown) are skipped. Where a device has several services of
    one type (two print services), the lowest icKeyServiceIndex is read and the
    others are named in a note: adding them up would assume they never overlap.
    """
    found: dict[int, list[tuple[int, int]]] = {}
    for key, (service_type, service_index) in keys.items():
        if service_type in WANTED_SERVICES:
            found.setdefault(service_type, []).append((service_index or 0, key))
    chosen: dict[int, int] = {}
    notes: list[str] = []
    for service_type, candidates in sorted(found.items()):
        candidates.sort()
        chosen[service_type] = candidates[0][1]
        if len(candidates) > 1:
            others = ", ".join(str(key) for _, key in candidates[1:])
            notes.append(
                f"PWG counter MIB: {len(candidates)} services of type {service_type}; "
                f"read key {candidates[0][1]}, not {others}"
            )
    return chosen, notes


def map_counters(
    services: Mapping[int, int], counts: Mapping[Oid, int]
) -> tuple[tuple[Counter, ...], list[str]]:
    """The vocabulary counters in `counts` (instance OID -> validated count), and notes.

    `services` is IcServiceTypeTC -> icKeyIndex (`service_keys`). Pure: every
    value was range-checked when read, so this only decides which cell means what.
    """
    counters: list[Counter] = []
    notes: list[str] = []
    for service_type, meters in _IMPRESSION_METERS.items():
        key = services.get(service_type)
        if key is not None:
            counters.extend(_output_counters(meters, lifetime_row(key), counts, notes))
    key = services.get(SYSTEM_TOTALS)
    if key is not None:
        oid = oids.IC_TWO_SIDED_TOTAL_IMPS + lifetime_row(key)
        if oid in counts:
            counters.append(Counter("duplex", counts[oid], "impressions", format_oid(oid)))
    key = services.get(SCAN)
    if key is not None:
        oid = oids.IC_IMAGE_TOTAL_IMAGES + lifetime_row(key)
        if oid in counts:
            counters.append(Counter("scan_total", counts[oid], "images", format_oid(oid)))
    return tuple(counters), notes


def _output_counters(
    meters: _Meters, row: Oid, counts: Mapping[Oid, int], notes: list[str]
) -> list[Counter]:
    """One service's total, mono and colour, all from impressions or all from sheets."""
    choices = ((_IMPRESSION_COLUMNS, "impressions"), (_SHEET_COLUMNS, "sheets"))
    found = next(((c, u) for c, u in choices if c[0] + row in counts), None)
    if found is None:
        return []
    columns, unit = found
    total_oid, mono_oid, color_oid = (column + row for column in columns)
    total = counts[total_oid]
    out = [Counter(meters.total, total, unit, format_oid(total_oid))]
    mono, color = counts.get(mono_oid), counts.get(color_oid)
    if meters.mono is None or meters.color is None or (mono is None and color is None):
        return out
    if total > 0 and not mono and not color:
        # Every counter starts at 0 (DEFVAL): a device that fills in only the total has
        # printed pages that are neither mono nor colour, i.e. it does not split them.
        return out
    if (mono or 0) + (color or 0) > total:
        notes.append(
            f"PWG counter MIB: {meters.total} {total} is less than mono {mono} + colour "
            f"{color} ({format_oid(total_oid)}); the split is not reported"
        )
        return out
    if mono is not None:
        out.append(Counter(meters.mono, mono, unit, format_oid(mono_oid)))
    if color is not None:
        out.append(Counter(meters.color, color, unit, format_oid(color_oid)))
    return out
