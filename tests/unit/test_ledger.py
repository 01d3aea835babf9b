"""The meter ledger: exposed meters rise across wraps and restarts; a reset is not guessed over."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import PollConfig
from exporter.ledger import SCHEMA, MeterLedger
from exporter.metrics import ExporterState, render
from exporter.model import Counter, CounterEvent
from exporter.poller import Poller
from exporter.store import SnapshotStore
from tests.unit.test_poller_integrity import TARGET, _Meters

WIDTH = 2**24


async def _poll(counts: Sequence[int], ledger: MeterLedger) -> list[Counter | None]:
    poller = Poller(SnapshotStore(), PollConfig(), connect_fn=_Meters(counts), ledger=ledger)
    poller.configure(PollConfig(), [TARGET])
    totals = []
    for _ in counts:
        entry = await poller.poll_once(TARGET)
        assert entry is not None
        totals.append(entry.snapshot.counter("total"))
    return totals


def _running(totals: Sequence[Counter | None]) -> list[int | None]:
    return [t.running_total if t else None for t in totals]


async def test_a_24_bit_wrap_keeps_the_meter_rising() -> None:
    """16,000,000 -> 500 was exposed as 500: Prometheus counted 500 pages for 777,716."""
    totals = await _poll([15_999_000, 16_000_000, 500, 1_500], MeterLedger())
    assert _running(totals) == [15_999_000, 16_000_000, WIDTH + 500, WIDTH + 1_500]
    wrapped = totals[2]
    assert wrapped is not None
    assert (wrapped.value, wrapped.offset) == (500, WIDTH)  # the raw read stays, for audit
    assert wrapped.running_total - 16_000_000 == 777_716


async def test_a_reset_moves_no_offset_and_is_withheld() -> None:
    totals = await _poll([1_000, 1_200, 50, 80], MeterLedger())
    assert _running(totals) == [1_000, 1_200, None, 80]


async def test_offsets_and_last_reads_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "meter-ledger.json"
    before = await _poll([16_000_000, 500], MeterLedger(path))
    assert _running(before) == [16_000_000, WIDTH + 500]
    # The exporter restarts; meanwhile the meter went on, and wrapped no more.
    after = await _poll([900], MeterLedger(path))
    assert _running(after) == [WIDTH + 900]
    # It restarts again, and the meter wrapped while it was down: seen against the file.
    down = await _poll([16_700_000], MeterLedger(path))
    wrapped_while_down = await _poll([200], MeterLedger(path))
    assert _running(down) == [WIDTH + 16_700_000]
    assert _running(wrapped_while_down) == [2 * WIDTH + 200]


async def test_a_damaged_file_is_moved_aside_and_the_ledger_starts_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "meter-ledger.json"
    path.write_bytes(b'{"schema": "printer-exporter-ledger/1", "devices": {"x": {"meter')
    ledger = MeterLedger(path)
    assert "damaged" in caplog.text
    assert (tmp_path / "meter-ledger.json.corrupt").exists()
    assert _running(await _poll([700], ledger)) == [700]
    ledger.save()
    assert json.loads(path.read_text())["schema"] == SCHEMA


@pytest.mark.parametrize(
    "document",
    [
        {"schema": "something-else", "devices": {}},
        {
            "schema": SCHEMA,
            "devices": {"t": {"meters": {"total": {"last": -5, "unit": "x", "offset": 0}}}},
        },
        {
            "schema": SCHEMA,
            "devices": {"t": {"meters": {"total": {"last": "1", "unit": "x", "offset": 0}}}},
        },
        {"schema": SCHEMA, "devices": []},
        [1, 2, 3],
    ],
)
def test_any_bad_document_is_refused_whole(tmp_path: Path, document: object) -> None:
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps(document))
    ledger = MeterLedger(path)
    assert ledger.baseline("t") == ()
    assert not path.exists()


async def test_a_write_failure_is_logged_and_nothing_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the storage directory should be")
    ledger = MeterLedger(blocked / "meter-ledger.json")
    with caplog.at_level(logging.ERROR):
        totals = await _poll([16_000_000, 500], ledger)
    assert _running(totals) == [16_000_000, WIDTH + 500]
    assert "cannot write the meter ledger" in caplog.text


def test_offsets_follow_the_unit() -> None:
    ledger = MeterLedger()
    ledger.observe("t", [Counter("total", 16_000_000, "impressions", "x")], ())
    wrap = CounterEvent("wrap", "total", 16_000_000, 10, "")
    ledger.observe("t", [Counter("total", 10, "impressions", "x")], [wrap])
    assert ledger.with_offsets("t", [Counter("total", 20, "impressions", "x")])[0].offset == WIDTH
    assert ledger.with_offsets("t", [Counter("total", 20, "sheets", "x")])[0].offset == 0


async def test_the_metric_is_the_running_total() -> None:
    store = SnapshotStore()
    poller = Poller(store, PollConfig(), connect_fn=_Meters([16_000_000, 500]))
    poller.configure(PollConfig(), [TARGET])
    await poller.poll_once(TARGET)
    entry = await poller.poll_once(TARGET)
    assert entry is not None
    body = render(ExporterState(snapshots=[entry.snapshot])).decode()
    pages = {
        sample.labels["counter"]: sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "printer_pages_total"
    }
    assert pages["total"] == WIDTH + 500


async def test_every_event_is_counted_and_stays_exposed() -> None:
    """printer_counter_event showed an event for one poll only: too short for `for:`."""
    store = SnapshotStore()
    counts = [16_000_000, 500, 100, 200, 300]  # a wrap, then a reset, then growth
    poller = Poller(store, PollConfig(), connect_fn=_Meters(counts))
    poller.configure(PollConfig(), [TARGET])
    for _ in counts:
        entry = await poller.poll_once(TARGET)
    assert entry is not None
    assert {(c, k): n for c, k, n in entry.events_total} == {
        ("mono", "decrease"): 1,
        ("mono", "wrap"): 1,
        ("total", "decrease"): 1,
        ("total", "wrap"): 1,
    }
    assert entry.regressions == (("mono", 1), ("total", 1))
    state = ExporterState(
        snapshots=[entry.snapshot],
        counter_events_total={TARGET.address: {(c, k): n for c, k, n in entry.events_total}},
    )
    events = {
        (sample.labels["counter"], sample.labels["kind"]): sample.value
        for family in text_string_to_metric_families(render(state).decode())
        for sample in family.samples
        if sample.name == "printer_counter_events_total"
    }
    assert events[("total", "wrap")] == 1.0
    assert events[("total", "decrease")] == 1.0
