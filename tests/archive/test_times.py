"""Instants in and out: zones required, UTC inside, ranges checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archive.times import format_time, parse_bound, parse_instant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00.123Z", datetime(2026, 12, 1, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-12-01T11:00:00+01:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01t10:00:00z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ],
)
def test_instants(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected
    assert parse_instant(text).tzinfo == UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T10:00:00",  # no zone
        "2026-12-01",
        "yesterday",
        "",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after 9999 in UTC
        "2026-12-01T10:00:00Z" + " " * 60,
    ],
)
def test_bad_instants(text: str) -> None:
    with pytest.raises(ValueError, match=r"zone|range|RFC"):
        parse_instant(text)


def test_a_date_is_a_whole_utc_day() -> None:
    assert parse_bound("2026-12-01", end=False) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_bound("2026-12-31", end=True) == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_bound("2026-12-01T06:00:00Z", end=True) == datetime(2026, 12, 1, 6, tzinfo=UTC)


@pytest.mark.parametrize("text", ["9999-12-31", "2026-02-30", "2026-W01-1", "20261201", "x"])
def test_bad_bounds(text: str) -> None:
    with pytest.raises(ValueError, match=r"range|date|RFC"):
        parse_bound(text, end=True)


def test_format_time() -> None:
    assert format_time(datetime(2026, 12, 1, 10, tzinfo=UTC)) == "2026-12-01T10:00:00.000Z"
