"""The exporter's snapshot list -> gzip request bodies, each within the archive's limits.

Why the documents are never re-encoded: the exporter's JSON text of each
snapshot goes into the batch as it came, so pull_sync cannot change a meter
read by a round trip through Python floats, and it never holds the whole fleet
as Python objects (10,000 devices are tens of megabytes of JSON, several times
that as dicts). Each document is parsed once, alone, only to check that it is a
`printer-snapshot/1` object, then dropped.

A batch closes at `max_snapshots` documents or `max_raw_bytes` of JSON, well
inside the archive's 10,000 snapshots and 64 MiB decompressed per request.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field

from pull_sync.errors import ExporterError

SNAPSHOT_SCHEMA = "printer-snapshot/1"
MAX_RAW_BYTES = 16 * 1024 * 1024
GZIP_LEVEL = 6
"""Level 9 saves about 2 % on snapshot JSON for twice the CPU (bench/bench_pull_sync.py)."""
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass
class Batches:
    """The bodies built from one collection, and the documents left out."""

    bodies: list[tuple[bytes, int]] = field(default_factory=list)
    """(gzip body, number of snapshots) per batch."""
    skipped: int = 0
    """Documents that were not printer-snapshot/1 objects."""
    raw_bytes: int = 0

    @property
    def snapshots(self) -> int:
        return sum(count for _, count in self.bodies)


class _Builder:
    def __init__(self, level: int) -> None:
        self._level = level
        self._compressor: zlib._Compress | None = None
        self._parts: list[bytes] = []
        self.count = 0
        self.raw = 0

    def add(self, document: bytes) -> None:
        if self._compressor is None:
            self._compressor = zlib.compressobj(self._level, zlib.DEFLATED, 31)
            self._parts.append(self._compressor.compress(b'{"snapshots":['))
        elif self.count:
            self._parts.append(self._compressor.compress(b","))
        self._parts.append(self._compressor.compress(document))
        self.count += 1
        self.raw += len(document) + 1

    def close(self) -> tuple[bytes, int]:
        assert self._compressor is not None
        self._parts.append(self._compressor.compress(b"]}"))
        self._parts.append(self._compressor.flush())
        body = b"".join(self._parts)
        count = self.count
        self._compressor, self._parts, self.count, self.raw = None, [], 0, 0
        return body, count


def build_batches(
    raw: bytes,
    max_snapshots: int,
    max_raw_bytes: int = MAX_RAW_BYTES,
    level: int = GZIP_LEVEL,
) -> Batches:
    """`[doc, doc, ...]` as the exporter's /api/v1/snapshot sends it -> gzip bodies.

    Raise ExporterError if `raw` is not a JSON list. A document that is not a
    printer-snapshot/1 object is skipped and counted.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExporterError("the snapshot API sent text that is not UTF-8") from None
    result = Batches(raw_bytes=len(raw))
    builder = _Builder(level)
    pos = _skip(text, 0)
    if not text.startswith("[", pos):
        raise ExporterError("the snapshot API did not send a JSON list")
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return _end(text, pos + 1, result)
    while True:
        try:
            doc, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as error:
            raise ExporterError(f"the snapshot API sent bad JSON: {error}") from None
        if isinstance(doc, dict) and doc.get("schema") == SNAPSHOT_SCHEMA:
            encoded = text[pos:end].encode("utf-8")
            if builder.count and (
                builder.count >= max_snapshots or builder.raw + len(encoded) > max_raw_bytes
            ):
                result.bodies.append(builder.close())
            builder.add(encoded)
        else:
            result.skipped += 1
        del doc
        pos = _skip(text, end)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
            continue
        if text.startswith("]", pos):
            break
        raise ExporterError(f"the snapshot API sent bad JSON: expected ',' or ']' at {pos}")
    if builder.count:
        result.bodies.append(builder.close())
    return _end(text, pos + 1, result)


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _end(text: str, pos: int, result: Batches) -> Batches:
    if _skip(text, pos) != len(text):
        raise ExporterError("the snapshot API sent data after the JSON list")
    return result
