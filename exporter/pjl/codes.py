"""PJL status codes (HP's PJL Technical Reference, appendix D) in the snapshot's status words.

The first two digits of a code give its group; a few codes within a group are
precise enough to name an hrPrinterDetectedErrorState condition. The device
state follows RFC 3805's overall-status table (section 2.2.13.2): an offline
printer or one that needs an operator is `down`, one that works with a problem
is `warning`. A code this module does not know keeps the state `unknown`
rather than guessing; the panel text (DISPLAY) still goes to `console`, so a
person sees what the printer says.

DISPLAY is localised (the manual says to use CODE in software), so nothing here
reads it.
"""

from __future__ import annotations

from typing import Final

from exporter.model import DeviceStatus, PrinterStatus, Status
from exporter.pjl.parse import PjlStatus
from exporter.readers.decode import ERROR_CONDITIONS

_GROUP_DEVICE: Final[dict[int, DeviceStatus]] = {
    10: "running",  # informational
    11: "warning",  # background paper mount: a tray is empty, another one feeds
    12: "warning",  # background paper tray status: tray open or lifting
    15: "warning",  # output bin status
    30: "warning",  # auto-continuable conditions
    35: "warning",  # possible operator intervention
    40: "down",  # operator intervention required
    41: "down",  # foreground paper mount: out of paper, nothing else to feed from
    42: "down",  # paper jam
    43: "down",  # optional paper handling device
    44: "down",  # paper jam (LaserJet 4000/5000 series)
    50: "down",  # hardware error
}
"""Device state by code group. The PJL parser groups (20, 25, 27, 32) describe our own
commands, not the printer, and are left out."""

_CODE_DEVICE: Final[dict[int, DeviceStatus]] = {
    10004: "testing",  # self test
    10006: "warning",  # toner low
    10013: "testing",  # self test
    10014: "testing",  # printing test page
    10016: "testing",  # engine test
}

_CODE_PRINTER: Final[dict[int, PrinterStatus]] = {
    10000: "idle",  # power save
    10001: "idle",  # ready, online
    10002: "idle",  # ready, offline
    10003: "warmup",  # warming up
    10006: "idle",  # toner low (ready)
    10023: "printing",  # processing job
    10024: "printing",  # data received
}

_CODE_ERRORS: Final[dict[int, str]] = {
    10006: "low_toner",
    40010: "marker_supply_missing",  # no EP cartridge
    40019: "output_full",  # remove paper from the output bin
    40021: "door_open",  # printer open
    40022: "jammed",  # paper jam
    40038: "low_toner",  # toner low, operator must confirm
    40079: "offline",  # taken offline at the panel
}

_GROUP_ERRORS: Final[dict[int, str]] = {
    41: "no_paper",
    42: "jammed",
    44: "jammed",
}


_SEVERITY: Final[tuple[DeviceStatus, ...]] = ("running", "testing", "warning", "down")
"""Least to most severe: with several codes (`CODE2=`...), the device is in the worst."""


def to_status(pjl: PjlStatus) -> Status:
    """The snapshot's `status` from INFO STATUS: device and printer state, error names in
    bit order, and the panel text as the one console line."""
    codes = [c for c in (pjl.code, *pjl.more_codes) if c is not None]
    errors = {e for c in codes if (e := _error(c)) is not None}
    if pjl.online is False:
        errors.add("offline")
    device = _device(codes, pjl.online, errors)
    printer = _CODE_PRINTER.get(pjl.code, "unknown") if pjl.code is not None else "unknown"
    if printer == "unknown" and device == "down":
        printer = "other"
    return Status(
        device=device,
        printer=printer,
        errors=tuple(name for name in ERROR_CONDITIONS if name in errors),
        console=(pjl.display,) if pjl.display else (),
    )


def _error(code: int) -> str | None:
    return _CODE_ERRORS.get(code) or _GROUP_ERRORS.get(code // 1000)


def _device(codes: list[int], online: bool | None, errors: set[str]) -> DeviceStatus:
    if online is False:
        return "down"  # RFC 3805: off-line is down with the offline condition
    known = [
        state
        for code in codes
        if (state := _CODE_DEVICE.get(code) or _GROUP_DEVICE.get(code // 1000)) is not None
    ]
    if known:
        return max(known, key=_SEVERITY.index)
    return "warning" if errors else "unknown"
