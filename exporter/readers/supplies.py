"""Supplies (toner, drums, fusers, waste boxes) and input trays, with sentinels kept as states.

Both tables report a level against a maximum with the same RFC 3805
sentinels (-1 no restriction, -2 unknown, -3 some remaining), so both go
through `decode_level`, which never turns a sentinel into a percentage.

A supply's colour comes from the colorant table that the supply row points
to; only when the agent has no such table is the description searched for a
colour word ("Cyan Toner", "Toner Cartridge K").
"""

from __future__ import annotations

from exporter.model import Supply, Tray
from exporter.readers import enums, oids
from exporter.readers.decode import color_from_description, colorant_name, decode_level
from exporter.readers.fetch import DeviceData
from exporter.snmp.types import Oid, format_oid

_MAX_SUPPLIES = 256
_MAX_TRAYS = 64


async def read_supplies(data: DeviceData) -> tuple[Supply, ...]:
    table = await data.walk(oids.PRT_MARKER_SUPPLIES_ENTRY)
    descriptions = table.column(oids.PRT_MARKER_SUPPLIES_DESCRIPTION)
    levels = table.column(oids.PRT_MARKER_SUPPLIES_LEVEL)
    maxima = table.column(oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY)
    types = table.column(oids.PRT_MARKER_SUPPLIES_TYPE)
    classes = table.column(oids.PRT_MARKER_SUPPLIES_CLASS)
    units = table.column(oids.PRT_MARKER_SUPPLIES_SUPPLY_UNIT)
    colorant_links = table.column(oids.PRT_MARKER_SUPPLIES_COLORANT_INDEX)
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
        level = data.integer(levels.get(row), _where(oids.PRT_MARKER_SUPPLIES_LEVEL, row))
        maximum = data.integer(maxima.get(row), _where(oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY, row))
        reading = decode_level(level, maximum)
        if reading.note:
            data.warn(f"supply {row[-1]} ({description}): {reading.note}")
        link = data.integer(colorant_links.get(row), "prtMarkerSuppliesColorantIndex")
        color = (colorants.get((row[0], link)) if link and len(row) == 2 else None) or (
            color_from_description(description)
        )
        supplies.append(
            Supply(
                index=row[-1],
                description=description,
                type=enums.enum_name(
                    enums.MARKER_SUPPLIES_TYPE,
                    data.integer(types.get(row), "prtMarkerSuppliesType"),
                ),
                color=color,
                supply_class=enums.supply_class(
                    data.integer(classes.get(row), "prtMarkerSuppliesClass")
                ),
                unit=enums.enum_name(
                    enums.MARKER_SUPPLIES_SUPPLY_UNIT,
                    data.integer(units.get(row), "prtMarkerSuppliesSupplyUnit"),
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
    """(hrDeviceIndex, prtMarkerColorantIndex) -> normalised colour name."""
    values = await data.column(oids.PRT_MARKER_COLORANT_VALUE)
    out: dict[tuple[int, int], str] = {}
    for index, value in values.items():
        name = colorant_name(data.text(value, "prtMarkerColorantValue"))
        if name and len(index) == 2:
            out[(index[0], index[1])] = name
    return out


async def read_trays(data: DeviceData) -> tuple[Tray, ...]:
    table = await data.walk(oids.PRT_INPUT_ENTRY)
    names = table.column(oids.PRT_INPUT_NAME)
    descriptions = table.column(oids.PRT_INPUT_DESCRIPTION)
    media = table.column(oids.PRT_INPUT_MEDIA_NAME)
    levels = table.column(oids.PRT_INPUT_CURRENT_LEVEL)
    maxima = table.column(oids.PRT_INPUT_MAX_CAPACITY)
    rows = sorted(set(levels) | set(names))[:_MAX_TRAYS]
    trays = []
    for row in rows:
        name = data.text(names.get(row), "prtInputName") or data.text(
            descriptions.get(row), "prtInputDescription"
        )
        level = data.integer(levels.get(row), _where(oids.PRT_INPUT_CURRENT_LEVEL, row))
        maximum = data.integer(maxima.get(row), _where(oids.PRT_INPUT_MAX_CAPACITY, row))
        reading = decode_level(level, maximum)
        trays.append(
            Tray(
                index=row[-1],
                name=name,
                media=data.text(media.get(row), "prtInputMediaName"),
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


def is_color_supply(color: str | None) -> bool:
    return color is not None and color not in ("black", "matte_black", "photo_black", "gray")
