"""Score the vendor profiles on the shared corpus, and print the accuracy table by vendor.

    .venv/bin/python -m tests.conformance.profiles_report [--misses] [--coverage] [--meters]
        [--explain NAME]

No agent is needed: each recording is replayed from memory (`MemoryClient`),
read by the standard identity, meter and supply readers, matched to a profile,
read by the profile engine and merged, exactly as a poll does.

What is compared (only what the corpus sources assert):
- LibreNMS `page_counters`: every asserted counter, found by its OID in our
  counters' `source`, must have the asserted value. prtMarkerLifeCount and the
  vendor lifetime totals count as **total** meters; everything else (mono,
  colour, per function, duplex, scans, jams, power-on) as **split** meters.
- bieniu/brother `sensors`: page_counter (our `total`), bw_counter (`mono`),
  color_counter (`color`) and duplex_unit_pages_counter (`duplex`), and every
  non-null `*_remaining_life`, `*_toner_remaining` and `*_ink_remaining`
  percentage against the supply row the profile filled or added (**supply**).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from exporter.model import Counter, Identity, Supply
from exporter.profiles import (
    Applied,
    Database,
    Match,
    VendorRead,
    apply_vendor_read,
    explain,
    load_database,
    match_profile,
    read_vendor,
)
from exporter.readers.fetch import DeviceData
from exporter.readers.identity import read_identity
from exporter.readers.manufacturer import normalize_manufacturer
from exporter.readers.meters import read_counters
from exporter.readers.supplies import read_supplies
from exporter.readers.vendors import BRAND_PARENT
from exporter.snmp.memory import MemoryClient
from tests.conformance.corpus import Recording, corpus_dir, load_recordings

CATEGORIES = ("total", "split", "supply")
_TOTAL_SENSORS = frozenset({"prtMarkerLifeCount"})
_TOTAL_NAMES = frozenset({"total", "vendor_total"})
_BROTHER_COUNTERS = {
    "page_counter": "total",
    "bw_counter": "mono",
    "color_counter": "color",
    "duplex_unit_pages_counter": "duplex",
}
_SUPPLY_SUFFIXES = ("_remaining_life", "_toner_remaining", "_ink_remaining")


@dataclass(frozen=True)
class ProfileCheck:
    recording: str
    vendor: str
    category: str
    field: str
    expected: Any
    actual: Any
    ok: bool


@dataclass
class DeviceResult:
    identity: Identity | None = None
    counters: tuple[Counter, ...] = ()
    supplies: tuple[Supply, ...] = ()
    match: Match | None = None
    vendor: VendorRead | None = None
    applied: Applied | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


async def read_recording(rec: Recording, database: Database) -> DeviceResult:
    """One recording through the standard readers and the profile engine, from memory."""
    result = DeviceResult()
    client = MemoryClient(rec.values, target=rec.name)
    data = DeviceData(client)
    try:
        identity = await read_identity(data)
        counters = await read_counters(data)
        supplies = await read_supplies(data)
        result.identity, result.counters, result.supplies = identity, counters, supplies
        result.match = match_profile(database, identity)
        if result.match is not None:
            result.vendor = await read_vendor(data, result.match.profile, counters)
            result.applied = apply_vendor_read(identity, counters, supplies, result.vendor)
    except Exception as exc:  # a crash is a finding, reported per recording
        result.error = f"{type(exc).__name__}: {exc}"
    result.warnings = list(data.warnings)
    return result


def vendor_label(rec: Recording) -> str:
    """The maker family the table groups by (the engine maker for OEM brands)."""
    head = rec.vendor.split("(")[0].strip()
    name = normalize_manufacturer(head) or head
    return BRAND_PARENT.get(name, name)


def _counters(result: DeviceResult) -> tuple[Counter, ...]:
    return result.applied.counters if result.applied else result.counters


def _librenms_checks(rec: Recording, result: DeviceResult, vendor: str) -> Iterable[ProfileCheck]:
    by_source = {c.source: c for c in _counters(result)}
    for row in rec.expected.get("page_counters") or []:
        oid = str(row["oid"]).lstrip(".")
        ours = by_source.get(oid)
        category = (
            "total"
            if row.get("sensor_index") in _TOTAL_SENSORS or (ours and ours.name in _TOTAL_NAMES)
            else "split"
        )
        label = f"{row.get('label')} ({oid})"
        actual = None if ours is None else f"{ours.name}={ours.value}"
        ok = ours is not None and ours.value == int(row["value"])
        yield ProfileCheck(rec.name, vendor, category, label, row["value"], actual, ok)


def _supply_percent(result: DeviceResult, key: str) -> tuple[str, int | None] | None:
    if result.applied is None:
        return None
    wanted = {key, key.replace("_ink_", "_toner_"), key.replace("_toner_", "_ink_")}
    for index, ours, _source in result.applied.supply_keys:
        if ours in wanted:
            supply = next(s for s in result.applied.supplies if s.index == index)
            ratio = supply.remaining_ratio
            return ours, None if ratio is None else round(ratio * 100)
    return None


def _brother_checks(rec: Recording, result: DeviceResult, vendor: str) -> Iterable[ProfileCheck]:
    sensors = rec.expected.get("sensors")
    if not isinstance(sensors, dict):
        return
    by_name = {c.name: c for c in _counters(result)}
    for theirs, ours in _BROTHER_COUNTERS.items():
        want = sensors.get(theirs)
        if want is None:
            continue
        got = by_name.get(ours)
        category = "total" if ours == "total" else "split"
        actual = None if got is None else f"{got.name}={got.value}"
        ok = got is not None and got.value == want
        yield ProfileCheck(rec.name, vendor, category, theirs, want, actual, ok)
    for key, want in sorted(sensors.items()):
        if want is None or not key.endswith(_SUPPLY_SUFFIXES):
            continue
        found = _supply_percent(result, key)
        actual = None if found is None else f"{found[0]}={found[1]}"
        ok = found is not None and found[1] == want
        yield ProfileCheck(rec.name, vendor, "supply", key, want, actual, ok)


def evaluate(rec: Recording, result: DeviceResult) -> list[ProfileCheck]:
    vendor = vendor_label(rec)
    checks = [*_librenms_checks(rec, result, vendor), *_brother_checks(rec, result, vendor)]
    if result.error is not None:
        checks.append(
            ProfileCheck(rec.name, vendor, "split", "read", "no error", result.error, False)
        )
    return checks


def run(
    recordings: Sequence[Recording], database: Database
) -> list[tuple[Recording, DeviceResult]]:
    async def all_of() -> list[DeviceResult]:
        return [await read_recording(rec, database) for rec in recordings]

    return list(zip(recordings, asyncio.run(all_of()), strict=True))


def accuracy_table(checks: Iterable[ProfileCheck]) -> str:
    """Markdown: per vendor and in total, passed/checked for total, split and supply checks."""
    cells: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for check in checks:
        cells[check.vendor][check.category].append(check.ok)
        cells["all"][check.category].append(check.ok)

    def cell(results: list[bool]) -> str:
        if not results:
            return "–"
        return f"{sum(results)}/{len(results)} ({100 * sum(results) / len(results):.0f} %)"

    lines = [
        "| vendor | total meters | split meters (mono, colour, function, other) | supply % |",
        "|---|---|---|---|",
    ]
    for vendor in [*sorted(v for v in cells if v != "all"), "all"]:
        row = cells[vendor]
        name = "**all**" if vendor == "all" else vendor
        lines.append(f"| {name} | " + " | ".join(cell(row[c]) for c in CATEGORIES) + " |")
    return "\n".join(lines)


def ratio(checks: Iterable[ProfileCheck], category: str) -> float | None:
    results = [c.ok for c in checks if c.category == category]
    return sum(results) / len(results) if results else None


def misses(checks: Iterable[ProfileCheck]) -> str:
    return "\n".join(
        f"- {c.recording} [{c.category}] {c.field}: expected {c.expected!r}, got {c.actual!r}"
        for c in checks
        if not c.ok
    )


def profile_coverage(results: Sequence[tuple[Recording, DeviceResult]]) -> str:
    """Which profile each recording matched, and how many vendor counters it read."""
    lines = ["| recording | profile | vendor counters |", "|---|---|---|"]
    for rec, result in results:
        name = result.match.profile.name if result.match else "–"
        count = len(result.vendor.counters) if result.vendor else 0
        lines.append(f"| {rec.name} | {name} | {count} |")
    return "\n".join(lines)


_FUNCTIONS = ("print_", "copy_", "fax_", "scan_")
METER_COLUMNS = ("total", "mono/colour", "function", "duplex", "part number", "supply serial")


def meters_of(result: DeviceResult) -> set[str]:
    """Which kinds of meter (METER_COLUMNS) this read gives a dealer to bill from."""
    applied = result.applied
    names = {c.name for c in (applied.counters if applied else result.counters)}
    supplies = applied.supplies if applied else result.supplies
    kinds = set()
    if names & {"total", "vendor_total"}:
        kinds.add("total")
    if "mono" in names:  # a mono device's whole total is mono; a colour one needs both
        kinds.add("mono/colour")
    if any(n.startswith(_FUNCTIONS) for n in names):
        kinds.add("function")
    if "duplex" in names:
        kinds.add("duplex")
    if any(s.part_number for s in supplies):
        kinds.add("part number")
    if any(s.serial for s in supplies):
        kinds.add("supply serial")
    return kinds


def meter_coverage(results: Sequence[tuple[Recording, DeviceResult]]) -> str:
    """Markdown: per vendor, how many recordings gave each kind of meter."""
    per: dict[str, list[set[str]]] = defaultdict(list)
    for rec, result in results:
        maker = result.identity.manufacturer if result.identity else None
        per[maker or rec.vendor or "unknown"].append(meters_of(result))
    lines = [
        "| vendor | recordings | " + " | ".join(METER_COLUMNS) + " |",
        "|---|---|" + "---|" * len(METER_COLUMNS),
    ]
    for vendor in sorted(per, key=str.casefold):
        reads = per[vendor]
        cells = [str(sum(kind in r for r in reads)) for kind in METER_COLUMNS]
        lines.append(f"| {vendor} | {len(reads)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every failed check")
    parser.add_argument("--coverage", action="store_true", help="profile matched per recording")
    parser.add_argument(
        "--meters", action="store_true", help="per vendor: recordings giving each kind of meter"
    )
    parser.add_argument(
        "--explain", metavar="NAME", help="print `profiles explain` for a recording"
    )
    args = parser.parse_args(argv)
    root = corpus_dir()
    if not (root / "MANIFEST.tsv").exists():
        print(f"no corpus at {root} (set PRINTER_EXPORTER_CORPUS)", file=sys.stderr)
        return 1
    database = load_database()
    recordings = load_recordings(root)
    if args.explain:
        recordings = [r for r in recordings if r.name == args.explain]
        if not recordings:
            print(f"no recording named {args.explain!r}", file=sys.stderr)
            return 1
    results = run(recordings, database)
    if args.explain:
        _rec, result = results[0]
        print(explain(result.match, result.vendor, result.applied), end="")
        return 0
    checks = [check for rec, result in results for check in evaluate(rec, result)]
    print(f"{len(recordings)} recordings from {root}, profile database {database.version}\n")
    print(accuracy_table(checks))
    if args.coverage:
        print("\n" + profile_coverage(results))
    if args.meters:
        print("\n" + meter_coverage(results))
    if args.misses:
        print("\nMisses:\n" + (misses(checks) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
