"""Vendor profiles against the shared corpus (skipped when ../shared/corpus is absent).

Replays every recording from memory (no agent needed), reads it the way a poll
does, and holds the profiles to the bars of issue 4: every asserted total
meter, at least 95 % of the asserted split meters (mono, colour, per function
and the rest) and at least 95 % of Brother's supply percentages. The table
itself: `python -m tests.conformance.profiles_report`.
"""

from __future__ import annotations

import pytest

from exporter.profiles import Database, load_database
from tests.conformance.corpus import Recording, corpus_dir, load_recordings
from tests.conformance.profiles_report import (
    DeviceResult,
    ProfileCheck,
    evaluate,
    meter_coverage,
    meters_of,
    misses,
    ratio,
    run,
    vendor_label,
)

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(
        not (corpus_dir() / "MANIFEST.tsv").exists(), reason="no ../shared/corpus on this machine"
    ),
]

Results = list[tuple[Recording, DeviceResult]]
FAMILIES = frozenset(
    {
        "HP", "Ricoh", "Kyocera", "Xerox", "Fujifilm", "Canon", "Konica Minolta", "Sharp",
        "Brother", "Lexmark", "Epson", "Samsung", "OKI", "Toshiba", "Dell",
    }
)  # fmt: skip


@pytest.fixture(scope="module")
def database() -> Database:
    return load_database()


@pytest.fixture(scope="module")
def results(database: Database) -> Results:
    return run(load_recordings(), database)


@pytest.fixture(scope="module")
def checks(results: Results) -> list[ProfileCheck]:
    return [check for rec, result in results for check in evaluate(rec, result)]


def test_every_recording_is_read_without_error(results: Results) -> None:
    assert [(rec.name, r.error) for rec, r in results if r.error] == []


def test_every_recording_of_a_covered_maker_matches_a_profile(results: Results) -> None:
    unmatched = [
        rec.name for rec, r in results if vendor_label(rec) in FAMILIES and r.match is None
    ]
    assert unmatched == []


@pytest.mark.parametrize(("category", "bar"), [("total", 1.0), ("split", 0.95), ("supply", 0.95)])
def test_accuracy_meets_the_bar(checks: list[ProfileCheck], category: str, bar: float) -> None:
    picked = [c for c in checks if c.category == category]
    assert picked, f"no {category} checks: the corpus or the harness changed"
    score = ratio(picked, category)
    assert score is not None
    assert score >= bar, misses(picked)


def test_profiles_never_override_the_printer_mib_total(results: Results) -> None:
    """Where the Printer-MIB has a total, a vendor total never replaces it."""
    for rec, r in results:
        if r.applied is None:
            continue
        standard = {c.name: c for c in r.counters}
        merged = {c.name: c for c in r.applied.counters}
        if "total" in standard:
            assert merged["total"] == standard["total"], rec.name


def test_meter_coverage_counts_what_each_read_gives(results: Results) -> None:
    by_name = {rec.name: meters_of(result) for rec, result in results}
    # LibreNMS asserts 29 split meters on this MX-3570N: every kind but part numbers
    assert by_name["sharp"] == {"total", "mono/colour", "function", "duplex"}
    table = meter_coverage(results).splitlines()
    sharp = next(line for line in table if line.startswith("| Sharp |"))
    assert sharp.split(" | ")[1:3] == ["4", "1"]  # four recordings, one with a total


def test_part_numbers_and_serials_come_from_the_real_descriptions(results: Results) -> None:
    """Where a maker prints the order number (or the cartridge serial) in the description,
    real walks give it, and it is the description's own token, never a made-up value."""
    found: dict[str, int] = {}
    for rec, result in results:
        supplies = result.applied.supplies if result.applied else result.supplies
        for supply in supplies:
            for value in (supply.part_number, supply.serial):
                if value:
                    assert supply.description is not None
                    assert value in supply.description, (rec.name, supply.index, value)
                    found[rec.name] = found.get(rec.name, 0) + 1
    assert {
        "jetdirect",  # HP "Black Cartridge HP CF410A"
        "jetdirect_m252dw",
        "utax",  # "PK-3010S"
        "pm_kyocera_p2040dw",  # "TK-1162"
        "xerox",  # ", PN 006R01509;SN48178080E0000481"
        "pm_epson_cw-c6500au",  # "... Ink Cartridge SJIC35P-BK"
        "brother_mfc7820n",  # "TN-350/TN-2000/..."
        "lsim_samsung_ml2850",  # "Toner S/N:CRUM-..."
    } <= set(found)
    assert found["xerox"] == 19  # 11 part numbers and 8 serials; "unknown" is neither
