"""Ingest: parsing hostile and well-formed bodies (pure), and storing once (both backends)."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest
from sqlalchemy import Engine, select

from archive import ingest, store
from archive.errors import BadRequest
from archive.ingest import MAX_DECOMPRESSED_BYTES, parse_batch, store_batch
from archive.tables import agents, counter_events, meter_reads, snapshots
from tests.archive.conftest import batch_body, count_rows, snapshot


def refused(body: bytes, *, gzipped: bool = False) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_batch(body, gzipped=gzipped)
    assert "\n" not in caught.value.reason
    return caught.value


def test_a_well_formed_batch_is_parsed_with_its_reads_and_events() -> None:
    event = {"kind": "decrease", "counter": "mono", "previous": 90, "current": 3, "detail": "x"}
    body = batch_body(
        [snapshot(counters=[("total", 1000), ("color", 200, "sheets")], events=[event])]
    )
    batch = parse_batch(body, gzipped=False)
    (row,) = batch.snapshots
    assert row.target == "127.0.0.11:161"
    assert row.serial == "CNB1234567"
    assert [(r.counter, r.value, r.unit) for r in row.reads] == [
        ("total", 1000, "impressions"),
        ("color", 200, "sheets"),
    ]
    assert row.events == (ingest.Event("decrease", "mono", 90, 3, "x"),)
    assert json.loads(row.document)["identity"]["model"] == "LaserJet"


def test_the_ledger_offset_is_read() -> None:
    doc = snapshot(counters=[("total", 500)])
    doc["counters"][0]["offset"] = 2**24
    (row,) = parse_batch(batch_body([doc]), gzipped=False).snapshots
    assert row.reads == (ingest.MeterRead("total", 500, "impressions", 2**24),)


def test_gzip_is_the_same_batch() -> None:
    plain = parse_batch(batch_body([snapshot()]), gzipped=False)
    packed = parse_batch(batch_body([snapshot()], compress=True), gzipped=True)
    assert plain == packed


def test_unknown_fields_are_kept_in_the_document() -> None:
    doc = snapshot()
    doc["future_field"] = {"a": 1}
    body = json.dumps({"snapshots": [doc], "also_ignored": 1}).encode()
    (row,) = parse_batch(body, gzipped=False).snapshots
    assert json.loads(row.document)["future_field"] == {"a": 1}


def test_lone_surrogates_and_nul_in_unread_fields_are_stored_escaped() -> None:
    doc = snapshot()
    doc["identity"]["model"] = "\ud800\x00"
    (row,) = parse_batch(json.dumps({"snapshots": [doc]}).encode(), gzipped=False).snapshots
    assert row.document.isascii()
    assert "\\ud800\\u0000" in row.document


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 400, "not JSON"),
        (b"{", 400, "not JSON"),
        (b"\xff\xfe{}", 400, "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
        (b'{"snapshots": [1' + b"0" * 5000 + b"]}", 400, "not JSON"),
        (b"[]", 422, "must be an object"),
        (b'{"snapshots": {}}', 422, "snapshots: must be a list"),
        (b'{"snapshots": [1]}', 422, "snapshots[0]: must be an object"),
        (b'{"snapshots": [{"schema": "printer-snapshot/2"}]}', 422, "snapshots[0].schema"),
    ],
)
def test_malformed_bodies_are_4xx_with_a_reason(body: bytes, status: int, reason: str) -> None:
    error = refused(body)
    assert error.status == status
    assert reason in error.reason


def bad_snapshot(**changes: Any) -> bytes:
    doc = snapshot()
    for key, value in changes.items():
        doc[key] = value
    return json.dumps({"snapshots": [snapshot(), doc]}).encode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"target": ""}, "snapshots[1].target"),
        ({"target": 7}, "snapshots[1].target"),
        ({"target": "x" * 301}, "snapshots[1].target"),
        ({"target": "a\x00b"}, "snapshots[1].target"),
        ({"target": "\udc00"}, "snapshots[1].target"),
        ({"taken_at": "2026-12-01T10:00:00"}, "snapshots[1].taken_at"),
        ({"taken_at": "yesterday"}, "snapshots[1].taken_at"),
        ({"taken_at": 1700000000}, "snapshots[1].taken_at"),
        ({"counters": {"total": 1}}, "snapshots[1].counters"),
        ({"counters": [{"name": "total", "value": -5, "unit": "x"}]}, "counters[0].value"),
        ({"counters": [{"name": "total", "value": 2**63, "unit": "x"}]}, "counters[0].value"),
        ({"counters": [{"name": "total", "value": 1.5, "unit": "x"}]}, "counters[0].value"),
        ({"counters": [{"name": "total", "value": True, "unit": "x"}]}, "counters[0].value"),
        ({"counters": [{"name": "total", "value": "12", "unit": "x"}]}, "counters[0].value"),
        ({"counters": [{"value": 1, "unit": "x"}]}, "counters[0].name"),
        ({"counters": [{"name": "t", "value": 1, "unit": "x", "offset": -1}]}, "[0].offset"),
        ({"counters": [{"name": "t", "value": 1, "unit": "x", "offset": "0"}]}, "[0].offset"),
        ({"counters": [["total", 1]]}, "counters[0]"),
        ({"counter_events": [{"kind": "decrease"}]}, "counter_events[0].counter"),
        (
            {"counter_events": [{"kind": "x", "counter": "y", "previous": -1}]},
            "counter_events[0].previous",
        ),
        ({"identity": {"serial": 12}}, "snapshots[1].identity.serial"),
    ],
)
def test_wrong_types_name_the_field(changes: dict[str, Any], field: str) -> None:
    error = refused(bad_snapshot(**changes))
    assert error.status == 422
    assert field in error.reason


def test_too_many_snapshots_is_413() -> None:
    body = json.dumps({"snapshots": [{}] * (ingest.MAX_SNAPSHOTS + 1)}).encode()
    assert refused(body).status == 413


def test_too_many_counters_is_413() -> None:
    doc = snapshot(counters=[(f"vendor_{i}", i) for i in range(ingest.MAX_COUNTERS + 1)])
    assert refused(batch_body([doc])).status == 413


def test_gzip_bomb_is_cut_off_at_the_limit() -> None:
    """65 MiB of zeros is 65 KiB of gzip: inflating stops one byte past the limit."""
    bomb = gzip.compress(b"0" * (MAX_DECOMPRESSED_BYTES + 1024 * 1024), compresslevel=9)
    assert len(bomb) < 1024 * 1024
    error = refused(bomb, gzipped=True)
    assert error.status == 413


def test_inflate_never_holds_more_than_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(BadRequest) as caught:
        ingest.inflate(bomb, limit=1000)
    assert caught.value.status == 413
    assert ingest.inflate(gzip.compress(b"x" * 1000), limit=1000) == b"x" * 1000


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (gzip.compress(b'{"snapshots": []}')[:-6], "truncated"),
        (gzip.compress(b'{"snapshots": []}')[:5], "truncated"),
        (b'{"snapshots": []}', "not valid gzip"),
        (gzip.compress(b'{"snapshots": []}') + b"trailing", "data after the end"),
        (zlib.compress(b'{"snapshots": []}'), "not valid gzip"),
        (b"", "truncated"),
    ],
)
def test_bad_gzip_is_400(body: bytes, reason: str) -> None:
    error = refused(body, gzipped=True)
    assert error.status == 400
    assert reason in error.reason


def test_corrupt_gzip_crc_is_400() -> None:
    packed = bytearray(gzip.compress(b'{"snapshots": []}'))
    packed[-8] ^= 0xFF  # the CRC32 of the trailer
    assert refused(bytes(packed), gzipped=True).status == 400


@pytest.mark.parametrize("key", [None, "", "x" * 129, "has space", "ünïcode", "a/b", "semi;colon"])
def test_bad_idempotency_keys(key: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        ingest.check_key(key)
    assert caught.value.status == 400


def test_good_idempotency_keys() -> None:
    for key in ("01J9Z4ABC", "a", "x" * 128, "site-a:2026-12-01T10:00:00.000Z_7"):
        assert ingest.check_key(key) == key


# --- storing ----------------------------------------------------------------------------


def test_a_batch_is_stored_once_per_key(engine: Engine) -> None:
    store.add_agent(engine, "site-a")
    agent = store.agent_id(engine, "site-a")
    docs = [
        snapshot(taken_at="2026-12-01T10:00:00Z", counters=[("total", 10), ("mono", 4)]),
        snapshot(
            taken_at="2026-12-01T10:05:00Z",
            counters=[("total", 12)],
            events=[{"kind": "decrease", "counter": "mono", "previous": 4, "current": 1}],
        ),
    ]
    batch = parse_batch(batch_body(docs), gzipped=False)
    first = store_batch(engine, agent, "k1", batch, "1.2.3")
    again = store_batch(engine, agent, "k1", batch)
    assert first.body() == {"batch": "k1", "stored": 2, "duplicate": False}
    assert again.body() == {"batch": "k1", "stored": 2, "duplicate": True}
    assert again.same_body
    assert count_rows(engine, "snapshots") == 2
    assert count_rows(engine, "meter_reads") == 3
    assert count_rows(engine, "counter_events") == 1
    assert count_rows(engine, "batches") == 1
    with engine.connect() as conn:
        row = conn.execute(
            select(agents.c.snapshots_stored, agents.c.agent_version, agents.c.last_upload_at)
        ).one()
        assert (row[0], row[1]) == (2, "1.2.3")
        assert row[2] is not None
        stored = conn.execute(select(snapshots.c.document)).scalars().all()
        assert {json.loads(d)["taken_at"] for d in stored} == {
            "2026-12-01T10:00:00Z",
            "2026-12-01T10:05:00Z",
        }
        values = conn.execute(
            select(meter_reads.c.counter, meter_reads.c.value, meter_reads.c.wrap_offset).order_by(
                meter_reads.c.id
            )
        ).all()
        assert [tuple(v) for v in values] == [("total", 10, 0), ("mono", 4, 0), ("total", 12, 0)]
        assert conn.execute(select(counter_events.c.kind)).scalar_one() == "decrease"


def test_a_repeated_key_with_another_body_keeps_the_first(engine: Engine) -> None:
    store.add_agent(engine, "site-a")
    agent = store.agent_id(engine, "site-a")
    store_batch(engine, agent, "k", parse_batch(batch_body([snapshot()]), gzipped=False))
    other = parse_batch(batch_body([snapshot(), snapshot()]), gzipped=False)
    result = store_batch(engine, agent, "k", other)
    assert result.duplicate
    assert not result.same_body
    assert result.stored == 1
    assert count_rows(engine, "snapshots") == 1


def test_keys_are_per_agent(engine: Engine) -> None:
    store.add_agent(engine, "site-a")
    store.add_agent(engine, "site-b")
    batch = parse_batch(batch_body([snapshot()]), gzipped=False)
    for name in ("site-a", "site-b"):
        result = store_batch(engine, store.agent_id(engine, name), "same-key", batch)
        assert not result.duplicate
    assert count_rows(engine, "snapshots") == 2


def test_an_empty_batch_is_recorded(engine: Engine) -> None:
    store.add_agent(engine, "site-a")
    agent = store.agent_id(engine, "site-a")
    result = store_batch(engine, agent, "empty", parse_batch(b'{"snapshots": []}', gzipped=False))
    assert result.body() == {"batch": "empty", "stored": 0, "duplicate": False}
    assert store_batch(engine, agent, "empty", parse_batch(b'{"snapshots":[]}', gzipped=False))
