"""GET batching and the walk loop, written once for both clients.

The lean client (v1/v2c, our codec) and the pysnmp client (v3) differ only in how one
request goes out and comes back; each turns that into an `Answer`, and everything a
poll relies on is here, the same for both: GETs in batches of 16 varbinds, a v1
noSuchName answered by dropping that OID and asking again, a tooBig answered by asking
for less, and walks bounded in rows and time that stop at the end of the subtree, at
endOfMibView, or at an OID that does not increase (which could otherwise loop forever).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from exporter.snmp.ber import Absent, VarBindValue
from exporter.snmp.errors import SnmpProtocolError
from exporter.snmp.types import Oid, SnmpValue, Walk, WalkStop

if TYPE_CHECKING:
    from exporter.snmp.client import SnmpOptions

Kind = Literal["get", "next", "bulk"]

GET_BATCH = 16
"""Varbinds per GET PDU: small enough for any agent's buffer, few enough PDUs for a poll."""
TOO_BIG = 1
NO_SUCH_NAME = 2
ERROR_STATUS_NAMES = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)


def error_status_name(status: int) -> str:
    if 0 <= status < len(ERROR_STATUS_NAMES):
        return ERROR_STATUS_NAMES[status]
    return f"error-status {status}"


@dataclass(frozen=True, slots=True)
class Answer:
    """One response PDU as both clients see it: the status, and values or `Absent`s."""

    error_status: int
    error_index: int
    varbinds: Sequence[tuple[Oid, VarBindValue]]


class Exchanging(Protocol):
    """What the shared loops need of a client: one request out, its answer back."""

    max_repetitions: int
    """The GETBULK size in use: the configured one, halved by each tooBig."""

    @property
    def target(self) -> str: ...

    @property
    def options(self) -> SnmpOptions: ...

    async def exchange(self, kind: Kind, oids: Sequence[Oid]) -> Answer:
        """One request; raise `SnmpError` for a timeout, a refusal or a broken answer."""
        ...


async def get_batched(client: Exchanging, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
    """Every OID that has a value, asked `GET_BATCH` at a time; missing ones left out."""
    found: dict[Oid, SnmpValue] = {}
    for start in range(0, len(oids), GET_BATCH):
        found.update(await _get_batch(client, list(oids[start : start + GET_BATCH])))
    return found


async def _get_batch(client: Exchanging, oids: list[Oid]) -> dict[Oid, SnmpValue]:
    # SNMPv1 fails the whole PDU with noSuchName for one missing OID: drop that
    # OID and ask again, at most once per OID in the batch.
    for _ in range(len(oids) + 1):
        if not oids:
            return {}
        answer = await client.exchange("get", oids)
        status = answer.error_status
        if status == 0:
            return {oid: v for oid, v in answer.varbinds if not isinstance(v, Absent)}
        if status == NO_SUCH_NAME and 1 <= answer.error_index <= len(oids):
            del oids[answer.error_index - 1]
            continue
        if status == TOO_BIG and len(oids) > 1:
            half = len(oids) // 2
            found = await _get_batch(client, oids[:half])
            found.update(await _get_batch(client, oids[half:]))
            return found
        raise SnmpProtocolError(f"{client.target}: GET answered {error_status_name(status)}")
    return {}


async def walk(client: Exchanging, root: Oid, *, bulk: bool) -> Walk:
    """The subtree under `root`, by GETBULK (`bulk`) or GETNEXT, within the client's
    `max_rows` and `walk_timeout`; why it stopped early is in `Walk.stopped`."""
    opts = client.options
    deadline = time.monotonic() + opts.walk_timeout
    rows: list[tuple[Oid, SnmpValue]] = []
    last = root
    stopped: WalkStop | None = None
    while True:
        if len(rows) >= opts.max_rows:
            stopped = "max_rows"
            break
        if time.monotonic() >= deadline:
            stopped = "deadline"
            break
        answer = await client.exchange("bulk" if bulk else "next", [last])
        status = answer.error_status
        if status:
            if status == NO_SUCH_NAME:  # SNMPv1 end of MIB view
                break
            if status == TOO_BIG and bulk and client.max_repetitions > 1:
                client.max_repetitions //= 2
                continue
            raise SnmpProtocolError(f"{client.target}: walk answered {error_status_name(status)}")
        done, stopped, last = extend_walk(rows, answer.varbinds, root, last, opts.max_rows)
        if done:
            break
    return Walk(root=root, rows=tuple(rows), stopped=stopped)


def extend_walk(
    rows: list[tuple[Oid, SnmpValue]],
    varbinds: Sequence[tuple[Oid, VarBindValue]],
    root: Oid,
    last: Oid,
    max_rows: int,
) -> tuple[bool, WalkStop | None, Oid]:
    """Add one response's varbinds to `rows`.

    Returns (walk finished, why it stopped early, last OID). Out of the
    subtree or endOfMibView ends the walk; an OID not greater than the last
    one stops it as "non_increasing" (following it could loop forever);
    noSuch* values advance the walk but add no row.
    """
    n = len(root)
    for oid, value in varbinds:
        if value is Absent.END_OF_MIB_VIEW or oid[:n] != root:
            return True, None, last
        if oid <= last:
            return True, "non_increasing", last
        if not isinstance(value, Absent):
            rows.append((oid, value))
        last = oid
        if len(rows) >= max_rows:
            return True, "max_rows", last
    return not varbinds, None, last
