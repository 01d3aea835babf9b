"""Meter reads from the Printer-MIB marker table.

The standard gives one lifetime count per marker (prtMarkerLifeCount) in the
marker's counter unit. Almost every device has one marker, whose count is the
`total`. Devices with several markers (rare: some large production machines)
get a `total` that sums the markers counting in the same unit, with `source`
naming every OID in the sum, so a billing read stays traceable.

Vendor counters (mono, colour, per function) come from vendor profiles; this
is the fallback that every device gets.
"""

from __future__ import annotations

from exporter.model import Counter
from exporter.readers import enums, oids
from exporter.readers.fetch import INTEGER32, DeviceData
from exporter.snmp.types import Oid, SnmpValue, format_oid

_MAX_COUNTER = 2**64 - 1


async def read_counters(data: DeviceData) -> tuple[Counter, ...]:
    # Only (hrDeviceIndex, prtMarkerIndex) rows count: a cell at any other index
    # would be summed into the billing total as a marker that does not exist.
    life, power_on, units = await data.table(
        oids.PRT_MARKER_ENTRY,
        (oids.PRT_MARKER_LIFE_COUNT, oids.PRT_MARKER_POWER_ON_COUNT, oids.PRT_MARKER_COUNTER_UNIT),
        arity=2,
    )

    reads: list[tuple[Oid, int, str]] = []
    for index in sorted(life):
        value = _count(data, life[index], oids.PRT_MARKER_LIFE_COUNT + index)
        if value is not None:
            raw_unit = data.integer(
                units.get(index), format_oid(oids.PRT_MARKER_COUNTER_UNIT + index), valid=INTEGER32
            )
            unit = enums.enum_name(enums.MARKER_COUNTER_UNIT, raw_unit, "unit")
            reads.append((oids.PRT_MARKER_LIFE_COUNT + index, value, unit))
    counters: list[Counter] = []
    if reads:
        unit = reads[0][2]
        same_unit = [r for r in reads if r[2] == unit]
        source = "+".join(format_oid(oid) for oid, _, _ in same_unit)
        if len(same_unit) > 1:
            source = f"sum({source})"
        counters.append(Counter("total", sum(v for _, v, _ in same_unit), unit, source))

    power_reads = [
        (oids.PRT_MARKER_POWER_ON_COUNT + index, value)
        for index in sorted(power_on)
        if (value := _count(data, power_on[index], oids.PRT_MARKER_POWER_ON_COUNT + index))
        is not None
    ]
    if power_reads:
        unit = counters[0].unit if counters else "impressions"
        oid, value = power_reads[0]
        counters.append(Counter("power_on", value, unit, format_oid(oid)))
    return tuple(counters)


def _count(data: DeviceData, value: SnmpValue, oid: Oid) -> int | None:
    """A meter value, or None (with a warning) when the agent's value cannot be a meter read.

    A negative count is an agent bug or an unset meter, and one past 2**64 no
    SNMP counter can hold; passing either on as a page count would be a wrong
    bill, so it is dropped, never clamped.
    """
    return data.integer(value, format_oid(oid), valid=(0, _MAX_COUNTER))
