"""Plain-Python SNMP values, so that nothing outside `exporter.snmp` sees pysnmp.

OIDs are tuples of ints: they compare and sort the way SNMP orders them, and
they hash fast. Values are mapped to the fewest Python types that keep the
distinctions readers need:

    INTEGER, Counter32, Gauge32, TimeTicks, Counter64, Unsigned32  -> int
    OCTET STRING, Opaque, BITS                                      -> bytes
    OBJECT IDENTIFIER                                               -> Oid (tuple[int, ...])
    IpAddress                                                       -> ipaddress.IPv4Address

A reader that expects a number and gets bytes (or the reverse) has found a
broken agent, and says so in the snapshot's warnings instead of crashing.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Literal, TypeAlias

Oid: TypeAlias = tuple[int, ...]
SnmpValue: TypeAlias = int | bytes | Oid | IPv4Address

WalkStop = Literal["max_rows", "deadline", "non_increasing"]


def parse_oid(text: str) -> Oid:
    """'1.3.6.1' or '.1.3.6.1' -> (1, 3, 6, 1). Raises ValueError on anything else."""
    stripped = text.strip().lstrip(".")
    if not stripped:
        raise ValueError(f"empty OID: {text!r}")
    try:
        parts = tuple(int(p) for p in stripped.split("."))
    except ValueError:
        raise ValueError(f"not a numeric OID: {text!r}") from None
    if any(p < 0 for p in parts):
        raise ValueError(f"negative arc in OID: {text!r}")
    return parts


def format_oid(oid: Oid) -> str:
    return ".".join(map(str, oid))


def format_target(host: str, port: int) -> str:
    """The canonical 'host:port' of a device ('[v6]:port' for IPv6): the `target` label."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_under(oid: Oid, root: Oid) -> bool:
    return oid[: len(root)] == root


@dataclass(frozen=True, slots=True)
class Walk:
    """The rows of one subtree, in agent order, and why the walk stopped early if it did.

    `stopped` is None when the agent reached the end of the subtree by itself.
    A truncated walk still carries every row read before the stop, because a
    partial supplies table is better than none.
    """

    root: Oid
    rows: tuple[tuple[Oid, SnmpValue], ...]
    stopped: WalkStop | None = None

    def column(self, column: Oid) -> dict[Oid, SnmpValue]:
        """Rows under `column`, keyed by the index suffix (the part after the column OID)."""
        n = len(column)
        return {oid[n:]: value for oid, value in self.rows if oid[:n] == column}
