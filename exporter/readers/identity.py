"""Who the device is: manufacturer, model, serial, MAC, firmware and the system group.

Each fact has several possible sources of unequal trust. The order used here,
most trusted first, and why:

- manufacturer: the IEEE 1284 device ID's MFG (written by the print engine's
  firmware for drivers), a maker named in hrDeviceDescr, then in sysDescr, and
  last the sysObjectID enterprise number, because an HP JetDirect card or an
  OEM NIC reports its own enterprise in another maker's printer.
- model: 1284 MDL, then hrDeviceDescr of the printer row, then what can be
  read from sysDescr. The maker's name is trimmed off the front, since it has
  its own field.
- serial: prtGeneralSerialNumber, then ENTITY-MIB, then the 1284 SN field.

Only the system group is essential. Every other fact is optional: a table the
agent cannot serve (its answers refused, see `DeviceData`) costs that fact
with a warning, not the identity, because without an identity the device has
no labels and no vendor profile.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from exporter.model import Identity
from exporter.readers import oids
from exporter.readers.decode import (
    decode_mac,
    device_id_manufacturer,
    device_id_model,
    device_id_serial,
    parse_device_id,
    ticks_to_seconds,
)
from exporter.readers.enums import int_text
from exporter.readers.fetch import DeviceData
from exporter.readers.manufacturer import (
    best_manufacturer,
    model_from_sys_descr,
    strip_manufacturer_prefix,
)
from exporter.readers.vendors import DEVICE_ID_OIDS
from exporter.snmp import SnmpProtocolError
from exporter.snmp.types import Oid, SnmpValue, format_oid

_SYSTEM_SCALARS = (
    oids.SYS_DESCR,
    oids.SYS_OBJECT_ID,
    oids.SYS_UPTIME,
    oids.SYS_CONTACT,
    oids.SYS_NAME,
    oids.SYS_LOCATION,
)
T = TypeVar("T")

_ETHERNET_LIKE = {6, 7, 62, 69, 71, 117}
"""ifType values of the interfaces that carry a printer's hardware address."""


async def printer_device_index(data: DeviceData) -> int | None:
    """The hrDeviceIndex of the (first) printer, which indexes hrPrinterTable and friends."""
    (types,) = await data.table(oids.HR_DEVICE_ENTRY, (oids.HR_DEVICE_TYPE,), arity=1)
    printers = sorted(idx[0] for idx, value in types.items() if value == oids.HR_DEVICE_PRINTER)
    return printers[0] if printers else None


PREFETCH: tuple[Oid, ...] = (
    oids.HR_DEVICE_ENTRY,
    DEVICE_ID_OIDS[0],
    oids.PRT_GENERAL_ENTRY,
    oids.ENT_PHYSICAL_SERIAL_NUM,
    oids.ENT_PHYSICAL_FIRMWARE_REV,
    oids.ENT_PHYSICAL_SOFTWARE_REV,
    oids.ENT_PHYSICAL_ASSET_ID,
    oids.IF_PHYS_ADDRESS,
    oids.IF_TYPE,
    oids.HR_PRINTER_ENTRY,
    oids.PRT_CONSOLE_DISPLAY_BUFFER_TEXT,
    oids.PRT_COVER_ENTRY,
    oids.PRT_MARKER_ENTRY,
    oids.PRT_MARKER_SUPPLIES_ENTRY,
    oids.PRT_MARKER_COLORANT_VALUE,
    oids.PRT_INPUT_ENTRY,
    oids.PRT_ALERT_ENTRY,
    oids.IC_KEY_ENTRY,  # the PWG imaging counters' key table: empty on most devices
)
"""Every subtree the standard readers walk, fetched side by side at the start of a poll."""


async def read_identity(data: DeviceData) -> Identity:
    system = await data.get(_SYSTEM_SCALARS)
    await data.prefetch(PREFETCH)
    sys_descr = data.text(system.get(oids.SYS_DESCR), "sysDescr")
    raw_object_id = system.get(oids.SYS_OBJECT_ID)
    sys_object_id = format_oid(raw_object_id) if isinstance(raw_object_id, tuple) else None
    uptime = system.get(oids.SYS_UPTIME)
    uptime_seconds = ticks_to_seconds(uptime if isinstance(uptime, int) else None)
    if uptime is not None and uptime_seconds is None:
        data.warn(f"sysUpTime: {_shown(uptime)} is not a TimeTicks value, ignored")

    hr_descr = await _optional(data, "hrDeviceTable", _printer_descr(data))
    found = await _optional(data, "the IEEE 1284 device ID", find_device_id(data))
    device_id = parse_device_id(found[1] if found else None)
    manufacturer = best_manufacturer(
        device_id_mfg=device_id_manufacturer(device_id),
        hr_device_descrs=(hr_descr,),
        sys_descr=sys_descr,
        sys_object_id=sys_object_id,
    )
    model = (
        strip_manufacturer_prefix(device_id_model(device_id), manufacturer)
        or strip_manufacturer_prefix(hr_descr, manufacturer)
        or model_from_sys_descr(sys_descr, manufacturer)
    )

    serial = (
        await _first_text(data, oids.PRT_GENERAL_SERIAL_NUMBER)
        or await _first_text(data, oids.ENT_PHYSICAL_SERIAL_NUM)
        or device_id_serial(device_id)
    )
    firmware = await _first_text(data, oids.ENT_PHYSICAL_FIRMWARE_REV) or await _first_text(
        data, oids.ENT_PHYSICAL_SOFTWARE_REV
    )
    return Identity(
        manufacturer=manufacturer,
        model=model,
        serial=serial,
        mac=await _main_mac(data),
        firmware=firmware,
        asset_number=await _first_text(data, oids.ENT_PHYSICAL_ASSET_ID),
        sys_name=data.text(system.get(oids.SYS_NAME), "sysName"),
        sys_descr=sys_descr,
        sys_object_id=sys_object_id,
        location=data.text(system.get(oids.SYS_LOCATION), "sysLocation"),
        contact=data.text(system.get(oids.SYS_CONTACT), "sysContact"),
        uptime_seconds=uptime_seconds,
    )


async def _optional(data: DeviceData, what: str, read: Awaitable[T]) -> T | None:
    """`read`, or None with a warning when the agent's answers for it are refused."""
    try:
        return await read
    except SnmpProtocolError as exc:
        data.warn(f"{what} not read ({exc})")
        return None


async def _printer_descr(data: DeviceData) -> str | None:
    printer_index = await printer_device_index(data)
    if printer_index is None:
        return None
    (descrs,) = await data.table(oids.HR_DEVICE_ENTRY, (oids.HR_DEVICE_DESCR,), arity=1)
    return data.text(descrs.get((printer_index,)), "hrDeviceDescr")


def _shown(value: SnmpValue) -> str:
    return int_text(value) if isinstance(value, int) else f"{value!r:.60}"


async def find_device_id(data: DeviceData) -> tuple[Oid, bytes] | None:
    """Where the IEEE 1284 device ID is, and its raw octets: the PWG column first,
    then the vendor OIDs that hold one (`DEVICE_ID_OIDS`).

    Public because a vendor profile's `device_id:` source reads its fields from
    the same string the identity reader used: the profiles name a field, never
    one of these OIDs, and through the poll's `DeviceData` the second call
    costs no request.

    Raw octets, because some agents keep the binary length prefix of the 1284
    wire form, which `parse_device_id` knows how to skip. The vendor OIDs are
    scalars (or first rows), so one batched GET asks for all of them, and only
    when the standard column is empty.
    """
    column = await data.column(DEVICE_ID_OIDS[0])
    for index in sorted(column):
        value = column[index]
        if isinstance(value, bytes) and value.strip(b"\x00 "):
            return (*DEVICE_ID_OIDS[0], *index), value
    candidates = [(*oid, row) for oid in DEVICE_ID_OIDS[1:] for row in (0, 1)]
    found = await data.get(candidates)
    for oid in candidates:
        raw = found.get(oid)
        if isinstance(raw, bytes) and raw.strip(b"\x00 "):
            return oid, raw
    return None


async def _first_text(data: DeviceData, column: Oid) -> str | None:
    """The first non-empty string in a column, in index order; None if the column is refused."""
    try:
        values = await data.column(column)
    except SnmpProtocolError as exc:
        data.warn(f"{format_oid(column)} not read ({exc})")
        return None
    for index in sorted(values):
        text = data.text(values[index], format_oid(column + index))
        if text:
            return text
    return None


async def _main_mac(data: DeviceData) -> str | None:
    """The hardware address of the first Ethernet-like interface that has one.

    Loopback and virtual interfaces have no address or a zero one, and
    `decode_mac` rejects those, so the first valid address on an Ethernet or
    Wi-Fi interface is the one a technician finds on the device's label.
    """
    try:
        addresses = await data.column(oids.IF_PHYS_ADDRESS)
    except SnmpProtocolError as exc:
        data.warn(f"ifPhysAddress not read ({exc}); no MAC address")
        return None
    if not addresses:
        return None
    try:
        types = await data.column(oids.IF_TYPE)
    except SnmpProtocolError as exc:
        data.warn(f"ifType not read ({exc}); MAC address of the first interface")
        types = {}
    ranked = sorted(addresses, key=lambda idx: (types.get(idx) not in _ETHERNET_LIKE, idx))
    for index in ranked:
        raw = addresses[index]
        mac = decode_mac(raw if isinstance(raw, bytes) else None)
        if mac is not None:
            return mac
    return None
