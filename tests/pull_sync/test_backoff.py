"""Backoff with full jitter and Retry-After: pure functions, checked exhaustively."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pull_sync.backoff import RETRY_AFTER_CEILING, full_jitter, next_delay, parse_retry_after

NOW = 1_796_000_000.0


@given(
    attempt=st.integers(min_value=-5, max_value=10_000),
    draw=st.floats(min_value=0.0, max_value=0.999999),
)
def test_full_jitter_stays_within_zero_and_the_capped_exponential(
    attempt: int, draw: float
) -> None:
    delay = full_jitter(attempt, 1.0, 900.0, lambda: draw)
    assert 0.0 <= delay <= 900.0
    assert delay <= 2.0 ** min(max(attempt, 0), 62)


def test_full_jitter_doubles_until_the_cap() -> None:
    top = [full_jitter(n, 1.0, 900.0, lambda: 1.0) for n in range(12)]
    assert top[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert top[10:] == [900.0, 900.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("99999999999999", RETRY_AFTER_CEILING),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        ("١٢", None),  # non-ASCII digits are not a number of seconds
    ],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_retry_after_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 90, UTC)
    assert parse_retry_after(format_datetime(when, usegmt=True), NOW) == pytest.approx(90)
    past = datetime.fromtimestamp(NOW - 3600, UTC)
    assert parse_retry_after(format_datetime(past, usegmt=True), NOW) == 0.0
    far = datetime.fromtimestamp(NOW + 10 * 86400, UTC)
    assert parse_retry_after(format_datetime(far, usegmt=True), NOW) == RETRY_AFTER_CEILING
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 -0000", NOW) is None  # no zone: ignored


@given(st.text(max_size=40))
def test_retry_after_never_raises_and_is_bounded(header: str) -> None:
    value = parse_retry_after(header, NOW)
    assert value is None or 0.0 <= value <= RETRY_AFTER_CEILING


def test_retry_after_is_a_floor_under_the_jitter() -> None:
    assert next_delay(0, 30.0, 1.0, 900.0, lambda: 0.5) == 30.0
    assert next_delay(9, 30.0, 1.0, 900.0, lambda: 0.5) == 256.0
    assert next_delay(3, None, 1.0, 900.0, lambda: 0.25) == 2.0
