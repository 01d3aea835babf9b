"""What state the device is in: hrDeviceStatus, hrPrinterStatus, error bits, panel and covers.

The error state is a BITS value that agents encode in every way the standard
allows and some it does not (one octet, two octets, an INTEGER). Decoding is
left to `decode_error_state`; this module only finds the right row.
"""

from __future__ import annotations

from exporter.model import Cover, DeviceStatus, PrinterStatus, Status
from exporter.readers import enums, oids
from exporter.readers.decode import decode_error_state, decode_text
from exporter.readers.fetch import DeviceData
from exporter.readers.identity import printer_device_index
from exporter.snmp.types import format_oid

_MAX_CONSOLE_LINES = 32


async def read_status(data: DeviceData) -> Status:
    await data.walk(oids.HR_DEVICE_ENTRY)
    index = await printer_device_index(data)
    printers = await data.walk(oids.HR_PRINTER_ENTRY)
    status_column = printers.column(oids.HR_PRINTER_STATUS)
    errors_column = printers.column(oids.HR_PRINTER_DETECTED_ERROR_STATE)
    row = (index,) if index is not None else min(status_column, default=None)

    device: DeviceStatus = "unknown"
    if row is not None:
        raw = data.integer((await data.column(oids.HR_DEVICE_STATUS)).get(row), "hrDeviceStatus")
        device = enums.device_status(raw)

    printer: PrinterStatus = "unknown"
    errors: tuple[str, ...] = ()
    if row is not None:
        raw_status = data.integer(status_column.get(row), "hrPrinterStatus")
        printer = enums.printer_status(raw_status)
        raw_errors = errors_column.get(row)
        if isinstance(raw_errors, int):
            data.warn(f"hrPrinterDetectedErrorState: sent as INTEGER {raw_errors}, not BITS")
        errors = decode_error_state(raw_errors if isinstance(raw_errors, bytes | int) else None)

    return Status(
        device=device,
        printer=printer,
        errors=errors,
        console=await _console(data),
        covers=await _covers(data),
    )


async def _console(data: DeviceData) -> tuple[str, ...]:
    lines = await data.column(oids.PRT_CONSOLE_DISPLAY_BUFFER_TEXT)
    out: list[str] = []
    for index in sorted(lines)[:_MAX_CONSOLE_LINES]:
        value = lines[index]
        text = decode_text(value) if isinstance(value, bytes) else None
        if text:
            out.append(text)
    return tuple(out)


async def _covers(data: DeviceData) -> tuple[Cover, ...]:
    table = await data.walk(oids.PRT_COVER_ENTRY)
    descriptions = table.column(oids.PRT_COVER_DESCRIPTION)
    statuses = table.column(oids.PRT_COVER_STATUS)
    covers = []
    for index in sorted(statuses):
        raw = data.integer(statuses[index], format_oid(oids.PRT_COVER_STATUS + index))
        covers.append(
            Cover(
                index=index[-1],
                description=data.text(descriptions.get(index), "prtCoverDescription"),
                status=enums.cover_status(raw),
            )
        )
    return tuple(covers)
