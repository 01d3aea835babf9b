"""Hostile MIB views: no reader falls over on one bad value (issue 7, defect 5).

An attack run fed `read_device` random MIB views and found that one bad cell
cost a whole part of the snapshot:

1. a table cell at an empty index (the column OID itself) raised IndexError in
   the supplies, trays, alerts and status readers (`index[-1]`), and a
   printer-typed hrDeviceType there in identity and status (`idx[0]`); a cell
   at a short or long index became a made-up duplicate row, or a marker summed
   into the billing total;
2. an INTEGER longer than 9 octets lost the supplies or the identity. In a
   MIB view it reaches the readers as a Python int: past 4300 digits `str()`
   raises ValueError (a text column, a meter's warning), and below that a
   level of 2**80 was reported as a level. On the wire it never reaches a
   reader: the lean codec refuses the whole answer that carries it (as pysnmp
   does for anything past 32 bits), so one such cell failed the walk of its
   table, or the identity's system GET;
3. a poll whose readers all failed said `reachable: false, error: null`
   (that one is in tests/unit/test_readers.py, beside the other poll outcomes).

The fuzzers that found them are kept here as Hypothesis tests, with a
regression test per defect. Two fakes of `SnmpClient` serve the views, no network:

- `HostileClient`: `MemoryClient` plus `walk_many`, so any value (any int,
  any type) reaches the readers as written, through the same side-by-side
  prefetch that `LeanClient` takes;
- `WireClient`: every answer goes through the real codec (`ber_encode`, then
  `ber.decode_response`), a GET batch or a GETBULK page at a time, and an
  answer the codec refuses fails that request the way `LeanClient._exchange`
  does. Its views hold encoded value TLVs, so a 10-octet INTEGER can be sent.

What the wire cannot give back: a refused value within one GETBULK page after
a small table fails every walk of that table, and with no index known no GET
can read around it. Only a codec that refuses one varbind instead of its
whole message could; `DeviceData` recovers everything else.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from ipaddress import IPv4Address
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.device import DeviceRead, read_device
from exporter.model import Snapshot, Supply, Tray
from exporter.profiles import default_database
from exporter.profiles.engine import plan
from exporter.readers import oids
from exporter.snmp import SnmpProtocolError
from exporter.snmp.ber import (
    COUNTER32,
    COUNTER64,
    INTEGER,
    NO_SUCH_OBJECT,
    RESPONSE,
    VERSION_2C,
    Absent,
    BerError,
    decode_response,
)
from exporter.snmp.ber_encode import encode_message, encode_value, tlv
from exporter.snmp.client import TrafficStats
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.snmp.types import Oid, SnmpValue, Walk, format_oid, is_under
from tests.oracle import FIXTURES

FUZZ_SETTINGS: Final = settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck)
)
"""Bounded, and with nothing timed: the result must not depend on the machine's speed."""

BASES: Final = {
    name: load_snmprec(FIXTURES / f"{name}.snmprec")
    for name in (
        "color_mfp",
        "mono_printer",
        "sentinels",
        "broken_agent",
        "vendors/kyocera",
        "vendors/ricoh",
        "vendors/sharp",
        "vendors/brother",
    )
}
"""Fixtures whose profiles cover every engine path: vendor tables, scalars, packed strings."""

COLOR_MFP: Final = BASES["color_mfp"]


class HostileClient(MemoryClient):
    """`MemoryClient` with `walk_many`, the whole client protocol `DeviceData` uses."""

    async def walk_many(self, roots: Sequence[Oid]) -> dict[Oid, Walk]:
        return {root: await self.walk(root) for root in roots}


class WireClient:
    """Answers from encoded TLVs, each answer decoded by the real lean codec.

    Walks are GETBULK-shaped: a page of `repetitions` OIDs after the last one,
    past the end of the subtree as an agent's are, so a bad value just after a
    table costs that table's last page too, as it does in production.
    """

    def __init__(self, tlvs: Mapping[Oid, bytes], repetitions: int = 25) -> None:
        self._tlvs = dict(tlvs)
        self._order = sorted(self._tlvs)
        self._repetitions = repetitions
        self.stats = TrafficStats()

    @property
    def target(self) -> str:
        return "wire:161"

    @property
    def credentials_name(self) -> str | None:
        return "wire"

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        found: dict[Oid, SnmpValue] = {}
        for start in range(0, len(oids), 16):  # LeanClient's GET batch
            batch = oids[start : start + 16]
            absent = bytes((NO_SUCH_OBJECT, 0))
            answer = self._answer([(oid, self._tlvs.get(oid, absent)) for oid in batch])
            found.update((oid, v) for oid, v in answer if not isinstance(v, Absent))
        return found

    async def walk(self, root: Oid) -> Walk:
        rows: list[tuple[Oid, SnmpValue]] = []
        last = root
        while True:
            start = bisect.bisect_right(self._order, last)
            page = self._order[start : start + self._repetitions]
            if not page:
                return Walk(root, tuple(rows))
            for oid, value in self._answer([(oid, self._tlvs[oid]) for oid in page]):
                if not is_under(oid, root):
                    return Walk(root, tuple(rows))
                if not isinstance(value, Absent):
                    rows.append((oid, value))
                last = oid

    async def walk_many(self, roots: Sequence[Oid]) -> dict[Oid, Walk]:
        return {root: await self.walk(root) for root in roots}

    def _answer(self, varbinds: list[tuple[Oid, bytes]]) -> list[tuple[Oid, Any]]:
        self.stats.requests += 1
        packet = encode_message(VERSION_2C, b"public", RESPONSE, 1, 0, 0, varbinds)
        try:
            message = decode_response(packet)
        except BerError as exc:
            raise SnmpProtocolError(f"{self.target}: undecodable response: {exc}") from None
        self.stats.responses += 1
        return message.varbinds


def integer_tlv(value: int) -> bytes:
    """An INTEGER of any size (`encode_integer` stops at 255 octets)."""
    size = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def encoded(view: Mapping[Oid, SnmpValue]) -> dict[Oid, bytes]:
    return {oid: encode_value(value) for oid, value in view.items()}


def read(client: HostileClient | WireClient) -> DeviceRead:
    return asyncio.run(read_device(client))


BASE_READS: Final = {name: read(HostileClient(view)) for name, view in BASES.items()}


def failed_readers(result: DeviceRead) -> list[str]:
    return [run.reader for run in result.readers if not run.ok]


def numbers(doc: Any) -> Iterator[int | float]:
    if isinstance(doc, dict):
        for value in doc.values():
            yield from numbers(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from numbers(value)
    elif isinstance(doc, int | float) and not isinstance(doc, bool):
        yield doc


def assert_sane(snapshot: Snapshot) -> None:
    """Every number in the snapshot is one its field can mean: dropped, never passed on."""
    json.dumps(snapshot.to_json())  # a huge int would raise here, and in every consumer
    for number in numbers(snapshot.to_json()):
        assert -(2**63) <= number <= 2**64 - 1
        assert not isinstance(number, float) or math.isfinite(number)
    parts: list[Supply | Tray] = [*snapshot.supplies, *snapshot.trays]
    for part in parts:
        assert part.level is None or 0 <= part.level <= 2**31 - 1
        assert part.max_capacity is None or 0 < part.max_capacity <= 2**31 - 1
        assert part.remaining_ratio is None or 0.0 <= part.remaining_ratio <= 1.0
    for counter in snapshot.counters:
        assert 0 <= counter.value <= 2**64 - 1
    for alert in snapshot.alerts:
        assert alert.time_ticks is None or 0 <= alert.time_ticks <= 2**32 - 1
    uptime = snapshot.identity.uptime_seconds
    assert uptime is None or uptime >= 0


# --- the fuzzers ---------------------------------------------------------------

_ENTRIES: Final = (
    oids.PRT_MARKER_SUPPLIES_ENTRY,
    oids.PRT_ALERT_ENTRY,
    oids.PRT_INPUT_ENTRY,
    oids.PRT_MARKER_ENTRY,
    oids.PRT_COVER_ENTRY,
    oids.PRT_MARKER_COLORANT_ENTRY,
    oids.PRT_GENERAL_ENTRY,
    oids.HR_DEVICE_ENTRY,
    oids.HR_PRINTER_ENTRY,
    oids.IF_ENTRY,
    oids.ENT_PHYSICAL_ENTRY,
)
_SYSTEM: Final = (
    oids.SYS_DESCR,
    oids.SYS_OBJECT_ID,
    oids.SYS_UPTIME,
    oids.SYS_CONTACT,
    oids.SYS_NAME,
    oids.SYS_LOCATION,
)


def _vendor_oids() -> list[Oid]:
    """Every vendor table column and scalar the shipped profiles read."""
    out: list[Oid] = []
    for profile in default_database().profiles:
        roots, scalars = plan(profile)
        out += [(*root, column) for root in roots for column in (1, 2, 3)]
        out += [scalar[:-1] for scalar in scalars]  # the scalar is its column plus index
    return sorted(set(out))


COLUMNS: Final = sorted(
    {(*entry, column) for entry in _ENTRIES for column in range(1, 20)}
    | set(_ENTRIES)
    | {entry[:-1] for entry in _ENTRIES}
    | {oids.PRT_CONSOLE_DISPLAY_BUFFER_TEXT, oids.PPM_PRINTER_IEEE1284_DEVICE_ID}
    | {scalar[:-1] for scalar in _SYSTEM}
    | set(_vendor_oids())
)
"""Where a hostile cell may sit: every column the readers and profiles read, and the
entry and table OIDs above them (a value there has an empty index in every column)."""

indexes = st.lists(
    st.one_of(st.sampled_from([0, 1, 2, 3]), st.integers(0, 2**32 - 1)), max_size=4
).map(tuple)
"""Empty, short, right and long indexes, with arcs from 0 to the largest the codec reads."""

hostile_values = st.one_of(
    st.integers(-5, 300),
    st.sampled_from(
        [2**31, -(2**31) - 1, 2**32, 2**63, 2**64, -(2**63) - 1, 2**72, 10**5000, -(10**5000)]
    ),
    st.integers(-(2**600), 2**600),
    st.binary(max_size=24),
    st.sampled_from([b"123", b"-7", b" 42 ", b"99999999999999999999999", b"\x00"]),
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=8).map(tuple),
    st.just(oids.HR_DEVICE_PRINTER),
    st.builds(IPv4Address, st.integers(0, 2**32 - 1)),
    st.none(),  # absent: the cell is deleted
)
"""Every Python shape an `SnmpValue` can take, with the numbers no SNMP field can hold."""

edits = st.lists(
    st.tuples(st.sampled_from(COLUMNS), indexes, hostile_values), min_size=1, max_size=12
)


def touched_rows(changes: Sequence[tuple[Oid, SnmpValue | bytes | None]], entry: Oid) -> set[int]:
    """Last index arcs of the cells `changes` wrote in `entry`'s columns."""
    n = len(entry) + 1
    return {oid[-1] for oid, _ in changes if is_under(oid, entry) and len(oid) > n}


def assert_untouched_rows_survive(
    base: Snapshot, snapshot: Snapshot, changes: Sequence[tuple[Oid, SnmpValue | bytes | None]]
) -> None:
    """A row the changes did not write is read as before, whatever sits beside it."""
    pairs: list[tuple[Oid, tuple[Any, ...], tuple[Any, ...]]] = [
        (
            oids.PRT_MARKER_SUPPLIES_ENTRY,
            tuple((s.index, s.description, s.raw_level, s.raw_max_capacity) for s in base.supplies),
            tuple(
                (s.index, s.description, s.raw_level, s.raw_max_capacity) for s in snapshot.supplies
            ),
        ),
        (
            oids.PRT_INPUT_ENTRY,
            tuple((t.index, t.name, t.raw_level, t.raw_max_capacity) for t in base.trays),
            tuple((t.index, t.name, t.raw_level, t.raw_max_capacity) for t in snapshot.trays),
        ),
        (
            oids.PRT_ALERT_ENTRY,
            tuple((a.index, a.code, a.severity, a.time_ticks) for a in base.alerts),
            tuple((a.index, a.code, a.severity, a.time_ticks) for a in snapshot.alerts),
        ),
    ]
    for entry, before, after in pairs:
        touched = touched_rows(changes, entry)
        for row in before:
            if row[0] not in touched and row[0] < 1000:  # 1000+: a profile's own supply row
                assert row in after, (format_oid(entry), row)


@FUZZ_SETTINGS
@given(base=st.sampled_from(sorted(BASES)), changes=edits)
def test_hostile_mib_views_never_crash_a_reader(
    base: str, changes: list[tuple[Oid, tuple[int, ...], SnmpValue | None]]
) -> None:
    view = dict(BASES[base])
    written: list[tuple[Oid, SnmpValue | None]] = []
    for column, index, value in changes:
        oid = column + index
        written.append((oid, value))
        if value is None:
            view.pop(oid, None)
        else:
            view[oid] = value
    result = read(HostileClient(view, target="hostile:161"))
    snapshot = result.snapshot

    assert failed_readers(result) == []  # nothing escaped: no IndexError, ValueError, ...
    assert not any("internal error" in w for w in snapshot.warnings)
    assert snapshot.reachable
    assert snapshot.error is None
    assert_sane(snapshot)
    assert_untouched_rows_survive(BASE_READS[base].snapshot, snapshot, written)


bad_tlvs = st.one_of(
    st.binary(min_size=10, max_size=40).map(lambda body: tlv(INTEGER, body)),
    st.just(tlv(COUNTER32, b"\x01\x00\x00\x00\x00")),  # 2**32 in a Counter32
    st.just(tlv(COUNTER64, b"\x01" + bytes(8))),  # 2**64 in a Counter64
    st.just(b"\x02\x00"),  # an INTEGER of no octets
    st.just(b"\x45\x00"),  # NsapAddress: no SNMPv2 type
    st.just(b"\x06\x06\x2b\x90\x80\x80\x80\x00"),  # an OID arc of 2**32
)
"""Value TLVs the lean codec refuses: each fails the whole answer that carries it."""

_SUPPLY_ROWS: Final = sorted(
    {
        oid[len(oids.PRT_MARKER_SUPPLIES_LEVEL) :]
        for oid in COLOR_MFP
        if is_under(oid, oids.PRT_MARKER_SUPPLIES_LEVEL)
    }
)
_LATE_SUPPLY_COLUMNS: Final = [(*oids.PRT_MARKER_SUPPLIES_ENTRY, c) for c in (6, 7, 8, 9)]
"""Description, unit, max capacity, level: where the invariant below holds. A refused
value costs every GETBULK page that reaches it, so the last pages of the columns before
it too; here the first columns' walks stay clear of it, and their indexes let the rest
be read cell by cell. Lower columns are left out on purpose: they lie within one page
of the end of prtMarkerTable, whose every page then fails, and a table with no
readable index cannot be read around the bad value (see the module docstring)."""

wire_edits = st.lists(
    st.one_of(
        st.tuples(
            st.tuples(st.sampled_from(_LATE_SUPPLY_COLUMNS), st.sampled_from(_SUPPLY_ROWS)).map(
                lambda cell: cell[0] + cell[1]
            ),
            bad_tlvs,
        ),
        st.tuples(st.sampled_from(_SYSTEM[3:]), bad_tlvs),  # contact, name, location
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda edit: edit[0],
)


@FUZZ_SETTINGS
@given(changes=wire_edits)
def test_refused_answers_cost_only_their_cells(changes: list[tuple[Oid, bytes]]) -> None:
    """On the wire: the supplies and the identity survive values the codec refuses."""
    tlvs = encoded(COLOR_MFP)
    tlvs.update(changes)
    result = read(WireClient(tlvs))
    snapshot = result.snapshot

    assert failed_readers(result) == []
    assert not any("internal error" in w for w in snapshot.warnings)
    assert_sane(snapshot)
    assert_untouched_rows_survive(BASE_READS["color_mfp"].snapshot, snapshot, changes)
    base = BASE_READS["color_mfp"].snapshot
    assert len(snapshot.supplies) == len(base.supplies)
    assert (snapshot.identity.serial, snapshot.identity.manufacturer) == (
        base.identity.serial,
        base.identity.manufacturer,
    )
    for oid, _ in changes:  # each refused cell is named, and read as nothing
        assert any(format_oid(oid) in w for w in snapshot.warnings), format_oid(oid)
    levels: dict[Oid, int | None] = {(1, s.index): s.raw_level for s in snapshot.supplies}
    for oid, _ in changes:
        if is_under(oid, oids.PRT_MARKER_SUPPLIES_LEVEL):
            assert levels[oid[len(oids.PRT_MARKER_SUPPLIES_LEVEL) :]] is None


# --- defect 1: empty, short and long indexes -------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "part"),
    [
        (oids.PRT_MARKER_SUPPLIES_LEVEL, 50, "supplies"),
        (oids.PRT_MARKER_SUPPLIES_DESCRIPTION, b"Cyan Toner", "supplies"),
        (oids.PRT_ALERT_SEVERITY_LEVEL, 3, "alerts"),
        (oids.PRT_INPUT_CURRENT_LEVEL, 10, "trays"),
        (oids.PRT_COVER_STATUS, 4, "status"),
        (oids.HR_DEVICE_TYPE, oids.HR_DEVICE_PRINTER, "identity"),
        (oids.HR_DEVICE_TYPE, oids.HR_DEVICE_PRINTER, "status"),
    ],
)
def test_a_value_at_an_empty_index_costs_only_itself(
    column: Oid, value: SnmpValue, part: str
) -> None:
    """The column OID itself is no row: it used to raise IndexError and drop the whole part."""
    result = read(HostileClient({**COLOR_MFP, column: value}))

    assert failed_readers(result) == []
    base = BASE_READS["color_mfp"].snapshot
    assert getattr(result.snapshot, part) == getattr(base, part)
    assert any(format_oid(column) in w for w in result.snapshot.warnings)


@pytest.mark.parametrize("index", [(1,), (1, 1, 1), (0, 1), (1, 2**32 - 1)])
def test_a_supply_cell_at_a_malformed_index_is_no_supply(index: Oid) -> None:
    """A short, long, zero or out-of-range index used to become a made-up duplicate supply."""
    column = oids.PRT_MARKER_SUPPLIES_LEVEL
    result = read(HostileClient({**COLOR_MFP, column + index: 7}))

    assert result.snapshot.supplies == BASE_READS["color_mfp"].snapshot.supplies
    assert any(format_oid(column + index) in w for w in result.snapshot.warnings)


def test_a_meter_at_a_malformed_index_is_not_billed() -> None:
    """A prtMarkerLifeCount cell at a one-arc index used to be summed into the total."""
    oid = (*oids.PRT_MARKER_LIFE_COUNT, 1)
    result = read(HostileClient({**COLOR_MFP, oid: 1_000_000}))

    assert result.snapshot.counter("total") == BASE_READS["color_mfp"].snapshot.counter("total")
    assert any(format_oid(oid) in w for w in result.snapshot.warnings)


# --- defect 2: integers longer than 9 octets ---------------------------------------

_YELLOW_LEVEL: Final = (*oids.PRT_MARKER_SUPPLIES_LEVEL, 1, 4)
_TEN_OCTETS: Final = integer_tlv(2**72)


def test_a_ten_octet_integer_on_the_wire_costs_one_level_not_the_supplies() -> None:
    """The codec refuses the answer carrying it; the rest of the table is read around it."""
    assert len(_TEN_OCTETS) == 12
    result = read(WireClient({**encoded(COLOR_MFP), _YELLOW_LEVEL: _TEN_OCTETS}))
    snapshot = result.snapshot

    assert "supplies" not in failed_readers(result)
    base = {s.index: s for s in BASE_READS["color_mfp"].snapshot.supplies}
    got = {s.index: s for s in snapshot.supplies}
    assert got.keys() == base.keys()
    assert got[4].raw_level is None
    assert got[4].description == base[4].description
    assert {i: s for i, s in got.items() if i != 4} == {i: s for i, s in base.items() if i != 4}
    assert any("INTEGER of 10 octets" in w for w in snapshot.warnings)


def test_a_ten_octet_integer_on_the_wire_costs_one_fact_not_the_identity() -> None:
    """sysContact shares the identity's first GET with sysDescr and sysObjectID."""
    result = read(WireClient({**encoded(COLOR_MFP), oids.SYS_CONTACT: _TEN_OCTETS}))
    snapshot = result.snapshot

    assert "identity" not in failed_readers(result)
    base = BASE_READS["color_mfp"].snapshot.identity
    assert snapshot.identity.contact is None
    assert snapshot.identity.serial == base.serial
    assert snapshot.identity.sys_descr == base.sys_descr
    assert snapshot.identity.location == base.location
    assert any(format_oid(oids.SYS_CONTACT) in w for w in snapshot.warnings)


@pytest.mark.parametrize("huge", [2**72, 10**5000], ids=["10-octets", "5001-digits"])
def test_a_huge_level_in_a_mib_view_is_dropped_not_reported(huge: int) -> None:
    result = read(HostileClient({**COLOR_MFP, _YELLOW_LEVEL: huge}))

    assert failed_readers(result) == []
    yellow = next(s for s in result.snapshot.supplies if s.index == 4)
    assert (yellow.level, yellow.raw_level, yellow.remaining_ratio) == (None, None, None)
    assert any(f"{format_oid(_YELLOW_LEVEL)}: 0x" in w for w in result.snapshot.warnings)


def test_a_huge_integer_in_a_text_column_costs_that_text_not_the_identity() -> None:
    serial = (*oids.PRT_GENERAL_SERIAL_NUMBER, 1)
    result = read(HostileClient({**COLOR_MFP, serial: 10**5000}))

    assert failed_readers(result) == []
    base = BASE_READS["color_mfp"].snapshot.identity
    assert result.snapshot.identity.manufacturer == base.manufacturer
    assert result.snapshot.identity.model == base.model
    assert any(format_oid(serial) in w for w in result.snapshot.warnings)


def test_a_huge_meter_is_withheld_not_billed() -> None:
    life = next(oid for oid in COLOR_MFP if is_under(oid, oids.PRT_MARKER_LIFE_COUNT))
    result = read(HostileClient({**COLOR_MFP, life: 10**5000}))

    assert failed_readers(result) == []
    assert result.snapshot.counter("total") is None
    assert any(format_oid(life) in w for w in result.snapshot.warnings)
