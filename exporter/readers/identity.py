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
"""

from __future__ import annotations

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
from exporter.readers.fetch import DeviceData
from exporter.readers.vendors import (
    DEVICE_ID_OIDS,
    best_manufacturer,
    model_from_sys_descr,
    strip_manufacturer_prefix,
)
from exporter.snmp.types import Oid, format_oid

_SYSTEM_SCALARS = (
    oids.SYS_DESCR,
    oids.SYS_OBJECT_ID,
    oids.SYS_UPTIME,
    oids.SYS_CONTACT,
    oids.SYS_NAME,
    oids.SYS_LOCATION,
)
_ETHERNET_LIKE = {6, 7, 62, 69, 71, 117}
"""ifType values of the interfaces that carry a printer's hardware address."""


async def printer_device_index(data: DeviceData) -> int | None:
    """The hrDeviceIndex of the (first) printer, which indexes hrPrinterTable and friends."""
    types = await data.column(oids.HR_DEVICE_TYPE)
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
)
"""Every subtree the standard readers walk, fetched side by side at the start of a poll."""


async def read_identity(data: DeviceData) -> Identity:
    system = await data.get(_SYSTEM_SCALARS)
    await data.prefetch(PREFETCH)
    sys_descr = data.text(system.get(oids.SYS_DESCR), "sysDescr")
    raw_object_id = system.get(oids.SYS_OBJECT_ID)
    sys_object_id = format_oid(raw_object_id) if isinstance(raw_object_id, tuple) else None
    uptime = system.get(oids.SYS_UPTIME)

    await data.walk(oids.HR_DEVICE_ENTRY)
    printer_index = await printer_device_index(data)
    hr_descr = None
    if printer_index is not None:
        descrs = await data.column(oids.HR_DEVICE_DESCR)
        hr_descr = data.text(descrs.get((printer_index,)), "hrDeviceDescr")

    device_id = parse_device_id(await _device_id(data))
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

    await data.walk(oids.PRT_GENERAL_ENTRY)
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
        uptime_seconds=ticks_to_seconds(uptime if isinstance(uptime, int) else None),
    )


async def _device_id(data: DeviceData) -> bytes | None:
    """The raw IEEE 1284 device ID: the PWG column first, then vendor OIDs that hold one.

    Raw octets, because some agents keep the binary length prefix of the 1284
    wire form, which `parse_device_id` knows how to skip. The vendor OIDs are
    scalars (or first rows), so one batched GET asks for all of them, and only
    when the standard column is empty.
    """
    column = await data.column(DEVICE_ID_OIDS[0])
    for index in sorted(column):
        value = column[index]
        if isinstance(value, bytes) and value.strip(b"\x00 "):
            return value
    candidates = [(*oid, row) for oid in DEVICE_ID_OIDS[1:] for row in (0, 1)]
    found = await data.get(candidates)
    for oid in candidates:
        raw = found.get(oid)
        if isinstance(raw, bytes) and raw.strip(b"\x00 "):
            return raw
    return None


async def _first_text(data: DeviceData, column: Oid) -> str | None:
    """The first non-empty string in a column, in index order."""
    values = await data.column(column)
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
    addresses = await data.column(oids.IF_PHYS_ADDRESS)
    if not addresses:
        return None
    types = await data.column(oids.IF_TYPE)
    ranked = sorted(addresses, key=lambda idx: (types.get(idx) not in _ETHERNET_LIKE, idx))
    for index in ranked:
        raw = addresses[index]
        mac = decode_mac(raw if isinstance(raw, bytes) else None)
        if mac is not None:
            return mac
    return None
