"""The vendor database as frozen dataclasses: what `loader` builds and everything else reads.

Nothing here touches YAML or SNMP. The classes mirror the YAML schema in
`exporter/profiles/SCHEMA.md` one to one, after validation: OIDs are tuples,
regexes are compiled, inheritance (`extends`) is already resolved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, TypeVar

from exporter.model import SupplyState
from exporter.snmp.types import Oid

SCHEMA_VERSION: Final = 1
"""The YAML schema this code reads; `_database.yaml` must name it."""

VOCABULARY: Final = frozenset(
    {
        "total",
        "power_on",
        "mono",
        "color",
        "print_total",
        "print_mono",
        "print_color",
        "copy_total",
        "copy_mono",
        "copy_color",
        "fax_total",
        "scan_total",
        "duplex",
        "large_total",
        "large_mono",
        "large_color",
    }
)
"""Counter names with a meaning defined in docs/snapshot.md; anything else is `vendor_*`."""

VENDOR_NAME: Final = re.compile(r"^vendor_[a-z0-9]+(?:_[a-z0-9]+)*$")

SUBSET_OF_TOTAL: Final = frozenset(
    {
        "mono",
        "color",
        "print_total",
        "print_mono",
        "print_color",
        "copy_total",
        "copy_mono",
        "copy_color",
        "fax_total",
        "large_total",
        "large_mono",
        "large_color",
    }
)
"""Impression counts that can never exceed the engine's lifetime `total`.

Listed name by name although most of VOCABULARY is here: a part is checked against the
total and dropped when it exceeds it, so a counter added to the vocabulary must be put
here on purpose, never by default (a wrongly dropped meter costs money)."""

UNITS: Final = frozenset(
    {"impressions", "sheets", "pages", "images", "events", "inches", "feet", "meters"}
)

SUPPLY_TYPES: Final = frozenset(
    {
        "marker",  # the profile's `marking`: toner or ink
        "toner",
        "ink",
        "opc",
        "developer",
        "fuser",
        "transfer_unit",
        "waste_toner",
        "waste_ink",
        "cleaner_unit",
        "other",
    }
)


Override = Literal["fill", "always"]


def is_counter_name(name: str) -> bool:
    return name in VOCABULARY or bool(VENDOR_NAME.match(name))


@dataclass(frozen=True, slots=True)
class Transform:
    """One step that turns a raw SNMP value into text or a number (see `transforms`)."""

    name: str
    arg: str | None = None

    def __str__(self) -> str:
        return self.name if self.arg is None else f"{self.name}:{self.arg}"


@dataclass(frozen=True, slots=True)
class MatchRule:
    """One way a profile can match. Every condition given must hold; lists mean any of."""

    manufacturers: tuple[str, ...] = ()
    enterprises: tuple[int, ...] = ()
    sys_object_ids: tuple[Oid, ...] = ()
    sys_descr: re.Pattern[str] | None = None
    model: re.Pattern[str] | None = None

    @property
    def weak(self) -> bool:
        """Only enterprise or sysObjectID: vetoed when the device names another maker."""
        return not (self.manufacturers or self.sys_descr or self.model)


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """One OID to GET, with the transforms that make its value usable."""

    oid: Oid
    transforms: tuple[Transform, ...] = ()


@dataclass(frozen=True, slots=True)
class DeviceIdSpec:
    """One field of the device's IEEE 1284 device ID, wherever the identity reader found it.

    The device ID lives under one of several OIDs (the PWG column, or a copy in
    a maker's MIB, `readers.vendors.DEVICE_ID_OIDS`), and which one a device
    fills is not a fact about its maker: Brother and Zebra fill HP's. So a
    profile names the field and the engine takes the string the identity
    reader chose, rather than one OID that a device may leave empty.
    """

    key: str
    """The field's name as `parse_device_id` spells it: upper case ('DES', 'MODEL')."""
    transforms: tuple[Transform, ...] = ()

    @property
    def steps(self) -> tuple[Transform, ...]:
        """The transforms to run on the raw device ID: the field first, then the profile's."""
        return (Transform("device_id", self.key), *self.transforms)

    def __str__(self) -> str:
        return f"device_id:{self.key}"


IdentitySource = ValueSpec | DeviceIdSpec


@dataclass(frozen=True, slots=True)
class IdentitySpec:
    """Sources for one identity field, tried in order; `override` says when they win."""

    sources: tuple[IdentitySource, ...]
    override: Override = "fill"
    replace_if: re.Pattern[str] | None = None
    """With `fill`: also replace a standard value that matches this (e.g. '^Generic')."""


@dataclass(frozen=True, slots=True)
class ScalarCounter:
    name: str
    sources: tuple[ValueSpec, ...]
    unit: str = "impressions"
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class RowRule:
    """Which rows of a vendor table feed one counter: by type code, label or index."""

    name: str
    keys: tuple[int, ...] = ()
    label: re.Pattern[str] | None = None
    index: Oid | None = None
    unit: str | None = None
    combine: Literal["first", "sum"] = "first"


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A vendor counter table walked once: values in one column, names in another."""

    id: str
    walk: Oid
    value_column: int
    key_column: int | None = None
    label_column: int | None = None
    rows: tuple[RowRule, ...] = ()
    unmatched: Literal["vendor", "ignore"] = "ignore"
    unit: str = "impressions"
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    sign: int  # +1 or -1
    optional: bool = False


@dataclass(frozen=True, slots=True)
class DerivedCounter:
    """A counter computed from others, only when the device did not report it directly."""

    name: str
    terms: tuple[Term, ...]
    unit: str = "impressions"
    when: Literal["always", "mono_device", "color_device"] = "always"

    @property
    def expression(self) -> str:
        parts: list[str] = []
        for i, term in enumerate(self.terms):
            text = term.name + ("?" if term.optional else "")
            if i == 0:
                parts.append(text if term.sign > 0 else f"-{text}")
            else:
                parts.append(("+ " if term.sign > 0 else "- ") + text)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class PackedSupply:
    key: str
    description: str
    type: str
    color: str | None
    percent: bool = True
    """The record holds a percentage (x100 in 4-byte records); else a page count."""


@dataclass(frozen=True, slots=True)
class PackedCounter:
    name: str
    unit: str = "impressions"


@dataclass(frozen=True, slots=True)
class PackedSpec:
    """An OCTET STRING of packed records (Brother's 2435.2.3.9.4.2.1.5.5.*)."""

    oid: Oid
    format: Literal["brother", "brother_short"]
    counters: Mapping[int, PackedCounter] = field(default_factory=dict)
    supplies: Mapping[int, PackedSupply] = field(default_factory=dict)
    values: Mapping[int, str] = field(default_factory=dict)


SupplyMatch = Literal["index", "reference", "description", "kind"]


@dataclass(frozen=True, slots=True)
class SupplyTable:
    """A vendor table that says what a cartridge is: its order number, its own serial.

    Rows find their supply by `match`: `index`, the row index ends in the supply's
    prtMarkerSuppliesIndex; `reference`, a column holds the OID of the supply's
    Printer-MIB row, which ends in that index (Xerox's xcmHrSuppliesReferenceOID);
    `description`, the row's description equals the supply's
    prtMarkerSuppliesDescription; `kind`, the row's type (through `types`) and colour
    equal the supply's (Lexmark numbers its own table and lists only what a user
    replaces, so neither index nor wording is shared with the Printer-MIB).
    """

    walk: Oid
    match: SupplyMatch = "index"
    reference_column: int | None = None
    description_column: int | None = None
    type_column: int | None = None
    types: Mapping[int, str] = field(default_factory=dict)
    color_column: int | None = None
    part_number_column: int | None = None
    serial_column: int | None = None
    transforms: tuple[Transform, ...] = ()


@dataclass(frozen=True, slots=True)
class SupplyQuirks:
    level_states: Mapping[int, SupplyState] = field(default_factory=dict)
    """Raw prtMarkerSuppliesLevel values that are states, not levels (Ricoh -100)."""
    staged_levels: Mapping[int, SupplyState] = field(default_factory=dict)
    """Levels that are steps, applied only when every toner/ink row uses them (Canon)."""
    part_number: re.Pattern[str] | None = None
    """The order number inside prtMarkerSuppliesDescription, for makers that print it there."""
    serial: re.Pattern[str] | None = None
    """The cartridge serial inside the description (Xerox's ";SN...", Samsung's CRUM)."""
    tables: tuple[SupplyTable, ...] = ()


EwsFormat = Literal["xml", "html", "json", "csv"]


@dataclass(frozen=True, slots=True)
class EwsValue:
    """One value on an EWS page: a `select` path (the format's own, exporter/ews/documents.py)
    or a `label` (HTML: the element after the one reading the label; CSV: a column)."""

    selector: str
    by_label: bool = False
    transforms: tuple[Transform, ...] = ()

    def __str__(self) -> str:
        return f"label={self.selector}" if self.by_label else self.selector


@dataclass(frozen=True, slots=True)
class EwsCounter:
    name: str
    value: EwsValue
    unit: str = "impressions"


@dataclass(frozen=True, slots=True)
class EwsSupplies:
    """Cartridges listed on a page, one item each (`each`), matched to the snapshot's
    supplies by colour (and type, when `type` is given): exactly one must fit."""

    each: str
    color: EwsValue
    colors: Mapping[str, str] = field(default_factory=dict)
    """The page's colour text (case ignored) -> the snapshot's colour name."""
    type: EwsValue | None = None
    types: Mapping[str, str] = field(default_factory=dict)
    """The page's type text (case ignored) -> a supply type; unlisted types are skipped."""
    part_number: EwsValue | None = None
    serial: EwsValue | None = None


@dataclass(frozen=True, slots=True)
class EwsPage:
    path: str
    """The page's path and query on the device (`/DevMgmt/ProductUsageDyn.xml`)."""
    format: EwsFormat
    counters: tuple[EwsCounter, ...] = ()
    identity: Mapping[str, EwsValue] = field(default_factory=dict)
    supplies: tuple[EwsSupplies, ...] = ()


@dataclass(frozen=True, slots=True)
class EwsSpec:
    """Where a maker's embedded web server shows what SNMP does not (opt-in per target)."""

    pages: tuple[EwsPage, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    vendor: str
    file: str
    description: str = ""
    vendors: tuple[str, ...] = ()
    priority: int = 0
    match: tuple[MatchRule, ...] = ()
    marking: Literal["toner", "ink"] = "toner"
    identity: Mapping[str, IdentitySpec] = field(default_factory=dict)
    counters: tuple[ScalarCounter, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    packed: tuple[PackedSpec, ...] = ()
    derived: tuple[DerivedCounter, ...] = ()
    supplies: SupplyQuirks = field(default_factory=SupplyQuirks)
    sources: tuple[str, ...] = ()
    extends: str | None = None
    ews: EwsSpec | None = None
    """Pages of the embedded web server read where SNMP left gaps (exporter/ews/)."""


@dataclass(frozen=True, slots=True)
class Database:
    version: str
    schema: int
    profiles: tuple[Profile, ...]
    directories: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """What the loader decided on the way (an override ignored as older, and so on)."""

    def get(self, name: str) -> Profile | None:
        for profile in self.profiles:
            if profile.name == name:
                return profile
        return None


K = TypeVar("K")
V = TypeVar("V")


def frozen_map(items: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(items))
