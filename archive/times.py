"""Time stamps in and out of the archive: RFC 3339 UTC everywhere, aware datetimes inside.

Why one module: snapshots, bundles, the export's period bounds and the
database all deal in instants, and a naive datetime slipping through one of
them would shift a billing period by the server's UTC offset.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_time(at: datetime) -> str:
    """`2026-12-04T21:00:00.123Z` (milliseconds, as the exporter writes `taken_at`)."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_seconds(at: datetime) -> str:
    """`2026-12-04T21:00:00Z`, for bundle fields a person reads."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """An RFC 3339 time with a zone (`Z` or an offset) -> aware UTC datetime.

    Raises ValueError (with the text) for anything else, a time without a zone
    included: the archive never guesses which zone a site meant.
    """
    if not isinstance(text, str) or len(text) > 64 or "T" not in text.upper():
        raise ValueError(f"not an RFC 3339 time with a zone: {text!r}")
    try:
        parsed = datetime.fromisoformat(text.upper())  # RFC 3339 allows t and z
    except ValueError:
        raise ValueError(f"not an RFC 3339 time with a zone: {text!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"time without a zone (add Z for UTC): {text!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError(f"time out of range: {text!r}") from None


def parse_bound(text: str, *, end: bool) -> datetime:
    """A period bound as a user writes it -> aware UTC datetime.

    `2026-12-01` is a whole day in UTC: as a start it is that day's 00:00, as an
    end (`end=True`) the following day's 00:00, so `--from 2026-12-01 --to
    2026-12-31` covers all of December. An RFC 3339 time is taken as written.
    Periods are half-open: [start, end).
    """
    text = text.strip()
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date (YYYY-MM-DD) or RFC 3339 time: {text!r}") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        try:
            return start + timedelta(days=1) if end else start
        except OverflowError:
            raise ValueError(f"date out of range: {text!r}") from None
    try:
        return parse_instant(text)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD) or RFC 3339 time: {text!r}") from None
