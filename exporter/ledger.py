"""The meter ledger: each device's meters as last read, and what their wraps have cost.

A printer's meter wraps: HP engine counters roll over at 2^24, others at 2^31
or 2^32. Exposed as read, a wrap looks like a reset to Prometheus, and
`increase()` over it counts 500 pages where 777,716 were printed. So the
ledger keeps, per device and meter, an `offset`: the sum of the widths the
meter wrapped across while the exporter watched. The exposed meter is
`value + offset` (`Counter.running_total`), which only goes up across wraps;
the snapshot keeps the raw `value` too, for audit.

Why a file: the offsets, and the last value read, must survive a restart.
Otherwise a meter that wrapped before the restart drops back by its width on
the first poll after it, and one that wraps while the exporter is down is
never noticed at all. The file is small (a few hundred bytes per device),
written atomically (temp file, fsync, rename, fsync of the directory) in a
thread, at once after a wrap and otherwise at most every `save_every` seconds.
A file that cannot be read or parsed is moved aside (`*.corrupt`) with a
warning, and the ledger starts empty: the next poll of each device becomes
its new baseline, and no meter is guessed at.

A real decrease (reset, board swap) is not a wrap: it moves no offset. The
poller withholds that read (exporter/integrity.py), and the value
read becomes the new baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from exporter.integrity import wrap_width
from exporter.model import Counter, CounterEvent

log = logging.getLogger(__name__)

SCHEMA: Final = "printer-exporter-ledger/1"
LEDGER_FILE: Final = "meter-ledger.json"
"""The ledger's file name in `--storage.path`."""
FORGET_AFTER: Final = 90 * 86400.0
"""A device not read for this long is dropped from the ledger (it left the site)."""


@dataclass(slots=True)
class _Meter:
    last: int
    unit: str
    offset: int = 0


class MeterLedger:
    """Per device and meter: the last value read and the offset its wraps added."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        save_every: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._save_every = save_every
        self._clock = clock
        self._meters: dict[str, dict[str, _Meter]] = {}
        self._seen: dict[str, float] = {}
        self._changes = 0
        """Bumped by every `observe`: a save is current while this has not moved."""
        self._saved_changes = 0
        self._urgent = False
        """A wrap moved an offset since the last save: write at the next chance."""
        self._saved_at = float("-inf")
        self._flushing = False
        if path is not None:
            self._load(path)

    # --- what the poller asks ----------------------------------------------------

    def baseline(self, target: str) -> tuple[Counter, ...]:
        """The device's meters as last read (raw values), to compare the next read with."""
        meters = self._meters.get(target, {})
        return tuple(Counter(name, m.last, m.unit, "ledger") for name, m in meters.items())

    def running(self, target: str, name: str) -> int | None:
        """The meter as last exposed (its last read plus the wraps it made), or None."""
        meter = self._meters.get(target, {}).get(name)
        return meter.last + meter.offset if meter is not None else None

    def observe(self, target: str, read: Sequence[Counter], events: Iterable[CounterEvent]) -> None:
        """Take one poll's meters (all of them, withheld ones too) and its events.

        A wrap adds its width to the meter's offset, and the file is written at
        once; every value read becomes the meter's `last`. A meter with another
        unit than before starts afresh (its offset meant other units).
        """
        meters = self._meters.setdefault(target, {})
        self._seen[target] = self._clock()
        wrapped = False
        for event in events:
            if event.kind != "wrap" or event.previous is None or event.current is None:
                continue
            width = wrap_width(event.previous, event.current)
            meter = meters.get(event.counter)
            if width is not None and meter is not None:
                meter.offset += width
                wrapped = True
        for counter in read:
            meter = meters.get(counter.name)
            if meter is None or meter.unit != counter.unit:
                meters[counter.name] = _Meter(counter.value, counter.unit)
            else:
                meter.last = counter.value
        self._changes += 1
        self._urgent = self._urgent or wrapped

    def with_offsets(self, target: str, counters: Sequence[Counter]) -> tuple[Counter, ...]:
        """`counters` with each one's offset set, so `running_total` is what to expose."""
        meters = self._meters.get(target, {})
        out = []
        for counter in counters:
            meter = meters.get(counter.name)
            offset = meter.offset if meter is not None and meter.unit == counter.unit else 0
            out.append(dataclasses.replace(counter, offset=offset) if offset else counter)
        return tuple(out)

    # --- the file --------------------------------------------------------------------

    def due(self) -> bool:
        """Whether the file is behind: after a wrap at once, else every `save_every` s."""
        if self.path is None or self._changes == self._saved_changes:
            return False
        return self._urgent or self._clock() - self._saved_at >= self._save_every

    async def flush(self) -> None:
        """Save if due, with the write and its fsyncs in a thread: the poller's loop only
        builds the document. Polls may call this at once; one save runs at a time.

        Every save holds offsets and last values of one moment together, so a crash
        between saves loses nothing that matters: the next start compares each meter
        with the last value saved, and a wrap since then is found again."""
        if self._flushing or not self.due():
            return
        self._flushing = True
        try:
            changes, data = self._changes, self._document()
            await asyncio.to_thread(self._write, data, changes)
        finally:
            self._flushing = False

    def save(self) -> None:
        """Write the ledger now, on this thread (at shutdown)."""
        if self.path is not None and self._changes != self._saved_changes:
            self._write(self._document(), self._changes)

    def _write(self, data: bytes, changes: int) -> None:
        """Write one document. A failure is logged, never raised: the poll goes on, the
        ledger in memory is intact, and the next save tries again."""
        assert self.path is not None
        try:
            _write_atomically(self.path, data)
        except OSError as exc:
            log.error("cannot write the meter ledger %s: %s (kept in memory)", self.path, exc)
            return
        self._saved_changes = changes
        self._urgent = self._urgent and changes != self._changes
        self._saved_at = self._clock()

    def _document(self) -> bytes:
        """The file's bytes for the ledger as it is now; devices unseen for FORGET_AFTER go."""
        now = self._clock()
        for target in [t for t, at in self._seen.items() if now - at > FORGET_AFTER]:
            self._meters.pop(target, None)
            self._seen.pop(target, None)
        devices = {
            target: {
                "seen": self._seen.get(target, 0.0),
                "meters": {
                    name: {"last": m.last, "unit": m.unit, "offset": m.offset}
                    for name, m in sorted(meters.items())
                },
            }
            for target, meters in sorted(self._meters.items())
        }
        return json.dumps({"schema": SCHEMA, "devices": devices}, indent=1).encode()

    def _load(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.error("cannot read the meter ledger %s: %s; starting empty", path, exc)
            return
        try:
            self._meters, self._seen = _parse(json.loads(raw))
        except (ValueError, TypeError, KeyError) as exc:
            aside = path.with_name(f"{path.name}.corrupt")
            with contextlib.suppress(OSError):
                path.replace(aside)
            log.warning(
                "the meter ledger %s is damaged (%s); moved to %s and starting empty: each"
                " device's next read becomes its baseline",
                path,
                str(exc)[:200],
                aside,
            )


def _parse(doc: Any) -> tuple[dict[str, dict[str, _Meter]], dict[str, float]]:
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document")
    meters: dict[str, dict[str, _Meter]] = {}
    seen: dict[str, float] = {}
    devices = doc["devices"]
    if not isinstance(devices, dict):
        raise ValueError("devices is not a mapping")
    for target, device in devices.items():
        entry: dict[str, _Meter] = {}
        if not isinstance(device, dict) or not isinstance(device["meters"], dict):
            raise ValueError(f"bad device {target!r}")
        for name, m in device["meters"].items():
            last, unit, offset = m["last"], m["unit"], m["offset"]
            if not (
                isinstance(last, int)
                and isinstance(offset, int)
                and isinstance(unit, str)
                and last >= 0
                and offset >= 0
            ):
                raise ValueError(f"bad meter {name!r} of {target!r}")
            entry[str(name)] = _Meter(last, unit, offset)
        meters[str(target)] = entry
        seen[str(target)] = float(device.get("seen", 0.0))
    return meters, seen


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
