"""The PWG Imaging System Counter MIB reader: its mapping, its defences and its rank.

The reader is a fallback below prtMarkerLifeCount and the vendor profiles, so
besides what it reads these tests check what it must not do: replace a counter
another source gave, or cost a device without the MIB more than one request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from exporter.device import read_device
from exporter.model import Counter
from exporter.readers import oids
from exporter.readers.fetch import DeviceData
from exporter.readers.pwg_counters import (
    COPY,
    FAX_IN,
    PRINT,
    SCAN,
    SYSTEM_TOTALS,
    lifetime_row,
    map_counters,
    read_pwg_counters,
    service_keys,
)
from exporter.snmp import SnmpProtocolError
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.snmp.types import Oid, SnmpValue, Walk, format_oid, is_under
from tests.oracle import FIXTURES, load_oracle, mismatches

PWG: Oid = (1, 3, 6, 1, 4, 1, 2699, 1, 3)
IMPS_TOTAL, IMPS_MONO, IMPS_COLOR = (
    oids.IC_IMPRESSION_TOTAL_IMPS,
    oids.IC_IMPRESSION_MONOCHROME_IMPS,
    oids.IC_IMPRESSION_FULL_COLOR_IMPS,
)


def fixture_values() -> dict[Oid, SnmpValue]:
    return load_snmprec(FIXTURES / "pwg_counters.snmprec")


def agent(services: Mapping[int, int], cells: Mapping[Oid, SnmpValue]) -> dict[Oid, SnmpValue]:
    """A PWG-only agent: icKeyTable rows (key -> service type) and counter cells."""
    values: dict[Oid, SnmpValue] = dict(cells)
    for key, service_type in services.items():
        values[(*oids.IC_KEY_SERVICE_TYPE, key)] = service_type
        values[(*oids.IC_KEY_SERVICE_INDEX, key)] = 1
    return values


async def read(values: Mapping[Oid, SnmpValue]) -> tuple[tuple[Counter, ...], list[str], int]:
    client = MemoryClient(values)
    data = DeviceData(client)
    counters = await read_pwg_counters(data)
    return counters, data.warnings, client.stats.requests


def named(counters: Sequence[Counter]) -> dict[str, tuple[int, str]]:
    return {c.name: (c.value, c.unit) for c in counters}


# --- the fixture, through the whole poll ------------------------------------------------------


async def test_fixture_matches_its_oracle() -> None:
    client = MemoryClient(fixture_values(), target="pwg_counters:161")
    result = await read_device(client)
    assert mismatches(load_oracle("pwg_counters"), result.snapshot.to_json()) == []
    assert {run.reader: run.ok for run in result.readers}["pwg_counters"] is True


async def test_prt_marker_life_count_outranks_the_pwg_total() -> None:
    values = fixture_values()
    values[(*oids.PRT_MARKER_LIFE_COUNT, 1, 1)] = 61_499
    total = (await read_device(MemoryClient(values))).snapshot.counter("total")
    assert total is not None
    assert (total.value, total.source) == (61_499, "1.3.6.1.2.1.43.10.2.1.4.1.1")


async def test_without_prt_marker_life_count_the_pwg_total_fills_in() -> None:
    values = {
        oid: v for oid, v in fixture_values().items() if not is_under(oid, oids.PRT_MARKER_ENTRY)
    }
    total = (await read_device(MemoryClient(values))).snapshot.counter("total")
    assert total is not None
    assert total.value == 61_500
    assert total.source == format_oid(IMPS_TOTAL + lifetime_row(1))


async def test_a_vendor_profile_keeps_every_counter_it_gave() -> None:
    """HP's profile and the PWG MIB together: the PWG reader only adds names nobody gave."""
    hp = load_snmprec(FIXTURES / "vendors" / "hp.snmprec")
    pwg = {oid: v for oid, v in fixture_values().items() if is_under(oid, PWG)}
    alone = (await read_device(MemoryClient(hp))).snapshot
    both = (await read_device(MemoryClient({**hp, **pwg}))).snapshot
    assert alone.identity.profile is not None
    assert both.identity.profile == alone.identity.profile
    for counter in alone.counters:
        assert both.counter(counter.name) == counter
    added = [c for c in both.counters if alone.counter(c.name) is None]
    assert added, "the HP fixture has no per-function meters for PWG to add"
    assert all(c.source.startswith(format_oid(PWG)) for c in added)


# --- cost -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["color_mfp", "mono_printer", "sentinels", "snmpv3"])
async def test_a_device_without_the_mib_costs_one_request(name: str) -> None:
    counters, warnings, requests = await read(load_snmprec(FIXTURES / f"{name}.snmprec"))
    assert (counters, warnings, requests) == ((), [], 1)


class _RefusesPwg(MemoryClient):
    async def walk(self, root: Oid) -> Walk:
        if is_under(root, PWG):
            raise SnmpProtocolError(f"{self.target}: walk answered noSuchName")
        return await super().walk(root)


async def test_a_refused_walk_fails_the_reader_but_not_the_poll() -> None:
    client = _RefusesPwg(fixture_values(), target="refuses:161")
    result = await read_device(client)
    snap = result.snapshot
    assert {run.reader: run.ok for run in result.readers}["pwg_counters"] is False
    assert snap.error is None
    assert any(w.startswith("pwg_counters: refuses:161: walk answered") for w in snap.warnings)
    assert [c.name for c in snap.counters] == ["total", "power_on"]


# --- which services and rows ------------------------------------------------------------------


def cells(
    key: int, total: int, mono: int | None = None, color: int | None = None
) -> dict[Oid, int]:
    row = lifetime_row(key)
    out = {IMPS_TOTAL + row: total}
    if mono is not None:
        out[IMPS_MONO + row] = mono
    if color is not None:
        out[IMPS_COLOR + row] = color
    return out


async def test_a_print_only_device_gives_only_print_counters() -> None:
    counters, warnings, _ = await read(agent({4: PRINT}, cells(4, 900, 700, 200)))
    assert named(counters) == {
        "print_total": (900, "impressions"),
        "print_mono": (700, "impressions"),
        "print_color": (200, "impressions"),
    }
    assert warnings == []


async def test_only_the_lifetime_work_totals_row_counts() -> None:
    power_on = {(*IMPS_TOTAL, 1, 3, 4): 12, (*IMPS_TOTAL, 1, 4, 3): 80}  # powerOn, datastream
    counters, _, _ = await read(agent({1: SYSTEM_TOTALS}, power_on))
    assert counters == ()


async def test_scan_counts_images_and_fax_out_is_not_read() -> None:
    values = agent(
        {1: SCAN, 2: 8},  # 8 = faxOut: images sent, no vocabulary name
        {
            oids.IC_IMAGE_TOTAL_IMAGES + lifetime_row(1): 321,
            oids.IC_IMAGE_TOTAL_IMAGES + lifetime_row(2): 55,
            IMPS_TOTAL + lifetime_row(2): 55,
        },
    )
    counters, _, _ = await read(values)
    assert named(counters) == {"scan_total": (321, "images")}


async def test_sheets_stand_in_for_missing_impressions_in_their_own_unit() -> None:
    row = lifetime_row(3)
    values = agent(
        {3: COPY},
        {
            oids.IC_SHEET_TOTAL_SHEETS + row: 400,
            oids.IC_SHEET_MONOCHROME_SHEETS + row: 300,
            oids.IC_SHEET_FULL_COLOR_SHEETS + row: 100,
        },
    )
    counters, _, _ = await read(values)
    assert named(counters) == {
        "copy_total": (400, "sheets"),
        "copy_mono": (300, "sheets"),
        "copy_color": (100, "sheets"),
    }


def test_impressions_win_over_sheets_for_the_whole_service() -> None:
    row = lifetime_row(1)
    counts = {
        IMPS_TOTAL + row: 1000,
        oids.IC_SHEET_TOTAL_SHEETS + row: 600,
        oids.IC_SHEET_MONOCHROME_SHEETS + row: 500,  # no impression mono: not taken from sheets
    }
    counters, _ = map_counters({SYSTEM_TOTALS: 1}, counts)
    assert named(counters) == {"total": (1000, "impressions")}


def test_a_total_without_a_split_reports_no_zero_mono_and_colour() -> None:
    counters, notes = map_counters({SYSTEM_TOTALS: 1}, cells(1, 5000, 0, 0))
    assert named(counters) == {"total": (5000, "impressions")}
    assert notes == []


def test_a_mono_only_history_keeps_its_zero_colour() -> None:
    counters, _ = map_counters({PRINT: 2}, cells(2, 5000, 5000, 0))
    assert named(counters)["print_color"] == (0, "impressions")


def test_a_split_larger_than_its_total_is_not_reported() -> None:
    counters, notes = map_counters({SYSTEM_TOTALS: 1}, cells(1, 100, 90, 20))
    assert named(counters) == {"total": (100, "impressions")}
    assert len(notes) == 1
    assert "split is not reported" in notes[0]


def test_fax_in_has_no_split_and_duplex_comes_from_two_sided_impressions() -> None:
    counts = {
        **cells(5, 40, 40, 0),
        **cells(1, 1000),
        oids.IC_TWO_SIDED_TOTAL_IMPS + lifetime_row(1): 300,
    }
    counters, _ = map_counters({FAX_IN: 5, SYSTEM_TOTALS: 1}, counts)
    assert named(counters) == {
        "total": (1000, "impressions"),
        "fax_total": (40, "impressions"),
        "duplex": (300, "impressions"),
    }


def test_service_keys_skip_subunits_and_pick_the_first_of_several_services() -> None:
    keys = {
        1: (SYSTEM_TOTALS, 1),
        2: (PRINT, 2),
        3: (PRINT, 1),
        7: (2, 0),  # a subunit key: service type unknown(2)
        8: (None, None),  # a row whose type was garbage
    }
    chosen, notes = service_keys(keys)
    assert chosen == {SYSTEM_TOTALS: 1, PRINT: 3}
    assert len(notes) == 1
    assert "read key 3, not 2" in notes[0]


# --- what an agent may send -------------------------------------------------------------------


async def test_sentinels_and_garbage_are_dropped_with_a_warning() -> None:
    values = agent(
        {1: SYSTEM_TOTALS, 2: PRINT, 3: COPY},
        {
            IMPS_TOTAL + lifetime_row(1): -2,  # an 'unknown' no IcCounter32 can hold
            IMPS_TOTAL + lifetime_row(2): b"\xff\xfe garbage",
            IMPS_TOTAL + lifetime_row(3): b"1234",  # digits in a string: read, and flagged
            IMPS_MONO + lifetime_row(3): 1000,
            IMPS_COLOR + lifetime_row(3): (1, 3, 6),  # an OID where a count belongs
        },
    )
    counters, warnings, _ = await read(values)
    assert named(counters) == {
        "copy_total": (1234, "impressions"),
        "copy_mono": (1000, "impressions"),
    }
    assert any("-2 is out of range" in w for w in warnings)
    assert any("expected a number" in w and "garbage" in w for w in warnings)
    assert any("number sent as a string" in w for w in warnings)
    assert any("expected a number, got tuple" in w for w in warnings)


async def test_a_counter64_past_31_bits_is_still_a_meter() -> None:
    """IcCounter32 stops at 2**31-1, but an agent counting in Counter64 has printed those pages."""
    big = 5_000_000_000
    counters, warnings, _ = await read(agent({1: SYSTEM_TOTALS}, cells(1, big, big - 7, 7)))
    assert named(counters) == {
        "total": (big, "impressions"),
        "mono": (big - 7, "impressions"),
        "color": (7, "impressions"),
    }
    assert warnings == []


async def test_cells_at_a_malformed_index_are_ignored() -> None:
    values = agent(
        {1: SYSTEM_TOTALS},
        {(*IMPS_TOTAL, 1, 3): 10, (*IMPS_TOTAL, 1, 3, 3, 9): 11, (*IMPS_TOTAL, 1, 0, 3): 12},
    )
    counters, warnings, _ = await read(values)
    assert counters == ()
    assert any("not 3 number(s)" in w for w in warnings)


async def test_a_garbage_service_type_is_no_service() -> None:
    values = agent({1: SYSTEM_TOTALS}, cells(1, 10))
    values[(*oids.IC_KEY_SERVICE_TYPE, 1)] = b"systemTotals"
    counters, warnings, _ = await read(values)
    assert counters == ()
    assert any(format_oid((*oids.IC_KEY_SERVICE_TYPE, 1)) in w for w in warnings)
