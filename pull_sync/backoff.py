"""When to try again: exponential backoff with full jitter, and the server's Retry-After.

Full jitter (a uniform draw in [0, min(cap, base * 2**n)]) rather than a fixed
doubling: when an archive comes back after an outage, thousands of agents that
failed at the same moment must not all retry at the same moment too. The
archive's `Retry-After` is a floor under that draw, not a replacement for it,
and is itself bounded: a server must not be able to park an agent for a year.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from email.utils import parsedate_to_datetime

RETRY_AFTER_CEILING = 6 * 3600.0
"""The longest a Retry-After is obeyed; longer values are cut to this."""
_MAX_EXPONENT = 62


def full_jitter(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after the `attempt`-th consecutive failure (0 for the first)."""
    exponent = min(max(attempt, 0), _MAX_EXPONENT)
    return rand() * min(cap, base * 2.0**exponent)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """A Retry-After header -> seconds from `now` (wall clock), or None if absent or bad.

    Both forms of RFC 9110: a number of seconds, or an HTTP-date. A date in the past
    means "now" (0); anything unparsable is ignored rather than trusted.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(min(int(text[:12]), RETRY_AFTER_CEILING))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate gives naive for "-0000"
        return None
    delay = when.timestamp() - now
    if math.isnan(delay):
        return None
    return min(max(delay, 0.0), RETRY_AFTER_CEILING)


def next_delay(
    attempt: int,
    retry_after: float | None,
    base: float,
    cap: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """The wait before the next try: the jittered backoff, never less than Retry-After."""
    delay = full_jitter(attempt, base, cap, rand)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CEILING))
    return delay
