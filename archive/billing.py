"""Pages used in a period, from a meter's readings: the rules billing depends on. Pure.

    usage(readings, withheld) -> Usage(first, last, readings, pages, wrapped, reset,
                                        counter_event)

`readings` are one meter's values (one agent, device, counter and unit) taken
in the period; `withheld` are the times, in the period, of the exporter's
`counter_events` of kind `decrease` for that counter: polls where the meter
went down and the exporter withheld the value (docs/snapshot.md).

Pages are the sum of the steps between consecutive readings `a -> b`:

1. **A withheld reading between them** (a decrease event at a time t with
   a.at < t <= b.at): the step counts 0 and the period is flagged
   `counter_event`. The meter was rebased at t, so b is not a continuation of
   a, and nothing is computed across the event (exporter/integrity.py).
2. **b >= a**: b - a.
3. **A wrap** (`wrap_width`): b + W - a, flagged `wrapped`. The rule is the
   exporter's own function (`exporter.integrity.wrap_width`), so both
   sides agree on what a wrap is. For a counter width
   W in 2^24, 2^31, 2^32 (tried in that order): a was within W/16 below W
   (W - W/16 <= a < W) and b is below W/16 (0 <= b < W/16). For 2^32 that is
   a >= 4,026,531,840 and b < 268,435,456; the implied increase is then less
   than W/8, which a real printer's meter can reach between two polls, while
   a reset to a small value from a low reading never looks like a wrap.
4. **Any other decrease** (a reset, a board swap, another device at the
   address): the step counts 0 and the period is flagged `reset`. The pages
   before and after it count; the drop itself is not a negative usage.

A `decrease` event anywhere in the period flags it `counter_event`, even when
it fell before the first reading, so that an invoice line built on a period
the exporter found suspicious says so. Readings are taken in time order;
two readings at the same instant are taken in the order given.

Why the device's `value` and not `value + offset` (the exporter's running total,
docs/snapshot.md): the two give the same pages whenever the exporter's meter
ledger is intact (its offset grows by W exactly where this rule sees a wrap),
and the device value stays right when the ledger is not (a damaged ledger file
starts the offsets again at 0, which a running total would show as a drop).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from exporter.integrity import WRAP_WIDTHS, wrap_width

__all__ = ["WRAP_WIDTHS", "Reading", "Usage", "step", "usage", "wrap_width"]


@dataclass(frozen=True, slots=True)
class Reading:
    at: datetime
    value: int
    serial: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    first: Reading | None
    last: Reading | None
    readings: int
    pages: int
    wrapped: bool = False
    reset: bool = False
    counter_event: bool = False

    @property
    def flags(self) -> tuple[str, ...]:
        """`wrapped`, `reset`, `counter_event`: those that hold, in that order."""
        pairs = (("wrapped", self.wrapped), ("reset", self.reset))
        return tuple(name for name, on in (*pairs, ("counter_event", self.counter_event)) if on)


def step(previous: int, current: int) -> tuple[int, str | None]:
    """Pages between two consecutive readings with no event between them, and the flag
    the step raises (`wrapped`, `reset` or None)."""
    if current >= previous:
        return current - previous, None
    width = wrap_width(previous, current)
    if width is not None:
        return current + width - previous, "wrapped"
    return 0, "reset"


def usage(readings: Sequence[Reading], withheld: Sequence[datetime] = ()) -> Usage:
    """One meter's usage in a period; see the module docstring for the rules."""
    ordered = sorted(readings, key=lambda r: r.at)
    events = sorted(withheld)
    pages, wrapped, reset = 0, False, False
    for a, b in itertools.pairwise(ordered):
        after = bisect.bisect_right(events, a.at)
        if after < len(events) and events[after] <= b.at:
            continue  # rebased at the event: nothing across it
        pages_step, flag = step(a.value, b.value)
        pages += pages_step
        wrapped = wrapped or flag == "wrapped"
        reset = reset or flag == "reset"
    return Usage(
        first=ordered[0] if ordered else None,
        last=ordered[-1] if ordered else None,
        readings=len(ordered),
        pages=pages,
        wrapped=wrapped,
        reset=reset,
        counter_event=bool(events),
    )
