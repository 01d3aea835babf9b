"""Read one device into one `Snapshot`: run every reader, time each, survive each; then the
device's vendor profile. The poll's orchestrator, above both the readers and the profiles.

Readers run in sequence against one shared `DeviceData`, so a table two
readers need is walked once. A reader that fails does not sink the poll:
- an agent that stops answering mid-poll ends the poll (more requests would
  only wait out more timeouts), but keeps what was read, with `error` set;
- any other failure, including a bug of ours, costs only that reader's part
  and leaves a warning in the snapshot;
- when every reader failed, `error` says so and names the first failure, so
  a snapshot never reads `reachable: false` without a reason.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from exporter.model import Counter, DeviceRead, Identity, ReaderRun, Snapshot, utc_now
from exporter.profiles import (
    Applied,
    Database,
    Match,
    VendorRead,
    apply_vendor_read,
    default_database,
    explain,
    match_profile,
    read_vendor,
)
from exporter.profiles.apply import merge_counters
from exporter.readers import oids
from exporter.readers.alerts import read_alerts
from exporter.readers.fetch import DeviceData
from exporter.readers.identity import read_identity
from exporter.readers.meters import read_counters
from exporter.readers.pwg_counters import read_pwg_counters
from exporter.readers.status import read_status
from exporter.readers.supplies import is_color_supply, read_supplies, read_trays
from exporter.snmp import SnmpClient, SnmpError, SnmpTimeout

__all__ = [
    "FALLBACK_COUNTERS",
    "READERS",
    "DeviceRead",
    "ReaderRun",
    "all_failed",
    "explain_device",
    "read_device",
    "utc_now",
]

log = logging.getLogger(__name__)

Reader = Callable[[DeviceData], Awaitable[Any]]

READERS: tuple[tuple[str, Reader], ...] = (
    ("identity", read_identity),
    ("status", read_status),
    ("counters", read_counters),
    ("pwg_counters", read_pwg_counters),
    ("supplies", read_supplies),
    ("trays", read_trays),
    ("alerts", read_alerts),
)
"""Snapshot field name (or `FALLBACK_COUNTERS`) and the reader that fills it, in running order."""

FALLBACK_COUNTERS = "pwg_counters"
"""A reader whose counters rank below prtMarkerLifeCount and the vendor profile: it is no
snapshot field; its counters are merged after the profile, under names nobody else gave."""

_MAX_COLORANTS = 65535
"""prtMarkerProcessColorants' SYNTAX: a count past it is garbage, not a very colourful device."""


async def read_device(
    client: SnmpClient, profiles: Database | None = None, *, total_floor: int | None = None
) -> DeviceRead:
    """Read one device: the standard readers, then its vendor profile (`profiles`, or the
    database shipped with the exporter).

    `total_floor` is the device's total as the poller last exposed it (wraps added): the
    profile engine's sanity bound for part meters, which a raw total that just wrapped
    would otherwise undercut."""
    started = time.perf_counter()
    taken_at = utc_now()
    data = DeviceData(client)
    parts: dict[str, Any] = {}
    runs: list[ReaderRun] = []
    error: str | None = None
    failures: list[tuple[str, str]] = []
    for name, reader in READERS:
        t0 = time.perf_counter()
        try:
            parts[name] = await reader(data)
        except SnmpTimeout as exc:
            runs.append(ReaderRun(name, time.perf_counter() - t0, False))
            error = str(exc) if not parts else f"{name}: {exc}"
            break
        except SnmpError as exc:
            data.warn(f"{name}: {exc}")
            failures.append((name, str(exc)))
            ok = False
        except Exception as exc:  # a bug of ours must not cost the whole poll
            log.exception("reader %s failed on %s", name, client.target)
            data.warn(f"{name}: internal error while reading (see the exporter log)")
            failures.append((name, f"internal error ({type(exc).__name__})"))
            ok = False
        else:
            ok = True
        runs.append(ReaderRun(name, time.perf_counter() - t0, ok))
    fallback: tuple[Counter, ...] = parts.pop(FALLBACK_COUNTERS, ())
    # An optional MIB that failed says nothing about whether the device answered.
    failures = [failure for failure in failures if failure[0] != FALLBACK_COUNTERS]
    if error is None and not parts and failures:
        error = all_failed(failures)

    if "identity" in parts and error is None:
        t0 = time.perf_counter()
        try:
            await _apply_profile(data, parts, profiles or default_database(), total_floor)
        except SnmpTimeout as exc:
            error = f"profile: {exc}"
            ok = False
        except SnmpError as exc:
            data.warn(f"profile: {exc}")
            ok = False
        except Exception:  # a bug of ours, or a profile that does not fit this device
            log.exception("vendor profile failed on %s", client.target)
            data.warn("profile: internal error while reading (see the exporter log)")
            ok = False
        else:
            ok = True
        runs.append(ReaderRun("profile", time.perf_counter() - t0, ok))
    if parts and fallback:
        parts["counters"] = merge_counters(parts.get("counters", ()), fallback)
    if "identity" in parts:
        parts["identity"] = dataclasses.replace(
            parts["identity"], color=await _is_color(data, parts)
        )
    snapshot = Snapshot(
        target=client.target,
        taken_at=taken_at,
        duration_seconds=round(time.perf_counter() - started, 6),
        reachable=bool(parts),
        error=error,
        warnings=tuple(data.warnings),
        **parts,
    )
    return DeviceRead(snapshot, tuple(runs))


_MAX_ERROR_CHARS = 400


def all_failed(failures: Sequence[tuple[str, str]]) -> str:
    """The snapshot's `error` when no reader got anything: which ones failed, and the first why.

    One line and bounded, because it is shown as one line (the device page,
    `probe`, the poller's log); every reader's own error is in `warnings`.
    """
    names = ", ".join(name for name, _ in failures)
    first_name, first_error = failures[0]
    line = " ".join(f"every reader failed ({names}); first: {first_name}: {first_error}".split())
    return line if len(line) <= _MAX_ERROR_CHARS else line[: _MAX_ERROR_CHARS - 3] + "..."


async def _profile(
    data: DeviceData, parts: dict[str, Any], database: Database, total_floor: int | None = None
) -> tuple[Match, VendorRead, Applied] | None:
    """The matching vendor profile, what it read, and the snapshot parts with it merged in.

    The Printer-MIB parts stay the base: a profile adds to them, fills gaps and
    applies documented quirks, and every change is noted for `profiles explain`.
    """
    identity: Identity = parts["identity"]
    match = match_profile(database, identity)
    if match is None:
        return None
    counters = parts.get("counters", ())
    vendor = await read_vendor(data, match.profile, counters, total_floor=total_floor)
    applied = apply_vendor_read(identity, counters, parts.get("supplies", ()), vendor)
    return match, vendor, applied


async def _apply_profile(
    data: DeviceData, parts: dict[str, Any], database: Database, total_floor: int | None
) -> None:
    found = await _profile(data, parts, database, total_floor)
    if found is None:
        return
    match, _, applied = found
    parts["identity"] = dataclasses.replace(applied.identity, profile=match.profile.name)
    if "counters" in parts or applied.counters:
        parts["counters"] = applied.counters
    if "supplies" in parts or applied.supplies:
        parts["supplies"] = applied.supplies


async def explain_device(client: SnmpClient, profiles: Database | None = None) -> str:
    """`profiles explain`: which profile matches the device, why, and where each value came from.

    SNMP errors propagate: the command reports them instead of explaining half a read.
    """
    data = DeviceData(client)
    parts: dict[str, Any] = {
        "identity": await read_identity(data),
        "counters": await read_counters(data),
        "supplies": await read_supplies(data),
    }
    found = await _profile(data, parts, profiles or default_database())
    if found is None:
        return explain(None, None)
    return explain(*found)


async def _is_color(data: DeviceData, parts: dict[str, Any]) -> bool | None:
    """Colour or mono, from the marker's process colorants, else from the supplies' colours.

    Uses only data already fetched; None when the device says nothing either way.
    """
    try:
        colorants = list((await data.column(oids.PRT_MARKER_PROCESS_COLORANTS)).values())
    except SnmpError:
        colorants = []
    counts = [c for c in colorants if isinstance(c, int) and 0 < c <= _MAX_COLORANTS]
    if counts:
        return max(counts) > 1
    supplies = parts.get("supplies") or ()
    colors = [
        s.color for s in supplies if s.type in ("toner", "toner_cartridge", "ink", "ink_cartridge")
    ]
    if any(is_color_supply(c) for c in colors):
        return True
    if colors and all(c == "black" for c in colors):
        return False
    return None
