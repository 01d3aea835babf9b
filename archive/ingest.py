"""`POST /api/v1/snapshots`: from request bytes to one stored batch, or a 4xx reason.

Two steps, kept apart so each can be tested on its own:

1. `parse_batch(body, gzipped)`: pure. Inflate (gzip, streamed in bounded
   pieces: a bomb is cut off at `MAX_DECOMPRESSED_BYTES`, never inflated
   first), decode UTF-8, parse JSON, check the shape, and extract what billing
   needs: meter reads and counter events. Anything wrong is a `BadRequest`
   (400 not JSON, 413 over a limit, 415 an encoding we do not take, 422 JSON of
   the wrong shape), whose reason names the field: `snapshots[3].counters[0].value:
   must be an integer 0..2^63-1, got -5`.
2. `store_batch(engine, agent_id, key, batch)`: one transaction that writes the
   `(agent, Idempotency-Key)` row, every snapshot, meter read and counter event,
   and the agent's upload time. A key already stored answers `duplicate` and
   writes nothing. Two processes racing on one key: the database's unique
   constraint lets one commit; the other's insert fails (PostgreSQL) or waits
   for the write lock and then finds the row (SQLite), and it answers duplicate.

Validation is strict where billing reads (`target`, `taken_at`, `counters`,
`counter_events`, `identity.serial`) and lenient elsewhere: the snapshot may
gain fields (docs/snapshot.md), and the whole document is stored as received.
Unknown top-level keys of the batch are ignored for the same reason.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from archive import db
from archive.errors import BadRequest
from archive.tables import agents, batches, counter_events, meter_reads, snapshots
from archive.times import parse_instant, utcnow

MAX_WIRE_BYTES: Final = 8 * 1024 * 1024
MAX_DECOMPRESSED_BYTES: Final = 64 * 1024 * 1024
MAX_SNAPSHOTS: Final = 10_000
MAX_COUNTERS: Final = 1_000
"""Counters (and counter events) per snapshot; a real printer has a few dozen."""
MAX_VALUE: Final = 2**63 - 1
SCHEMA: Final = "printer-snapshot/1"
KEY_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CHUNK: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class MeterRead:
    counter: str
    value: int
    unit: str
    offset: int = 0
    """What the exporter's meter ledger adds for the counter's wraps (docs/snapshot.md)."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    counter: str
    previous: int | None
    current: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One snapshot as stored: the document, and what billing reads from it."""

    target: str
    taken_at: datetime
    serial: str | None
    document: str
    reads: tuple[MeterRead, ...]
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    snapshots: tuple[SnapshotRow, ...]
    sha256: str
    """Of the decompressed body: a repeated key with another body is logged."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    key: str
    stored: int
    duplicate: bool
    same_body: bool = True

    def body(self) -> dict[str, object]:
        return {"batch": self.key, "stored": self.stored, "duplicate": self.duplicate}


def check_key(value: str | None) -> str:
    """The `Idempotency-Key` header, checked."""
    if value is None:
        raise BadRequest(400, "Idempotency-Key header is required")
    if not KEY_RE.fullmatch(value):
        raise BadRequest(400, "Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 - _ . :")
    return value


# --- step 1: bytes -> Batch (pure) ------------------------------------------------------


def inflate(body: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress one gzip member, stopping as soon as the output would pass `limit`."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = body
    try:
        while pending:
            piece, pending = pending[:_CHUNK], pending[_CHUNK:]
            while piece:
                out += inflater.decompress(piece, limit + 1 - len(out))
                if len(out) > limit:
                    raise BadRequest(413, f"body is over {limit} bytes when decompressed")
                piece = inflater.unconsumed_tail
        out += inflater.flush(limit + 1 - len(out)) if not inflater.eof else b""
    except zlib.error as error:
        raise BadRequest(400, f"body is not valid gzip: {error}") from None
    if len(out) > limit:
        raise BadRequest(413, f"body is over {limit} bytes when decompressed")
    if not inflater.eof:
        raise BadRequest(400, "body is not valid gzip: truncated stream")
    if inflater.unused_data:
        raise BadRequest(400, "body is not valid gzip: data after the end of the stream")
    return bytes(out)


def parse_batch(body: bytes, *, gzipped: bool) -> Batch:
    """Request body -> checked `Batch`, or `BadRequest` with the reason."""
    if gzipped:
        body = inflate(body)
    elif len(body) > MAX_DECOMPRESSED_BYTES:  # cannot happen under the wire limit; be sure
        raise BadRequest(413, f"body is over {MAX_DECOMPRESSED_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(400, f"body is not UTF-8: byte {error.start}") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise BadRequest(400, "body is not JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, and ints past Python's digit limit
        raise BadRequest(400, f"body is not JSON: {_first_line(str(error))}") from None
    if not isinstance(data, dict):
        raise BadRequest(422, f'body must be an object {{"snapshots": [...]}}, got {_kind(data)}')
    items = data.get("snapshots")
    if not isinstance(items, list):
        raise BadRequest(422, f"snapshots: must be a list, got {_kind(items)}")
    if len(items) > MAX_SNAPSHOTS:
        raise BadRequest(413, f"snapshots: at most {MAX_SNAPSHOTS} per batch, got {len(items)}")
    rows = tuple(_snapshot(item, f"snapshots[{i}]") for i, item in enumerate(items))
    return Batch(rows, hashlib.sha256(body).hexdigest())


def _snapshot(item: object, path: str) -> SnapshotRow:
    if not isinstance(item, dict):
        raise BadRequest(422, f"{path}: must be an object, got {_kind(item)}")
    schema = item.get("schema")
    if schema != SCHEMA:
        raise BadRequest(422, f"{path}.schema: must be {SCHEMA!r}, got {_show(schema)}")
    target = _text(item.get("target"), f"{path}.target", 300)
    stamp = item.get("taken_at")
    try:
        if not isinstance(stamp, str):
            raise ValueError(f"must be an RFC 3339 time string, got {_show(stamp)}")
        taken_at = parse_instant(stamp)
    except ValueError as error:
        raise BadRequest(422, f"{path}.taken_at: {error}") from None
    identity = item.get("identity")
    if identity is not None and not isinstance(identity, dict):
        raise BadRequest(422, f"{path}.identity: must be an object, got {_kind(identity)}")
    serial = None
    if identity is not None and identity.get("serial") is not None:
        serial = _text(identity.get("serial"), f"{path}.identity.serial", 200)
    reads = tuple(
        _counter(c, f"{path}.counters[{i}]")
        for i, c in enumerate(_list(item.get("counters"), f"{path}.counters"))
    )
    events = tuple(
        _event(e, f"{path}.counter_events[{i}]")
        for i, e in enumerate(_list(item.get("counter_events"), f"{path}.counter_events"))
    )
    # ensure_ascii: the stored text is pure ASCII, so no lone surrogate or NUL that a
    # JSON string may carry can upset a database driver.
    try:
        document = json.dumps(item, ensure_ascii=True, separators=(",", ":"))
    except RecursionError:  # parsed just under the limit, deeper still when written
        raise BadRequest(422, f"{path}: nested too deeply") from None
    return SnapshotRow(target, taken_at, serial, document, reads, events)


def _list(value: object, path: str) -> Sequence[object]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequest(422, f"{path}: must be a list, got {_kind(value)}")
    if len(value) > MAX_COUNTERS:
        raise BadRequest(413, f"{path}: at most {MAX_COUNTERS} entries, got {len(value)}")
    return value


def _counter(value: object, path: str) -> MeterRead:
    if not isinstance(value, dict):
        raise BadRequest(422, f"{path}: must be an object, got {_kind(value)}")
    offset = value.get("offset")
    return MeterRead(
        _text(value.get("name"), f"{path}.name", 100),
        _count(value.get("value"), f"{path}.value"),
        _text(value.get("unit"), f"{path}.unit", 50),
        0 if offset is None else _count(offset, f"{path}.offset"),
    )


def _event(value: object, path: str) -> Event:
    if not isinstance(value, dict):
        raise BadRequest(422, f"{path}: must be an object, got {_kind(value)}")
    previous, current = value.get("previous"), value.get("current")
    detail = value.get("detail")
    return Event(
        _text(value.get("kind"), f"{path}.kind", 50),
        _text(value.get("counter"), f"{path}.counter", 100),
        None if previous is None else _count(previous, f"{path}.previous"),
        None if current is None else _count(current, f"{path}.current"),
        None if detail is None else _text(detail, f"{path}.detail", 1000, empty=True),
    )


def _text(value: object, path: str, longest: int, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty):
        raise BadRequest(422, f"{path}: must be a non-empty string, got {_show(value)}")
    if len(value) > longest:
        raise BadRequest(422, f"{path}: at most {longest} characters, got {len(value)}")
    if not _storable(value):
        raise BadRequest(422, f"{path}: must not hold NUL or unpaired surrogates")
    return value


def _storable(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _count(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VALUE:
        raise BadRequest(422, f"{path}: must be an integer 0..2^63-1, got {_show(value)}")
    return value


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True) if _jsonable(value) else _kind(value)
    return text if len(text) <= 60 else text[:56] + "..."


def _jsonable(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else "invalid"


# --- step 2: Batch -> database ----------------------------------------------------------


def store_batch(
    engine: Engine, agent_id: int, key: str, batch: Batch, agent_version: str | None = None
) -> IngestResult:
    """Store `batch` under `(agent_id, key)` exactly once; see the module docstring."""
    try:
        with db.write(engine) as conn:
            found = _existing(conn, agent_id, key)
            if found is not None:
                return _duplicate(key, found, batch)
            now = utcnow()
            batch_id = conn.execute(
                insert(batches).returning(batches.c.id),
                {
                    "agent_id": agent_id,
                    "idempotency_key": key,
                    "received_at": now,
                    "stored": len(batch.snapshots),
                    "body_sha256": batch.sha256,
                },
            ).scalar_one()
            _insert_rows(conn, agent_id, batch_id, batch.snapshots)
            values: dict[str, Any] = {
                "last_upload_at": now,
                "snapshots_stored": agents.c.snapshots_stored + len(batch.snapshots),
            }
            if agent_version is not None:
                values["agent_version"] = agent_version
            conn.execute(update(agents).where(agents.c.id == agent_id).values(**values))
    except IntegrityError:
        # Another process committed this key between our check and our insert.
        with db.read(engine) as conn:
            found = _existing(conn, agent_id, key)
        if found is None:
            raise
        return _duplicate(key, found, batch)
    return IngestResult(key, len(batch.snapshots), duplicate=False)


def _existing(conn: Any, agent_id: int, key: str) -> tuple[int, str] | None:
    row = conn.execute(
        select(batches.c.stored, batches.c.body_sha256).where(
            batches.c.agent_id == agent_id, batches.c.idempotency_key == key
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _duplicate(key: str, found: tuple[int, str], batch: Batch) -> IngestResult:
    stored, sha = found
    return IngestResult(key, stored, duplicate=True, same_body=sha == batch.sha256)


def _insert_rows(conn: Any, agent_id: int, batch_id: int, rows: Sequence[SnapshotRow]) -> None:
    if not rows:
        return
    ids = (
        conn.execute(
            insert(snapshots).returning(snapshots.c.id, sort_by_parameter_order=True),
            [
                {
                    "batch_id": batch_id,
                    "agent_id": agent_id,
                    "target": row.target,
                    "taken_at": row.taken_at,
                    "document": row.document,
                }
                for row in rows
            ],
        )
        .scalars()
        .all()
    )
    reads = [
        {
            "snapshot_id": snapshot_id,
            "agent_id": agent_id,
            "target": row.target,
            "serial": row.serial,
            "taken_at": row.taken_at,
            "counter": read.counter,
            "value": read.value,
            "unit": read.unit,
            "wrap_offset": read.offset,
        }
        for snapshot_id, row in zip(ids, rows, strict=True)
        for read in row.reads
    ]
    events = [
        {
            "snapshot_id": snapshot_id,
            "agent_id": agent_id,
            "target": row.target,
            "taken_at": row.taken_at,
            "kind": event.kind,
            "counter": event.counter,
            "previous": event.previous,
            "current": event.current,
            "detail": event.detail,
        }
        for snapshot_id, row in zip(ids, rows, strict=True)
        for event in row.events
    ]
    if reads:
        conn.execute(insert(meter_reads), reads)
    if events:
        conn.execute(insert(counter_events), events)
