"""Snapshot list -> gzip batches: split within limits, documents kept byte for byte."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pull_sync.batches import build_batches
from pull_sync.errors import ExporterError
from tests.pull_sync.conftest import fleet


def _docs(body: bytes) -> list[object]:
    doc = json.loads(gzip.decompress(body))
    assert list(doc) == ["snapshots"]
    snapshots = doc["snapshots"]
    assert isinstance(snapshots, list)
    return snapshots


def test_one_batch_for_a_small_fleet() -> None:
    docs = fleet(5)
    result = build_batches(json.dumps(docs).encode(), max_snapshots=1000)
    assert result.snapshots == 5
    assert result.skipped == 0
    assert len(result.bodies) == 1
    assert _docs(result.bodies[0][0]) == docs


def test_split_by_count() -> None:
    docs = fleet(25)
    result = build_batches(json.dumps(docs).encode(), max_snapshots=10)
    assert [count for _, count in result.bodies] == [10, 10, 5]
    assert [d for body, _ in result.bodies for d in _docs(body)] == docs


def test_split_by_size() -> None:
    docs = fleet(30)
    raw = json.dumps(docs).encode()
    result = build_batches(raw, max_snapshots=1000, max_raw_bytes=len(raw) // 3)
    assert len(result.bodies) >= 3
    assert [d for body, _ in result.bodies for d in _docs(body)] == docs


def test_documents_are_not_reencoded() -> None:
    """A float's digits and key order stay as the exporter wrote them."""
    raw = (
        b'[ {"schema": "printer-snapshot/1", "z": 1.10, "a": 1e400} ,\n'
        b'{"schema":"printer-snapshot/1"}]'
    )
    result = build_batches(raw, max_snapshots=10)
    inflated = gzip.decompress(result.bodies[0][0])
    assert inflated == (
        b'{"snapshots":[{"schema": "printer-snapshot/1", "z": 1.10, "a": 1e400},'
        b'{"schema":"printer-snapshot/1"}]}'
    )


def test_other_documents_are_skipped_and_counted() -> None:
    raw = json.dumps(
        [{"schema": "printer-snapshot/1"}, {"schema": "other"}, 5, None, [], {"no": "schema"}]
    ).encode()
    result = build_batches(raw, max_snapshots=10)
    assert result.snapshots == 1
    assert result.skipped == 5


def test_empty_list() -> None:
    assert build_batches(b" [ ] ", max_snapshots=10).bodies == []


@pytest.mark.parametrize(
    "raw",
    [b"", b"{}", b"[", b"[1,", b"[1 2]", b"[1] x", b"\xff", b'[{"a": }]', b"null"],
)
def test_bad_json_is_an_exporter_error(raw: bytes) -> None:
    with pytest.raises(ExporterError):
        build_batches(raw, max_snapshots=10)


@given(
    st.lists(
        st.fixed_dictionaries(
            {"schema": st.just("printer-snapshot/1"), "v": st.integers() | st.text(max_size=20)}
        ),
        max_size=30,
    ),
    st.integers(min_value=1, max_value=7),
)
def test_every_document_arrives_once_in_order(docs: list[dict[str, object]], size: int) -> None:
    result = build_batches(json.dumps(docs, indent=1).encode(), max_snapshots=size)
    assert all(count <= size for _, count in result.bodies)
    assert [d for body, _ in result.bodies for d in _docs(body)] == docs
