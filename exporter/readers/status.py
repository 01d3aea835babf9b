"""What state the device is in: hrDeviceStatus, hrPrinterStatus, error bits, panel and covers.

The error state is a BITS value that agents encode in every way the standard
allows and some it does not (one octet, two octets, an INTEGER). Decoding is
left to `decode_error_state`; this module only finds the right row.
"""

from __future__ import annotations

from exporter.model import Cover, DeviceStatus, PrinterStatus, Status
from exporter.readers import enums, oids
from exporter.readers.decode import decode_error_state, decode_text
from exporter.readers.enums import int_text
from exporter.readers.fetch import INTEGER32, DeviceData
from exporter.readers.identity import printer_device_index
from exporter.snmp import SnmpProtocolError
from exporter.snmp.types import format_oid

_MAX_CONSOLE_LINES = 32


async def read_status(data: DeviceData) -> Status:
    (device_states,) = await data.table(oids.HR_DEVICE_ENTRY, (oids.HR_DEVICE_STATUS,), arity=1)
    index = await printer_device_index(data)
    status_column, errors_column = await data.table(
        oids.HR_PRINTER_ENTRY,
        (oids.HR_PRINTER_STATUS, oids.HR_PRINTER_DETECTED_ERROR_STATE),
        arity=1,
    )
    row = (index,) if index is not None else min(status_column, default=None)

    device: DeviceStatus = "unknown"
    printer: PrinterStatus = "unknown"
    errors: tuple[str, ...] = ()
    if row is not None:
        raw = data.integer(
            device_states.get(row), format_oid(oids.HR_DEVICE_STATUS + row), valid=INTEGER32
        )
        device = enums.device_status(raw)
        raw_status = data.integer(
            status_column.get(row), format_oid(oids.HR_PRINTER_STATUS + row), valid=INTEGER32
        )
        printer = enums.printer_status(raw_status)
        raw_errors = errors_column.get(row)
        if isinstance(raw_errors, int):
            data.warn(
                f"hrPrinterDetectedErrorState: sent as INTEGER {int_text(raw_errors)}, not BITS"
            )
        errors = decode_error_state(raw_errors if isinstance(raw_errors, bytes | int) else None)

    return Status(
        device=device,
        printer=printer,
        errors=errors,
        console=await _console(data),
        covers=await _covers(data),
    )


async def _console(data: DeviceData) -> tuple[str, ...]:
    """The panel's lines. Optional: a console table the agent cannot serve costs only itself."""
    try:
        lines = await data.column(oids.PRT_CONSOLE_DISPLAY_BUFFER_TEXT, arity=2)
    except SnmpProtocolError as exc:
        data.warn(f"prtConsoleDisplayBufferTable not read ({exc})")
        return ()
    out: list[str] = []
    for index in sorted(lines)[:_MAX_CONSOLE_LINES]:
        value = lines[index]
        text = decode_text(value) if isinstance(value, bytes) else None
        if text:
            out.append(text)
    return tuple(out)


async def _covers(data: DeviceData) -> tuple[Cover, ...]:
    """Covers, optional like the console: the device and printer states do not depend on them."""
    try:
        descriptions, statuses = await data.table(
            oids.PRT_COVER_ENTRY, (oids.PRT_COVER_DESCRIPTION, oids.PRT_COVER_STATUS), arity=2
        )
    except SnmpProtocolError as exc:
        data.warn(f"prtCoverTable not read ({exc})")
        return ()
    covers = []
    for index in sorted(statuses):
        raw = data.integer(
            statuses[index], format_oid(oids.PRT_COVER_STATUS + index), valid=INTEGER32
        )
        covers.append(
            Cover(
                index=index[-1],
                description=data.text(
                    descriptions.get(index), format_oid(oids.PRT_COVER_DESCRIPTION + index)
                ),
                status=enums.cover_status(raw),
            )
        )
    return tuple(covers)
