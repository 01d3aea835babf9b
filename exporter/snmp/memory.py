"""An in-memory `SnmpClient`: readers' unit tests, and replaying a recorded walk.

It serves a mapping of OID -> value with the same walk semantics as the real
client (bounded rows, sorted order), so a reader tested against it behaves the
same against a printer. `load_snmprec` reads snmpsim's `.snmprec` format,
which is also what a user can send us from `snmpwalk`-style captures.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from pathlib import Path

from exporter.snmp.client import TrafficStats
from exporter.snmp.errors import SnmpTimeout
from exporter.snmp.types import Oid, SnmpValue, Walk, is_under, parse_oid

_INT_TAGS = {"2", "65", "66", "67", "70"}


class MemoryClient:
    def __init__(
        self,
        values: Mapping[Oid, SnmpValue],
        *,
        target: str = "memory:161",
        max_rows: int = 5000,
        reachable: bool = True,
    ) -> None:
        self._values = dict(values)
        self._order = sorted(self._values)
        self._target = target
        self._max_rows = max_rows
        self._reachable = reachable
        self.stats = TrafficStats()

    @property
    def target(self) -> str:
        return self._target

    @property
    def credentials_name(self) -> str | None:
        return "memory"

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        self._check()
        return {oid: self._values[oid] for oid in oids if oid in self._values}

    async def walk(self, root: Oid) -> Walk:
        self._check()
        start = bisect.bisect_right(self._order, root)
        rows: list[tuple[Oid, SnmpValue]] = []
        for oid in self._order[start:]:
            if not is_under(oid, root):
                break
            if len(rows) >= self._max_rows:
                return Walk(root, tuple(rows), "max_rows")
            rows.append((oid, self._values[oid]))
        return Walk(root, tuple(rows))

    async def walk_many(self, roots: Sequence[Oid]) -> dict[Oid, Walk]:
        return {root: await self.walk(root) for root in roots}

    def _check(self) -> None:
        self.stats.requests += 1
        if not self._reachable:
            raise SnmpTimeout(f"{self._target}: no response (memory client set unreachable)")


def parse_snmprec_line(line: str) -> tuple[Oid, SnmpValue] | None:
    """One `oid|tag|value` line -> (oid, value); None for lines we cannot use.

    Tags ending in 'x' carry hex. Variation-module tags (`4:numeric` etc.) and
    types we do not model are skipped rather than guessed.
    """
    parts = line.rstrip("\r\n").split("|", 2)
    if len(parts) != 3:
        return None
    oid_text, tag, text = parts
    try:
        oid = parse_oid(oid_text)
    except ValueError:
        return None
    hexed = tag.endswith("x")
    base = tag[:-1] if hexed else tag
    try:
        raw = bytes.fromhex(text) if hexed else text.encode("utf-8", "surrogateescape")
        if base in _INT_TAGS:
            return oid, int(raw.decode("ascii") if not hexed else int.from_bytes(raw, "big"))
        if base in ("4", "68"):
            return oid, raw
        if base == "6":
            return oid, parse_oid(raw.decode("ascii"))
        if base == "64":
            return oid, IPv4Address(raw if hexed else raw.decode("ascii"))
    except ValueError:
        return None
    return None


def load_snmprec(path: Path) -> dict[Oid, SnmpValue]:
    values: dict[Oid, SnmpValue] = {}
    with path.open(encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            parsed = parse_snmprec_line(line)
            if parsed is not None:
                values[parsed[0]] = parsed[1]
    return values
