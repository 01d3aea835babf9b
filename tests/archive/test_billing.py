"""The billing rules (archive.billing), one case per rule, and a property over many."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.billing import WRAP_WIDTHS, Reading, step, usage, wrap_width
from exporter import integrity

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def reads(*values: int) -> list[Reading]:
    return [Reading(at(i), v) for i, v in enumerate(values)]


def test_the_wrap_rule_is_the_exporters() -> None:
    """Billing and the exporter's counter_events must agree on what a wrap is: one function."""
    assert wrap_width is integrity.wrap_width
    assert WRAP_WIDTHS == (2**24, 2**31, 2**32)


def test_no_readings() -> None:
    result = usage([])
    assert (result.first, result.last, result.readings, result.pages) == (None, None, 0, 0)
    assert result.flags == ()


def test_one_reading_is_first_and_last_with_no_pages() -> None:
    result = usage(reads(500))
    assert result.first == result.last == Reading(at(0), 500)
    assert (result.readings, result.pages, result.flags) == (1, 0, ())


def test_pages_are_the_sum_of_increases() -> None:
    result = usage(reads(100, 150, 150, 400))
    assert result.pages == 300
    assert result.first is not None
    assert result.first.value == 100
    assert result.last is not None
    assert result.last.value == 400
    assert result.flags == ()


def test_readings_are_taken_in_time_order() -> None:
    shuffled = [Reading(at(2), 400), Reading(at(0), 100), Reading(at(1), 150)]
    result = usage(shuffled)
    assert result.pages == 300
    assert result.first == Reading(at(0), 100)


@pytest.mark.parametrize("width", WRAP_WIDTHS)
def test_a_wrap_counts_across_it(width: int) -> None:
    result = usage(reads(width - 10, width - 4, 6, 20))
    assert result.pages == 6 + 10 + 14  # -10 -> -4, across the top to 6, then 20
    assert result.flags == ("wrapped",)


@pytest.mark.parametrize(
    ("previous", "current", "width"),
    [
        (2**24 - 2**20, 2**20 - 1, 2**24),  # both edges of the 24-bit window
        (2**31 - 1, 0, 2**31),
        (2**32 - 2**28, 0, 2**32),
        (2**32 - 1, 2**28 - 1, 2**32),
    ],
)
def test_wrap_window_edges(previous: int, current: int, width: int) -> None:
    assert wrap_width(previous, current) == width
    assert step(previous, current) == (current + width - previous, "wrapped")


@pytest.mark.parametrize(
    ("previous", "current"),
    [
        (2**24 - 2**20 - 1, 0),  # not close enough to the top
        (2**24 - 1, 2**20),  # not small enough after
        (5000, 10),  # an ordinary reset
        (2**32, 3),  # above every width: not a wrap of these widths
        (1_000_000, 999_999),  # down by one
    ],
)
def test_other_decreases_are_resets_not_negative(previous: int, current: int) -> None:
    assert wrap_width(previous, current) is None
    assert step(previous, current) == (0, "reset")


def test_a_reset_counts_pages_before_and_after_but_not_the_drop() -> None:
    result = usage(reads(1000, 1200, 50, 80))
    assert result.pages == 200 + 30
    assert result.flags == ("reset",)


def test_wrap_and_reset_in_one_period_raise_both_flags() -> None:
    result = usage(reads(2**24 - 5, 5, 3, 10))
    assert result.pages == 10 + 0 + 7
    assert result.flags == ("wrapped", "reset")


def test_a_withheld_reading_breaks_the_series() -> None:
    """The exporter withheld a decreased value at hour 1.5 and rebased there: the step
    across it counts nothing, the others count, and the period is flagged."""
    result = usage(reads(1000, 1100, 1150, 1300), withheld=[at(1.5)])
    assert result.pages == 100 + 150  # 1000->1100 and 1150->1300; not 1100->1150
    assert result.flags == ("counter_event",)


def test_a_withheld_reading_at_a_readings_time_belongs_to_the_step_before_it() -> None:
    result = usage(reads(1000, 1100, 1150), withheld=[at(1)])
    assert result.pages == 50
    assert result.counter_event


def test_a_withheld_reading_before_the_first_reading_still_flags() -> None:
    result = usage(reads(1000, 1100), withheld=[at(-1)])
    assert result.pages == 100
    assert result.flags == ("counter_event",)


def test_a_lower_value_after_a_withheld_reading_is_not_also_a_reset() -> None:
    """The meter went down (withheld), then grew from its new base: nothing is computed
    across the event, so the drop is not a reset as well."""
    result = usage(reads(5000, 120, 180), withheld=[at(0.5)])
    assert result.pages == 60
    assert result.flags == ("counter_event",)


def test_only_withheld_readings() -> None:
    result = usage([], withheld=[at(3)])
    assert result.readings == 0
    assert result.flags == ("counter_event",)


values = st.lists(st.integers(0, 2**40), min_size=0, max_size=30)


@given(values)
def test_pages_never_negative_and_equal_the_rise_when_the_meter_only_grows(seq: list[int]) -> None:
    result = usage(reads(*seq))
    assert result.pages >= 0
    if seq == sorted(seq):
        assert result.pages == (seq[-1] - seq[0] if seq else 0)
        assert result.flags == ()


@given(values, st.integers(0, 29))
def test_splitting_a_series_at_an_event_adds_up(seq: list[int], cut: int) -> None:
    """Pages with an event between readings k and k+1 are the pages of the two halves."""
    rows = reads(*seq)
    cut = min(cut, max(len(rows) - 2, 0))
    if len(rows) < 2:
        return
    event = at(cut + 0.5)
    whole = usage(rows, withheld=[event])
    assert whole.pages == usage(rows[: cut + 1]).pages + usage(rows[cut + 1 :]).pages
