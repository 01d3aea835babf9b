"""One device's SNMP data, fetched once and shared by every reader.

Identity and status both need hrDeviceTable; supplies and identity both need
the colorant table. `DeviceData` walks each subtree at most once per poll and
hands out typed, defensive views of the values, recording a warning instead of
raising when an agent sends the wrong type, a number no field can hold, or a
cell at an index the table cannot have.

One bad value costs that value, not the table. SNMP carries a whole page of a
table in one answer, and an answer the codec refuses (an INTEGER of more than
9 octets, a Counter32 past 2**32, a tag no SNMP version defines) or that the
agent fails with an error-status fails that whole request: with nothing more,
one such cell would lose every supply, or one odd system scalar the identity.
So when an answer is refused (`SnmpProtocolError`, never a timeout: a silent
agent must end the poll quickly), `DeviceData` narrows the request down:

- a GET is split in halves until the refused OIDs stand alone; each is skipped
  with a warning and the rest is read;
- a table walk is retried column by column, and a column that is still
  refused is read cell by cell with GETs, at the row indexes its sibling
  columns revealed.

The extra requests happen only on that failure path. When everything asked
was refused, the first error is raised, so the reader fails as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Final

from exporter.readers.decode import MAX_TEXT_CHARS, decode_text
from exporter.readers.enums import int_text
from exporter.snmp import SnmpClient, SnmpError, SnmpProtocolError
from exporter.snmp.types import Oid, SnmpValue, Walk, format_oid, is_under

_STOP_REASONS = {
    "max_rows": "the agent kept returning rows past the row limit",
    "deadline": "the walk ran past its time limit",
    "non_increasing": "the agent returned an OID that was not greater than the previous one",
}

INTEGER32: Final = (-(2**31), 2**31 - 1)
"""INTEGER / Integer32: the range of every Printer-MIB and HOST-RESOURCES number column."""

TIME_TICKS: Final = (0, 2**32 - 1)

_SNMP_NUMBERS: Final = (-(2**63), 2**64 - 1)
"""No SNMP type holds a number outside this (Counter64 is the widest): beyond it is garbage."""

MAX_INDEX_ARC: Final = 2**31 - 1
"""The index range of every table the readers use (hrDeviceIndex, ifIndex, prt*Index, ...)."""

_MAX_CELLS_RECOVERED: Final = 64
"""Cells asked for by GET when a column's walk is refused; printer tables are smaller."""

_NARROWING_BUDGET: Final = 128
"""Extra requests one poll may spend isolating refused OIDs, so an agent that refuses
everything costs a bounded number of quick answers, not thousands."""


class DeviceData:
    def __init__(self, client: SnmpClient) -> None:
        self.client = client
        self.warnings: list[str] = []
        self._walks: dict[Oid, Walk] = {}
        self._scalars: dict[Oid, SnmpValue] = {}
        self._asked: set[Oid] = set()
        self._refused: dict[Oid, SnmpProtocolError] = {}
        """Subtrees whose walk an answer made impossible: walked once, then read in parts."""
        self._narrowing_left = _NARROWING_BUDGET

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        """The values the agent has; an OID whose answer is refused is skipped with a warning.

        Raises the first refusal when every OID asked was refused: then the
        request failed as a whole, and the caller decides what that costs.
        """
        missing = [oid for oid in dict.fromkeys(oids) if oid not in self._asked]
        if missing:
            found, refused = await self._narrowed_get(missing)
            if len(refused) == len(missing):
                raise refused[0][1]
            for oid, exc in refused:
                self.warn(f"{format_oid(oid)}: skipped, the agent's answer was refused ({exc})")
            self._scalars.update(found)
            self._asked.update(missing)
        return {oid: self._scalars[oid] for oid in oids if oid in self._scalars}

    async def _narrowed_get(
        self, oids: list[Oid]
    ) -> tuple[dict[Oid, SnmpValue], list[tuple[Oid, SnmpProtocolError]]]:
        """GET `oids`, halving a refused request until each refused OID stands alone.

        A refusal (not a timeout) is an answer, so this costs round trips but
        never waits: at most 2n-1 requests for n OIDs, only after a refusal,
        and never more than the poll's `_NARROWING_BUDGET`.
        """
        try:
            return await self.client.get(oids), []
        except SnmpProtocolError as exc:
            if len(oids) == 1:
                return {}, [(oids[0], exc)]
            if self._narrowing_left < 2:
                self.warn(f"stopped isolating refused OIDs after {_NARROWING_BUDGET} requests")
                return {}, [(oid, exc) for oid in oids]
        self._narrowing_left -= 2
        half = len(oids) // 2
        found, refused = await self._narrowed_get(oids[:half])
        found_rest, refused_rest = await self._narrowed_get(oids[half:])
        return {**found, **found_rest}, refused + refused_rest

    async def prefetch(self, roots: Sequence[Oid]) -> None:
        """Walk these subtrees now, side by side where the client can (`walk_many`).

        Readers still ask for each walk themselves; this only fills the cache in
        fewer round trips. If the combined request fails, the readers walk one
        subtree at a time, as without it.
        """
        wanted = [root for root in roots if root not in self._walks]
        if len(wanted) < 2:
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
            if root in self._refused:
                raise self._refused[root]
            cached = await self.client.walk(root)
            self._store(root, cached)
        return cached

    async def column(self, column: Oid, *, arity: int | None = None) -> dict[Oid, SnmpValue]:
        """One column, keyed by row index. Served from a cached walk of an enclosing table.

        With `arity`, cells whose index is not that many numbers of
        1..2**31-1 are dropped with a warning: they are no row of the table,
        and a reader that took `index[-1]` of them would crash or invent a
        duplicate row. A column whose walk is refused is read cell by cell at
        the indexes of sibling columns already read; with none, the refusal is raised.
        """
        values = await self._column(column)
        return values if arity is None else self._rows_only(column, values, arity)

    async def table(
        self, entry: Oid, columns: Sequence[Oid], *, arity: int
    ) -> list[dict[Oid, SnmpValue]]:
        """Columns of one table (each keyed by row index), with `column`'s index check.

        One walk of the whole entry, shared by every reader that needs the
        table. If its answers are refused, each column is walked alone, and a
        column still refused is read cell by cell at the indexes the others
        revealed. Raises the walk's error only when no column could be read.
        """
        if not any(is_under(entry, root) for root in self._walks) and entry not in self._refused:
            try:
                await self.walk(entry)
            except SnmpProtocolError as exc:
                self._refused[entry] = exc
                self.warn(
                    f"walk of {format_oid(entry)} failed ({exc}); reading it column by column"
                )
        found: dict[Oid, dict[Oid, SnmpValue]] = {}
        refused: dict[Oid, SnmpProtocolError] = {}
        for column in columns:
            try:
                found[column] = await self._walked_column(column)
            except SnmpProtocolError as exc:
                refused[column] = exc
        if refused and not found:
            await self._find_rows(entry, columns)
        for column in refused:
            try:
                found[column] = await self._cells(column, refused[column])
            except SnmpProtocolError:
                self.warn(f"{format_oid(column)}: not read, every answer for it was refused")
        if not found:
            raise self._refused.get(entry, next(iter(refused.values())))
        return [self._rows_only(column, found.get(column, {}), arity) for column in columns]

    async def _column(self, column: Oid) -> dict[Oid, SnmpValue]:
        try:
            return await self._walked_column(column)
        except SnmpProtocolError as exc:
            return await self._cells(column, exc)

    async def _walked_column(self, column: Oid) -> dict[Oid, SnmpValue]:
        """The column from a cached walk, or from a walk of its own (refusals are remembered)."""
        for root, walk in self._walks.items():
            if is_under(column, root):
                return walk.column(column)
        if column in self._refused:
            raise self._refused[column]
        try:
            return (await self.walk(column)).column(column)
        except SnmpProtocolError as exc:
            self._refused[column] = exc
            raise

    async def _find_rows(self, entry: Oid, columns: Sequence[Oid]) -> None:
        """Walk the entry's other columns until one reveals row indexes for `_cells`.

        For when every column a reader asked for was refused: usually a bad
        value near the end of a small table, which every page of it reaches.
        A column before the bad value (the table's first ones) walks clean.
        """
        for number in range(1, max(column[-1] for column in columns)):
            column = (*entry, number)
            if column in columns:
                continue
            with contextlib.suppress(SnmpProtocolError):
                if await self._walked_column(column):
                    return

    async def _cells(self, column: Oid, error: SnmpProtocolError) -> dict[Oid, SnmpValue]:
        """A column whose walk was refused, one GET per cell at its siblings' row indexes."""
        entry, width = column[:-1], len(column)
        indexes = sorted(
            {
                index
                for root, walk in self._walks.items()
                if len(root) == width and root[:-1] == entry and root != column
                for index in walk.column(root)
            }
        )
        if not indexes:
            raise error
        wanted = [column + index for index in indexes[:_MAX_CELLS_RECOVERED]]
        found, refused = await self._narrowed_get(wanted)
        if len(refused) == len(wanted):
            raise error
        walk = Walk(column, tuple((oid, found[oid]) for oid in wanted if oid in found))
        self._walks[column] = walk
        skipped = len(indexes) - len(wanted)
        self.warn(
            f"walk of {format_oid(column)} failed ({error}); read it one row at a time"
            + (
                f", {skipped} rows past the first {_MAX_CELLS_RECOVERED} not asked"
                if skipped
                else ""
            )
        )
        for oid, exc in refused:
            self.warn(f"{format_oid(oid)}: skipped, the agent's answer was refused ({exc})")
        return walk.column(column)

    def _rows_only(
        self, column: Oid, values: Mapping[Oid, SnmpValue], arity: int
    ) -> dict[Oid, SnmpValue]:
        good = {index: v for index, v in values.items() if _is_row_index(index, arity)}
        if len(good) < len(values):
            first = next(index for index in values if index not in good)
            self.warn(
                f"{format_oid(column)}: {len(values) - len(good)} value(s) ignored at an index "
                f"that is not {arity} number(s) of 1..{MAX_INDEX_ARC} "
                f"(first: {format_oid(column + first)})"
            )
        return good

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def integer(
        self, value: SnmpValue | None, what: str, *, valid: tuple[int, int] | None = None
    ) -> int | None:
        """An int in `valid` (default: any SNMP number), or None with a warning.

        Some agents send numbers as ASCII digits in an OCTET STRING. Those are
        read (the number is unambiguous) but still flagged, so the agent's
        fault is visible. A number outside what the field can mean is dropped,
        never clamped: a clamped level or meter would be a wrong number that
        looks right.
        """
        if value is None:
            return None
        if isinstance(value, int):
            number = value
        elif isinstance(value, bytes) and (parsed := _digits(value)) is not None:
            self.warn(f"{what}: number sent as a string ({value!r})")
            number = parsed
        else:
            self.warn(f"{what}: expected a number, got {type(value).__name__} {value!r:.60}")
            return None
        low, high = valid or _SNMP_NUMBERS
        if not low <= number <= high:
            self.warn(f"{what}: {int_text(number)} is out of range {low}..{high}, ignored")
            return None
        return number

    def text(self, value: SnmpValue | None, what: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, bytes):
            return decode_text(value)
        if isinstance(value, int):
            if not _SNMP_NUMBERS[0] <= value <= _SNMP_NUMBERS[1]:
                self.warn(f"{what}: expected a string, got a number of {value.bit_length()} bits")
                return None
            self.warn(f"{what}: expected a string, got a number ({value})")
            return str(value)
        text = format_oid(value) if isinstance(value, tuple) else str(value)
        return text[:MAX_TEXT_CHARS]


def _digits(raw: bytes) -> int | None:
    """The number in an OCTET STRING of (signed) ASCII digits, else None."""
    text = raw.strip(b"\x00 \t\r\n")
    sign, digits = (text[:1], text[1:]) if text[:1] in (b"-", b"+") else (b"", text)
    if digits.isdigit() and len(digits) <= 20:
        return int(sign + digits)
    return None


def _is_row_index(index: Oid, arity: int) -> bool:
    return len(index) == arity and all(1 <= arc <= MAX_INDEX_ARC for arc in index)
