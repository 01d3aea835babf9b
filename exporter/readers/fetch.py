"""One device's SNMP data, fetched once and shared by every reader.

Identity and status both need hrDeviceTable; supplies and identity both need
the colorant table. `DeviceData` walks each subtree at most once per poll and
hands out typed, defensive views of the values, recording a warning instead of
raising when an agent sends the wrong type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from exporter.readers.decode import decode_text
from exporter.snmp import SnmpClient, SnmpError
from exporter.snmp.types import Oid, SnmpValue, Walk, format_oid

_STOP_REASONS = {
    "max_rows": "the agent kept returning rows past the row limit",
    "deadline": "the walk ran past its time limit",
    "non_increasing": "the agent returned an OID that was not greater than the previous one",
}


@runtime_checkable
class MultiWalker(Protocol):
    """A client that can walk several subtrees in the same requests (`LeanClient`)."""

    async def walk_many(self, roots: Sequence[Oid]) -> dict[Oid, Walk]: ...


class DeviceData:
    def __init__(self, client: SnmpClient) -> None:
        self.client = client
        self.warnings: list[str] = []
        self._walks: dict[Oid, Walk] = {}
        self._scalars: dict[Oid, SnmpValue] = {}
        self._asked: set[Oid] = set()

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        missing = [oid for oid in oids if oid not in self._asked]
        if missing:
            self._scalars.update(await self.client.get(missing))
            self._asked.update(missing)
        return {oid: self._scalars[oid] for oid in oids if oid in self._scalars}

    async def prefetch(self, roots: Sequence[Oid]) -> None:
        """Walk these subtrees now, side by side when the client can (`MultiWalker`).

        Readers still ask for each walk themselves; this only fills the cache in
        fewer round trips. If the combined request fails, the readers walk one
        subtree at a time, as without it.
        """
        wanted = [root for root in roots if root not in self._walks]
        if len(wanted) < 2 or not isinstance(self.client, MultiWalker):
            return
        try:
            walks = await self.client.walk_many(wanted)
        except SnmpError as exc:
            # An agent that chokes on the combined request (or on one big table in it)
            # still gets every reader: they walk their tables one at a time, and a
            # device that is really gone ends the poll at the first reader that times out.
            self.warn(f"combined walk failed ({exc}); walking one table at a time")
            return
        for root, walk in walks.items():
            self._store(root, walk)

    def _store(self, root: Oid, walk: Walk) -> None:
        self._walks[root] = walk
        if walk.stopped is not None:
            self.warn(
                f"walk of {format_oid(root)} stopped after {len(walk.rows)} rows: "
                f"{_STOP_REASONS[walk.stopped]}"
            )

    async def walk(self, root: Oid) -> Walk:
        cached = self._walks.get(root)
        if cached is None:
            cached = await self.client.walk(root)
            self._store(root, cached)
        return cached

    async def column(self, column: Oid) -> dict[Oid, SnmpValue]:
        """One column, keyed by row index. Served from a cached walk of an enclosing table."""
        for root, walk in self._walks.items():
            if column[: len(root)] == root:
                return walk.column(column)
        return (await self.walk(column)).column(column)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def integer(self, value: SnmpValue | None, what: str) -> int | None:
        """An int, or None with a warning when the agent sent another type.

        Some agents send numbers as ASCII digits in an OCTET STRING. Those are
        read (the number is unambiguous) but still flagged, so the agent's
        fault is visible.
        """
        if value is None:
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, bytes):
            text = value.strip(b"\x00 \t\r\n")
            if text[:1] in (b"-", b"+"):
                sign, digits = text[:1], text[1:]
            else:
                sign, digits = b"", text
            if digits.isdigit() and len(digits) <= 20:
                self.warn(f"{what}: number sent as a string ({value!r})")
                return int(sign + digits)
        self.warn(f"{what}: expected a number, got {type(value).__name__} {value!r:.60}")
        return None

    def text(self, value: SnmpValue | None, what: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, bytes):
            return decode_text(value)
        if isinstance(value, int):
            self.warn(f"{what}: expected a string, got a number ({value})")
            return str(value)
        return str(value) if not isinstance(value, tuple) else format_oid(value)
