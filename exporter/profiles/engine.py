"""Run one profile against one device: vendor counters, identity values and supplies.

`read_vendor(data, profile, standard)` reads through the poll's shared
`DeviceData`, so a table another reader already walked costs nothing, and it
asks for what it still needs in as few PDUs as it can: one batched GET (16
varbinds a PDU) for every scalar the profile names, plus one walk per vendor
table. A scalar that lies under a walked table is served from the walk.

What comes out (`VendorRead`) is only what the profile found; `apply` merges
it into the snapshot parts. Rules the engine enforces, so a profile cannot
produce a wrong bill:

- a negative or non-numeric meter is dropped with a note, never reported;
- so is any number past 64 bits, before a transform sees it (no SNMP type
  holds one, and Python refuses to print a big enough one), and a table cell
  at an empty index (the column itself is no row);
- a vendor table whose walk the agent's answers make impossible costs that
  table (a warning), not the profile's other tables, scalars and supplies;
- a vendor counter named `total` or `power_on` is reported as `vendor_total`
  or `vendor_power_on` when the Printer-MIB already gave that meter:
  prtMarkerLifeCount stays the billing `total`, and integrity compares the two;
- an impression count that can only be part of the total (mono, colour, per
  function, large format) is dropped when it exceeds the Printer-MIB total by
  more than 2 % (+10): that is a wrong OID on this model, not a meter;
- a derived counter is computed only when the device did not report that name
  itself, only from counters in the same unit, and never when the result
  would be negative. Its `source` is `formula(a + b)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from exporter.model import Counter
from exporter.profiles.brother import decode_records
from exporter.profiles.model import (
    SUBSET_OF_TOTAL,
    DerivedCounter,
    DeviceIdSpec,
    IdentitySource,
    IdentitySpec,
    Override,
    PackedSpec,
    Profile,
    SupplyMatch,
    SupplyQuirks,
    SupplyTable,
    TableSpec,
    ValueSpec,
)
from exporter.profiles.transforms import as_int, as_text
from exporter.readers import oids
from exporter.readers.decode import colorant_name
from exporter.readers.enums import int_text
from exporter.readers.fetch import DeviceData
from exporter.readers.identity import find_device_id
from exporter.snmp import SnmpProtocolError
from exporter.snmp.types import Oid, SnmpValue, Walk, format_oid, is_under

_MAX_METER: Final = 2**64 - 1
_MAX_BITS: Final = 64
_MAX_COLORANTS: Final = 65535
_GUARD_RATIO: Final = 1.02
_GUARD_SLACK: Final = 10
_SLUG: Final = re.compile(r"[^a-z0-9]+")
_MAX_SLUG: Final = 48
MAX_SUPPLY_ID: Final = 40
_NOT_AN_ID: Final = frozenset({"unknown", "none", "n/a", "na", "-", "0"})


@dataclass(frozen=True, slots=True)
class IdentityValue:
    field: str
    value: str
    source: str
    override: Override = "fill"
    replace_if: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class VendorSupply:
    """A supply level the profile decoded from vendor data (a percentage)."""

    key: str
    description: str
    type: str
    color: str | None
    level: int
    source: str
    code: int


@dataclass(frozen=True, slots=True)
class SupplyIds:
    """What a vendor table says a cartridge is, and which supply row it belongs to."""

    match: SupplyMatch
    key: tuple[str | int | None, ...]
    """(prtMarkerSuppliesIndex,) for `index` and `reference`, (description,), or
    (supply type, colour) for `kind`: see `SupplyTable`."""
    part_number: str | None
    serial: str | None
    source: str
    """The cells read, space-separated."""


@dataclass(frozen=True, slots=True)
class VendorRead:
    profile: str
    counters: tuple[Counter, ...] = ()
    identity: tuple[IdentityValue, ...] = ()
    supplies: tuple[VendorSupply, ...] = ()
    quirks: SupplyQuirks = field(default_factory=SupplyQuirks)
    supply_ids: tuple[SupplyIds, ...] = ()
    values: tuple[tuple[str, int, str], ...] = ()
    """Decoded numbers that are neither meters nor levels (name, value, source), for explain."""
    notes: tuple[str, ...] = ()
    """What the engine dropped or decided, and why."""


@dataclass
class _Run:
    profile: Profile
    data: DeviceData
    standard: Mapping[str, Counter]
    total_floor: int = 0
    scalars: dict[Oid, SnmpValue] = field(default_factory=dict)
    walks: dict[Oid, Walk] = field(default_factory=dict)
    device_id: tuple[Oid, bytes] | None = None
    """Where the IEEE 1284 device ID is and its octets, when a source reads a field of it."""
    counters: dict[str, Counter] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str, *, warn: bool = False) -> None:
        if text not in self.notes:
            self.notes.append(text)
        if warn:
            self.data.warn(f"profile {self.profile.name}: {text}")

    def value(self, oid: Oid) -> SnmpValue | None:
        if oid in self.scalars:
            return self.screen(self.scalars[oid], oid)
        for root, walk in self.walks.items():
            if is_under(oid, root):
                return self.screen(walk.column(oid).get(()), oid)
        return None

    def screen(self, value: SnmpValue | None, oid: Oid) -> SnmpValue | None:
        """`value`, or None (with a warning) when it is a number no SNMP type can carry."""
        if isinstance(value, int) and value.bit_length() > _MAX_BITS:
            self.note(f"{format_oid(oid)}: {int_text(value)} is no SNMP number, ignored", warn=True)
            return None
        return value

    def add(self, counter: Counter) -> None:
        if counter.name in self.counters:
            kept = self.counters[counter.name].source
            self.note(f"{counter.name} from {counter.source} ignored: already read from {kept}")
            return
        self.counters[counter.name] = counter


def plan(profile: Profile) -> tuple[tuple[Oid, ...], tuple[Oid, ...]]:
    """(walk roots, scalar OIDs to GET): the requests a profile needs, nothing twice.

    A `device_id:` source needs none of its own: it reads the device ID the
    identity reader already found, from the poll's cache.
    """
    roots: list[Oid] = []
    walks = {t.walk for t in profile.tables} | {t.walk for t in profile.supplies.tables}
    for root in sorted(walks, key=lambda oid: (len(oid), oid)):
        if not any(is_under(root, r) for r in roots):
            roots.append(root)
    scalars = [o for o in _scalar_oids(profile) if not _under_any(o, roots)]
    return tuple(roots), tuple(scalars)


def _scalar_oids(profile: Profile) -> list[Oid]:
    """Every single OID the profile reads (identity, counters, packed strings), once each."""
    wanted: list[Oid] = []
    for spec in profile.identity.values():
        wanted.extend(s.oid for s in spec.sources if isinstance(s, ValueSpec))
    for counter in profile.counters:
        wanted.extend(s.oid for s in counter.sources)
    wanted.extend(p.oid for p in profile.packed)
    return list(dict.fromkeys(wanted))


def _under_any(oid: Oid, roots: Iterable[Oid]) -> bool:
    return any(is_under(oid, root) for root in roots)


async def read_vendor(
    data: DeviceData,
    profile: Profile,
    standard: Sequence[Counter] = (),
    *,
    total_floor: int | None = None,
) -> VendorRead:
    """Everything `profile` can read from this device.

    `total_floor`, when the caller knows it, is the device's total as last exposed
    (wraps added). It only raises the bound a part meter is checked against: right
    after prtMarkerLifeCount wraps, its raw value is far below mono and colour, which
    are real meters still, not a wrong OID.

    SNMP errors propagate to the caller (a timeout, a GET refused as a whole),
    except a refused table walk, which costs only that table.
    """
    run = _Run(profile, data, {c.name: c for c in standard}, total_floor=total_floor or 0)
    roots, scalar_oids = plan(profile)
    await data.prefetch(roots)  # the vendor tables side by side, when the client can
    refused: set[Oid] = set()
    for root in roots:
        try:
            run.walks[root] = await data.walk(root)
        except SnmpProtocolError as exc:
            run.note(f"table {format_oid(root)} not read ({exc})", warn=True)
            run.walks[root] = Walk(root, ())
            refused.add(root)
    # Scalars that lie under a refused table are asked on their own, as the others are.
    wanted = [*scalar_oids, *(o for o in _scalar_oids(profile) if _under_any(o, refused))]
    if wanted:
        run.scalars = await data.get(wanted)
    if any(isinstance(s, DeviceIdSpec) for spec in profile.identity.values() for s in spec.sources):
        run.device_id = await _device_id(run)
    identity = tuple(
        v for name, spec in profile.identity.items() if (v := _identity(run, name, spec))
    )
    for counter in profile.counters:
        _scalar_counter(run, counter.name, counter.sources, counter.unit, counter.scale)
    for table in profile.tables:
        _table(run, table)
    supply_ids = [ids for table in profile.supplies.tables for ids in _supply_ids(run, table)]
    supplies: dict[str, VendorSupply] = {}
    values: list[tuple[str, int, str]] = []
    for spec in profile.packed:
        _packed(run, spec, supplies, values)
    _rename_standard_collisions(run)
    _guard(run)  # before deriving, so a wrong read cannot feed a formula
    color = await _device_color(run) if any(d.when != "always" for d in profile.derived) else None
    for derived in profile.derived:
        _derive(run, derived, color)
    _guard(run)
    return VendorRead(
        profile=profile.name,
        counters=tuple(run.counters.values()),
        identity=identity,
        supplies=tuple(supplies.values()),
        quirks=profile.supplies,
        supply_ids=tuple(supply_ids),
        values=tuple(values),
        notes=tuple(run.notes),
    )


async def _device_id(run: _Run) -> tuple[Oid, bytes] | None:
    """The identity reader's device ID, from the cache it filled; refused answers cost only it.

    No warning: the identity reader has already warned about the same refusal.
    """
    try:
        return await find_device_id(run.data)
    except SnmpProtocolError as exc:
        run.note(f"the IEEE 1284 device ID not read ({exc})")
        return None


def _identity(run: _Run, name: str, spec: IdentitySpec) -> IdentityValue | None:
    for source in spec.sources:
        text, where = _identity_text(run, source)
        if text:
            return IdentityValue(name, text, where, spec.override, spec.replace_if)
    return None


def _identity_text(run: _Run, source: IdentitySource) -> tuple[str | None, str]:
    """(the text, where it came from): an OID, or `OID[FIELD]` for a device ID field."""
    if isinstance(source, ValueSpec):
        return as_text(run.value(source.oid), source.transforms), format_oid(source.oid)
    if run.device_id is None:
        return None, str(source)
    oid, raw = run.device_id
    return as_text(raw, source.steps), f"{format_oid(oid)}[{source.key}]"


def _meter(run: _Run, value: int | None, where: str) -> int | None:
    if value is None:
        return None
    if not 0 <= value <= _MAX_METER:
        run.note(f"{where}: meter value {int_text(value)} is out of range, ignored", warn=True)
        return None
    return value


def _scalar_counter(
    run: _Run, name: str, sources: Iterable[ValueSpec], unit: str, scale: float
) -> None:
    for source in sources:
        raw = run.value(source.oid)
        if raw is None:
            continue
        where = format_oid(source.oid)
        number = _meter(run, as_int(raw, source.transforms), where)
        if number is None:
            if not isinstance(raw, int):
                run.note(f"{where}: {raw!r:.40} is not a meter value, ignored", warn=True)
            continue
        run.add(Counter(name, round(number * scale), unit, where))
        return


def _slug(label: str) -> str:
    text = _SLUG.sub("_", label.casefold()).strip("_")[:_MAX_SLUG].strip("_")
    return f"vendor_{text}" if text else ""


def _table(run: _Run, spec: TableSpec) -> None:
    walk = next(w for r, w in run.walks.items() if is_under(spec.walk, r))
    values = walk.column((*spec.walk, spec.value_column))
    labels = walk.column((*spec.walk, spec.label_column)) if spec.label_column else {}
    keys = walk.column((*spec.walk, spec.key_column)) if spec.key_column else {}
    grouped: dict[str, list[tuple[Oid, int]]] = {}
    units: dict[str, str] = {}
    combine: dict[str, str] = {}
    column = (*spec.walk, spec.value_column)
    if () in values:
        run.note(f"table {spec.id}: a value at {format_oid(column)} itself is no row", warn=True)
    for index in sorted(i for i in values if i):
        oid = (*column, *index)
        number = _meter(run, as_int(run.screen(values[index], oid), ()), format_oid(oid))
        if number is None:
            continue
        label_oid = (*spec.walk, spec.label_column or 0, *index)
        label = as_text(run.screen(labels.get(index), label_oid), ()) if labels else None
        key = keys.get(index)
        name = None
        for rule in spec.rows:
            if (
                (rule.keys and isinstance(key, int) and key in rule.keys)
                or (rule.label is not None and label and rule.label.search(label))
                or (rule.index is not None and index == rule.index)
            ):
                name = rule.name
                units[name] = rule.unit or spec.unit
                combine[name] = rule.combine
                break
        if name is None and spec.unmatched == "vendor" and label:
            name = _slug(label)
            if name in grouped or name in run.counters:
                name = f"{name}_{'_'.join(map(str, index))}"
            units.setdefault(name, spec.unit)
        if name:
            grouped.setdefault(name, []).append((oid, number))
    for name, rows in grouped.items():
        if combine.get(name) == "sum" and len(rows) > 1:
            total = sum(v for _, v in rows)
            source = "sum(" + "+".join(format_oid(o) for o, _ in rows) + ")"
        else:
            total, source = rows[0][1], format_oid(rows[0][0])
            if len(rows) > 1:
                run.note(f"{name}: {len(rows)} rows of table {spec.id} match; kept {source}")
        run.add(Counter(name, round(total * spec.scale), units.get(name, spec.unit), source))


def supply_id_text(text: str | None) -> str | None:
    """A part number or serial as a label can carry it: printable, one word-run, capped.
    A value longer than any real order number or serial is a wrong column, not data."""
    if not text or len(text) > MAX_SUPPLY_ID or not text.isprintable():
        return None
    if text.casefold() in _NOT_AN_ID:
        return None  # HP's "HP unknown", Xerox's "PN unknown;SNunknown"
    return text


def _supply_ids(run: _Run, spec: SupplyTable) -> list[SupplyIds]:
    walk = next(w for r, w in run.walks.items() if is_under(spec.walk, r))

    def column(number: int | None) -> dict[Oid, SnmpValue]:
        if number is None:
            return {}
        oid = (*spec.walk, number)
        return {i: v for i, v in walk.column(oid).items() if i and run.screen(v, (*oid, *i))}

    def text(cells: dict[Oid, SnmpValue], index: Oid) -> str | None:
        return as_text(cells.get(index), spec.transforms)

    parts, serials = column(spec.part_number_column), column(spec.serial_column)
    names, types = column(spec.description_column), column(spec.type_column)
    colors, references = column(spec.color_column), column(spec.reference_column)
    found: list[SupplyIds] = []
    for index in sorted(set(parts) | set(serials)):
        part = supply_id_text(text(parts, index))
        serial = supply_id_text(text(serials, index))
        if part is None and serial is None:
            continue
        key: tuple[str | int | None, ...]
        if spec.match == "index":
            key = (index[-1],)
        elif spec.match == "reference":
            pointer = references.get(index)
            key = (pointer[-1] if isinstance(pointer, tuple) and pointer else None,)
        elif spec.match == "description":
            key = (as_text(names.get(index), ()),)
        else:
            code = types.get(index)
            key = (
                spec.types.get(code) if isinstance(code, int) else None,
                colorant_name(as_text(colors.get(index), ())),
            )
        if None in key[:1]:
            continue  # no description, or a type the profile does not name: no row to join
        cells = [
            format_oid((*spec.walk, number, *index))
            for number, value in ((spec.part_number_column, part), (spec.serial_column, serial))
            if number is not None and value is not None
        ]
        found.append(SupplyIds(spec.match, key, part, serial, " ".join(cells)))
    return found


def _packed(
    run: _Run,
    spec: PackedSpec,
    supplies: dict[str, VendorSupply],
    values: list[tuple[str, int, str]],
) -> None:
    raw = run.value(spec.oid)
    where = format_oid(spec.oid)
    if not isinstance(raw, bytes) or not raw:
        return
    decoded = decode_records(raw, spec.format)
    if decoded.note:
        run.note(f"{where}: packed records: {decoded.note}", warn=True)
    for record in decoded.records:
        source = f"{where}[0x{record.code:02x}]"
        counter = spec.counters.get(record.code)
        if counter is not None and record.data:
            number = _meter(run, record.value, source)
            if number is not None:
                run.add(Counter(counter.name, number, counter.unit, source))
        supply = spec.supplies.get(record.code)
        if supply is not None:
            level = record.percent if supply.percent else None
            if level is None:
                run.note(f"{source}: {supply.key} value {record.data.hex()} is not a level")
                continue
            kind = run.profile.marking if supply.type == "marker" else supply.type
            key = supply.key.replace("marker", run.profile.marking)
            description = supply.description.replace("Marker", run.profile.marking.capitalize())
            supplies[key] = VendorSupply(
                key, description, kind, supply.color, level, source, record.code
            )
        label = spec.values.get(record.code)
        if label is not None and record.data:
            values.append((label, record.value, source))


def _rename_standard_collisions(run: _Run) -> None:
    for name in ("total", "power_on"):
        if name in run.counters and name in run.standard:
            counter = run.counters.pop(name)
            renamed = f"vendor_{name}"
            if renamed not in run.counters:
                run.counters[renamed] = Counter(
                    renamed, counter.value, counter.unit, counter.source
                )


async def _device_color(run: _Run) -> bool | None:
    """True/False from prtMarkerProcessColorants (already walked by the meters reader)."""
    try:
        values = await run.data.column(oids.PRT_MARKER_PROCESS_COLORANTS)
    except SnmpProtocolError as exc:
        run.note(f"prtMarkerProcessColorants not read ({exc}): colour unknown")
        return None
    counts = [v for v in values.values() if isinstance(v, int) and 0 < v <= _MAX_COLORANTS]
    return max(counts) > 1 if counts else None


def _derive(run: _Run, spec: DerivedCounter, color: bool | None) -> None:
    if spec.name in run.counters or spec.name in run.standard:
        return
    if (spec.when == "mono_device" and color is not False) or (
        spec.when == "color_device" and color is not True
    ):
        return
    total = 0
    used: list[str] = []
    for term in spec.terms:
        counter = run.counters.get(term.name) or run.standard.get(term.name)
        if counter is None:
            if term.optional:
                continue
            return
        if counter.unit != spec.unit:
            run.note(
                f"{spec.name}: {term.name} counts {counter.unit}, not {spec.unit}; not derived"
            )
            return
        total += term.sign * counter.value
        used.append(("- " if term.sign < 0 else "+ ") + term.name if used else term.name)
    if total < 0:
        run.note(f"{spec.name} = {spec.expression} would be negative ({total}); not derived")
        return
    run.counters[spec.name] = Counter(spec.name, total, spec.unit, f"formula({' '.join(used)})")


def part_meter_limit(total: int, total_floor: int | None = None) -> float:
    """The most a part meter (mono, colour, per function) may count against a total of
    `total` impressions: 2 % (+10) over it. `total_floor`, the total as last exposed with
    its wraps, raises the bound right after the raw total wrapped."""
    return max(total, total_floor or 0) * _GUARD_RATIO + _GUARD_SLACK


def _guard(run: _Run) -> None:
    total = run.standard.get("total")
    if total is None or total.unit != "impressions":
        return
    limit = part_meter_limit(total.value, run.total_floor)
    for name in [n for n in run.counters if n in SUBSET_OF_TOTAL]:
        counter = run.counters[name]
        if counter.unit == "impressions" and counter.value > limit:
            del run.counters[name]
            run.note(
                f"{name} {counter.value} from {counter.source} exceeds the Printer-MIB total "
                f"{total.value}: not a meter of this model, dropped",
                warn=True,
            )
