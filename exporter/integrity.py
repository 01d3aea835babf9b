"""Counter integrity across polls: decreases, wraps, and vendor totals that disagree. Pure.

For billing, a meter is a promise: it only goes up. `detect_events(previous,
current)` compares two consecutive reads of the same device and returns a
`CounterEvent` for each broken promise:

- **wrap** (`kind="wrap"`): the counter went down, but the previous value was
  close to a counter width and the new one is small, and the implied increase
  is plausible. Widths tried, smallest first: 2^24 (HP's engine counters roll
  over at 16,777,215), 2^31 (Integer32 meters) and 2^32 (Counter32).
  "Close" means within 1/16 of the width. The real increase is
  `current + width - previous`, given in `detail`.
- **decrease** (`kind="decrease"`): any other drop. A reset, a controller
  board swap, a replaced device behind the same address. The value read is
  real but it is not a continuation of the old meter.
- **total mismatch** (`kind="total_mismatch"`, within one read): a vendor
  total (`vendor_total`) differs from prtMarkerLifeCount (`total`) by more
  than the tolerance (default 2 % of the total, at least 10). `previous` holds
  prtMarkerLifeCount and `current` the vendor value. Some makers legitimately
  leave reports or test pages out of one of them, so this is a warning for a
  technician, not a reason to drop either meter.

How the caller (the poller) must treat a decrease, so that a decreased meter
is never passed off as a valid read:

1. keep the event: record it in the snapshot's `counter_events` and count it
   in a metric (`printer_counter_events_total{counter,kind}`);
2. call `withhold_decreased(current, events)` and publish that, so the
   decreased counter is **absent** from this poll's snapshot (metrics and the
   archive's meter-read export see no value rather than a lower one);
3. keep the new value as the baseline for the next comparison, so the meter
   reappears on the next poll if it grows from there. The archive rebases
   billing at the event; nothing is computed across it.

A wrap keeps its counter (the device value is genuine), but consumers that
compute usage must add the width, as `detail` says. Counters in different
units, or present in only one read, are not compared, and neither is
`power_on` (`vendor_power_on`): it starts again at every power cycle by design.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from exporter.model import Counter, CounterEvent

__all__ = [
    "RESETTING",
    "WRAP_WIDTHS",
    "CounterEvent",
    "detect_events",
    "meter_changes",
    "total_mismatch",
    "withhold_decreased",
    "wrap_width",
]

WRAP_WIDTHS: Final = (2**24, 2**31, 2**32)
RESETTING: Final = frozenset({"power_on", "vendor_power_on"})
"""Counters that restart at every power cycle: never a decrease."""
_NEAR: Final = 16
"""Within width/16 of the top before, below width/16 after."""


def wrap_width(previous: int, current: int) -> int | None:
    """The width a drop from `previous` to `current` wrapped across, or None for no wrap."""
    for width in WRAP_WIDTHS:
        margin = width // _NEAR
        if width - margin <= previous < width and 0 <= current < margin:
            return width
    return None


def detect_events(
    previous: Sequence[Counter] | None,
    current: Sequence[Counter],
    *,
    tolerance: float = 0.02,
    min_tolerance: int = 10,
) -> tuple[CounterEvent, ...]:
    """Events between two reads of one device (`previous` None on the first poll)."""
    mismatch = total_mismatch(current, tolerance=tolerance, min_tolerance=min_tolerance)
    return (*meter_changes(previous, current), *mismatch)


def meter_changes(
    previous: Sequence[Counter] | None, current: Sequence[Counter]
) -> tuple[CounterEvent, ...]:
    """The wraps and decreases between two reads (raw values, as the device sent them)."""
    events: list[CounterEvent] = []
    before = {c.name: c for c in previous or ()}
    for counter in current:
        old = before.get(counter.name)
        if counter.name in RESETTING or old is None:
            continue
        if old.unit != counter.unit or counter.value >= old.value:
            continue
        width = wrap_width(old.value, counter.value)
        if width is not None:
            delta = counter.value + width - old.value
            events.append(
                CounterEvent(
                    "wrap",
                    counter.name,
                    old.value,
                    counter.value,
                    f"wrapped at 2^{width.bit_length() - 1}: increase {delta} {counter.unit}",
                )
            )
        else:
            events.append(
                CounterEvent(
                    "decrease",
                    counter.name,
                    old.value,
                    counter.value,
                    f"went down by {old.value - counter.value} {counter.unit} "
                    f"(reset, board swap or another device): withheld from this read",
                )
            )
    return tuple(events)


def total_mismatch(
    current: Iterable[Counter], *, tolerance: float = 0.02, min_tolerance: int = 10
) -> tuple[CounterEvent, ...]:
    """A vendor total that disagrees with prtMarkerLifeCount beyond the tolerance.

    Compared as running totals (wraps added, `Counter.offset`): HP's vendor total rolls
    over at 2^24 where prtMarkerLifeCount may not, and the two reads of one poll can fall
    on either side of a wrap; neither is a disagreement about pages printed."""
    by_name = {c.name: c for c in current}
    total, vendor = by_name.get("total"), by_name.get("vendor_total")
    if total is None or vendor is None or total.unit != vendor.unit:
        return ()
    expected, got = total.running_total, vendor.running_total
    allowed = max(min_tolerance, round(expected * tolerance))
    gap = got - expected
    if abs(gap) <= allowed:
        return ()
    return (
        CounterEvent(
            "total_mismatch",
            "vendor_total",
            expected,
            got,
            f"vendor total {got} ({vendor.source}) differs from prtMarkerLifeCount "
            f"{expected} ({total.source}) by {gap:+d}, more than {allowed}",
        ),
    )


def withhold_decreased(
    current: Sequence[Counter], events: Iterable[CounterEvent]
) -> tuple[Counter, ...]:
    """`current` without the counters that decreased: what a poll may publish."""
    dropped = {e.counter for e in events if e.kind == "decrease"}
    return tuple(c for c in current if c.name not in dropped)
