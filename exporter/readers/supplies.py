"""Supplies (toner, drums, fusers, waste boxes) and input trays, with sentinels kept as states.

Both tables report a level against a maximum with the same RFC 3805
sentinels (-1 no restriction, -2 unknown, -3 some remaining), so both go
through `decode_level`, which never turns a sentinel into a percentage.

A supply's colour comes from the colorant table that the supply row points
to; only when the agent has no such table is the description searched for a
colour word ("Cyan Toner", "Toner Cartridge K").

Both tables are indexed by (hrDeviceIndex, row). `DeviceData.table` drops a
cell at any other index, and every number is range-checked against its
column's SYNTAX, so one odd cell costs that cell with a warning, never the table.
"""

from __future__ import annotations

from collections.abc import Mapping

from exporter.model import Supply, Tray
from exporter.readers import enums, oids
from exporter.readers.decode import color_from_description, colorant_name, decode_level
from exporter.readers.fetch import INTEGER32, DeviceData
from exporter.snmp import SnmpProtocolError
from exporter.snmp.types import Oid, SnmpValue, format_oid

_MAX_SUPPLIES = 256
_MAX_TRAYS = 64
_COLORANT_INDEX = (0, 65535)
"""prtMarkerSuppliesColorantIndex's SYNTAX; 0 means "no colorant"."""


async def read_supplies(data: DeviceData) -> tuple[Supply, ...]:
    descriptions, levels, maxima, types, classes, units, colorant_links = await data.table(
        oids.PRT_MARKER_SUPPLIES_ENTRY,
        (
            oids.PRT_MARKER_SUPPLIES_DESCRIPTION,
            oids.PRT_MARKER_SUPPLIES_LEVEL,
            oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY,
            oids.PRT_MARKER_SUPPLIES_TYPE,
            oids.PRT_MARKER_SUPPLIES_CLASS,
            oids.PRT_MARKER_SUPPLIES_SUPPLY_UNIT,
            oids.PRT_MARKER_SUPPLIES_COLORANT_INDEX,
        ),
        arity=2,
    )
    colorants = await colorant_names(data)

    rows = sorted(set(levels) | set(descriptions) | set(types))
    if len(rows) > _MAX_SUPPLIES:
        data.warn(f"prtMarkerSuppliesTable has {len(rows)} rows; kept the first {_MAX_SUPPLIES}")
        rows = rows[:_MAX_SUPPLIES]
    supplies = []
    for row in rows:
        description = data.text(
            descriptions.get(row), _where(oids.PRT_MARKER_SUPPLIES_DESCRIPTION, row)
        )
        level, maximum = _level_and_max(
            data,
            levels,
            maxima,
            oids.PRT_MARKER_SUPPLIES_LEVEL,
            oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY,
            row,
        )
        reading = decode_level(level, maximum)
        if reading.note:
            data.warn(f"supply {row[-1]} ({description}): {reading.note}")
        link = data.integer(
            colorant_links.get(row),
            _where(oids.PRT_MARKER_SUPPLIES_COLORANT_INDEX, row),
            valid=_COLORANT_INDEX,
        )
        color = (colorants.get((row[0], link)) if link else None) or (
            color_from_description(description)
        )
        supplies.append(
            Supply(
                index=row[-1],
                description=description,
                type=enums.enum_name(
                    enums.MARKER_SUPPLIES_TYPE,
                    _enum(data, types, oids.PRT_MARKER_SUPPLIES_TYPE, row),
                ),
                color=color,
                supply_class=enums.supply_class(
                    _enum(data, classes, oids.PRT_MARKER_SUPPLIES_CLASS, row)
                ),
                unit=enums.enum_name(
                    enums.MARKER_SUPPLIES_SUPPLY_UNIT,
                    _enum(data, units, oids.PRT_MARKER_SUPPLIES_SUPPLY_UNIT, row),
                    "unit",
                ),
                level=reading.level,
                max_capacity=reading.max_capacity,
                remaining_ratio=reading.remaining_ratio,
                state=reading.state,
                raw_level=level,
                raw_max_capacity=maximum,
            )
        )
    return tuple(supplies)


async def colorant_names(data: DeviceData) -> dict[tuple[int, int], str]:
    """(hrDeviceIndex, prtMarkerColorantIndex) -> normalised colour name.

    Colours are a nicety next to the levels: when the agent's answers for the
    colorant table are refused, supplies fall back to their descriptions.
    """
    try:
        values = await data.column(oids.PRT_MARKER_COLORANT_VALUE, arity=2)
    except SnmpProtocolError as exc:
        data.warn(f"prtMarkerColorantTable not read ({exc}); colours from descriptions")
        return {}
    out: dict[tuple[int, int], str] = {}
    for index, value in values.items():
        name = colorant_name(data.text(value, _where(oids.PRT_MARKER_COLORANT_VALUE, index)))
        if name:
            out[(index[0], index[1])] = name
    return out


async def read_trays(data: DeviceData) -> tuple[Tray, ...]:
    names, descriptions, media, levels, maxima = await data.table(
        oids.PRT_INPUT_ENTRY,
        (
            oids.PRT_INPUT_NAME,
            oids.PRT_INPUT_DESCRIPTION,
            oids.PRT_INPUT_MEDIA_NAME,
            oids.PRT_INPUT_CURRENT_LEVEL,
            oids.PRT_INPUT_MAX_CAPACITY,
        ),
        arity=2,
    )
    rows = sorted(set(levels) | set(names))[:_MAX_TRAYS]
    trays = []
    for row in rows:
        name = data.text(names.get(row), _where(oids.PRT_INPUT_NAME, row)) or data.text(
            descriptions.get(row), _where(oids.PRT_INPUT_DESCRIPTION, row)
        )
        level, maximum = _level_and_max(
            data, levels, maxima, oids.PRT_INPUT_CURRENT_LEVEL, oids.PRT_INPUT_MAX_CAPACITY, row
        )
        reading = decode_level(level, maximum)
        if reading.note and not reading.note.startswith("no "):  # a value dropped, not absent
            data.warn(f"tray {row[-1]} ({name}): {reading.note}")
        trays.append(
            Tray(
                index=row[-1],
                name=name,
                media=data.text(media.get(row), _where(oids.PRT_INPUT_MEDIA_NAME, row)),
                level=reading.level,
                max_capacity=reading.max_capacity,
                remaining_ratio=reading.remaining_ratio,
                state=reading.state,
                raw_level=level,
                raw_max_capacity=maximum,
            )
        )
    return tuple(trays)


def _where(column: Oid, row: Oid) -> str:
    return format_oid(column + row)


def _level_and_max(
    data: DeviceData,
    levels: Mapping[Oid, SnmpValue],
    maxima: Mapping[Oid, SnmpValue],
    level_column: Oid,
    max_column: Oid,
    row: Oid,
) -> tuple[int | None, int | None]:
    """Raw level and capacity of one row, each dropped with a warning if no Integer32.

    Values inside Integer32 go to `decode_level` as they are, because it knows
    which negative numbers are RFC 3805 sentinels and notes the others.
    """
    level = data.integer(levels.get(row), _where(level_column, row), valid=INTEGER32)
    maximum = data.integer(maxima.get(row), _where(max_column, row), valid=INTEGER32)
    return level, maximum


def _enum(data: DeviceData, column: Mapping[Oid, SnmpValue], oid: Oid, row: Oid) -> int | None:
    return data.integer(column.get(row), _where(oid, row), valid=INTEGER32)


def is_color_supply(color: str | None) -> bool:
    return color is not None and color not in ("black", "matte_black", "photo_black", "gray")
