"""Merge a `VendorRead` into the snapshot's identity, counters and supplies. Pure.

The standard readers run first; this is the one place where a vendor profile
changes what they found, and it does so conservatively:

- **identity**: `profile` is set. A vendor value fills a field the standard
  readers left empty; it replaces a standard value only when the profile says
  `override: always`, or `replace_if` matches the standard value (Konica
  Minolta's "Generic 28C-1" driver-family name).
- **counters**: the standard counters stay as they are; vendor counters are
  added after them (the engine already renamed a vendor `total`).
- **supplies**, in two steps:
  1. quirks on the standard rows: a raw level the profile lists under
     `level_states` becomes that state (Ricoh's -100 is "near end", `low`);
     `staged_levels` turn levels into states, but only when every toner/ink
     row of the device reports one of the staged values (Canon models that
     report only 100 and 0, or 100/10/1): a device that sends real
     percentages keeps them. A state never gets a made-up level or ratio.
  2. vendor levels (Brother's packed maintenance string) fill a standard row
     of the same kind and colour that has no measured level (a sentinel such
     as -3); a row that has a measured level keeps it. A vendor level with no
     standard row becomes a row of its own, indexed 1000 + the record code,
     so it keeps its index from poll to poll. When two standard rows could be
     meant, nothing is guessed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from exporter.model import Counter, Identity, Supply, SupplyState
from exporter.profiles.engine import SupplyIds, VendorRead, VendorSupply, supply_id_text
from exporter.profiles.model import SupplyQuirks
from exporter.readers.decode import decode_level

VENDOR_SUPPLY_INDEX_BASE: Final = 1000
_MARKING: Final = frozenset({"toner", "toner_cartridge", "ink", "ink_cartridge"})
_KINDS: Final[dict[str, frozenset[str]]] = {
    "toner": frozenset({"toner", "toner_cartridge"}),
    "ink": frozenset({"ink", "ink_cartridge"}),
    "opc": frozenset({"opc"}),
    "developer": frozenset({"developer"}),
    "fuser": frozenset({"fuser"}),
    "transfer_unit": frozenset({"transfer_unit"}),
    "waste_toner": frozenset({"waste_toner"}),
    "waste_ink": frozenset({"waste_ink"}),
    "cleaner_unit": frozenset({"cleaner_unit"}),
}
_FILLED: Final = frozenset({"waste_toner", "waste_ink"})


@dataclass(frozen=True, slots=True)
class Applied:
    identity: Identity
    counters: tuple[Counter, ...]
    supplies: tuple[Supply, ...]
    notes: tuple[str, ...]
    """One line per change to what the standard readers found (for warnings and explain)."""
    supply_keys: tuple[tuple[int, str, str], ...] = ()
    """(supply index, vendor key, source) for each supply row a vendor level filled or added."""


def apply_identity(identity: Identity, vendor: VendorRead) -> tuple[Identity, list[str]]:
    changes: dict[str, Any] = {}
    notes: list[str] = []
    for item in vendor.identity:
        current = getattr(identity, item.field)
        replace = (
            item.override == "always"
            or not current
            or (item.replace_if is not None and item.replace_if.search(current) is not None)
        )
        if replace and item.value != current:
            changes[item.field] = item.value
            was = f" (was {current!r})" if current else ""
            notes.append(f"{item.field} {item.value!r} from {item.source}{was}")
    return dataclasses.replace(identity, profile=vendor.profile, **changes), notes


def merge_counters(standard: Sequence[Counter], vendor: Sequence[Counter]) -> tuple[Counter, ...]:
    names = {c.name for c in standard}
    return (*standard, *(c for c in vendor if c.name not in names))


def _as_state(supply: Supply, state: SupplyState) -> Supply:
    return dataclasses.replace(supply, level=None, remaining_ratio=None, state=state)


def apply_supply_quirks(
    supplies: Sequence[Supply], quirks: SupplyQuirks
) -> tuple[tuple[Supply, ...], list[str]]:
    notes: list[str] = []
    out = list(supplies)
    if quirks.level_states:
        for i, supply in enumerate(out):
            state = (
                quirks.level_states.get(supply.raw_level) if supply.raw_level is not None else None
            )
            if state is not None:
                out[i] = _as_state(supply, state)
                notes.append(f"supply {supply.index}: level {supply.raw_level} means {state}")
    if quirks.staged_levels:
        staged = [
            i
            for i, s in enumerate(out)
            if s.type in _MARKING
            and s.raw_max_capacity == 100
            and s.raw_level is not None
            and s.raw_level >= 0
        ]
        if staged and all(out[i].raw_level in quirks.staged_levels for i in staged):
            for i in staged:
                supply = out[i]
                state = quirks.staged_levels[supply.raw_level]  # type: ignore[index]
                out[i] = _as_state(supply, state)
                notes.append(f"supply {supply.index}: staged level {supply.raw_level} is {state}")
    return tuple(out), notes


def _described(supply: Supply, pattern: re.Pattern[str] | None) -> str | None:
    if pattern is None or not supply.description:
        return None
    found = pattern.search(supply.description)
    if found is None:
        return None
    return supply_id_text(found.group(1) if pattern.groups else found.group(0))


def _joins(supplies: Sequence[Supply], ids: SupplyIds) -> Supply | None:
    """The one supply a vendor row is about, or None when none or several could be."""
    if ids.match in ("index", "reference"):
        fits = [s for s in supplies if s.index == ids.key[0]]
    elif ids.match == "description":
        fits = [s for s in supplies if s.description == ids.key[0]]
    else:
        kind, color = ids.key
        kinds = _KINDS.get(str(kind), frozenset({str(kind)}))
        fits = [s for s in supplies if s.type in kinds and s.color == color]
    return fits[0] if len(fits) == 1 else None


def apply_supply_ids(
    supplies: Sequence[Supply], quirks: SupplyQuirks, ids: Sequence[SupplyIds]
) -> tuple[tuple[Supply, ...], list[str]]:
    """Part numbers and cartridge serials onto the rows they belong to.

    A vendor table's value wins over one found in the description (the table is the
    maker's own statement; the description is text for people). A row joins a supply
    only when exactly one supply fits it: two black toners, or two rows with one
    wording, name neither.
    """
    found: dict[int, list[SupplyIds]] = {}
    for item in ids:
        target = _joins(supplies, item)
        if target is not None:
            found.setdefault(target.index, []).append(item)
    out: list[Supply] = []
    notes: list[str] = []
    for supply in supplies:
        part, serial = supply.part_number, supply.serial
        for item in found.get(supply.index, ()):
            part, serial = part or item.part_number, serial or item.serial
            said = ", ".join(
                f"{name} {value!r}"
                for name, value in (("part number", item.part_number), ("serial", item.serial))
                if value
            )
            notes.append(f"supply {supply.index}: {said} from {item.source}")
        if part is None and (part := _described(supply, quirks.part_number)):
            notes.append(f"supply {supply.index}: part number {part!r} from its description")
        if serial is None and (serial := _described(supply, quirks.serial)):
            notes.append(f"supply {supply.index}: serial {serial!r} from its description")
        if (part, serial) != (supply.part_number, supply.serial):
            supply = dataclasses.replace(supply, part_number=part, serial=serial)
        out.append(supply)
    return tuple(out), notes


def _candidates(supplies: Sequence[Supply], vendor: VendorSupply) -> list[int]:
    kinds = _KINDS.get(vendor.type, frozenset({vendor.type}))
    same_kind = [i for i, s in enumerate(supplies) if s.type in kinds]
    if vendor.color is None:
        return same_kind
    return [i for i in same_kind if supplies[i].color == vendor.color]


def apply_vendor_supplies(
    supplies: Sequence[Supply], vendor: Sequence[VendorSupply]
) -> tuple[tuple[Supply, ...], list[str], list[tuple[int, str, str]]]:
    out = list(supplies)
    notes: list[str] = []
    keys: list[tuple[int, str, str]] = []
    for item in vendor:
        reading = decode_level(item.level, 100)
        found = _candidates(out, item)
        if len(found) > 1:
            notes.append(
                f"{item.key} from {item.source}: {len(found)} supply rows fit; none chosen"
            )
            continue
        if found:
            supply = out[found[0]]
            if supply.remaining_ratio is not None:
                continue  # the standard table measured it: the standard answer stays
            out[found[0]] = dataclasses.replace(
                supply,
                level=reading.level,
                max_capacity=100,
                remaining_ratio=reading.remaining_ratio,
                state=reading.state,
                unit="percent",
            )
            keys.append((supply.index, item.key, item.source))
            notes.append(f"supply {supply.index}: level {item.level} % from {item.source}")
            continue
        index = VENDOR_SUPPLY_INDEX_BASE + item.code
        out.append(
            Supply(
                index=index,
                description=item.description,
                type=item.type,
                color=item.color,
                supply_class="filled" if item.type in _FILLED else "consumed",
                unit="percent",
                level=reading.level,
                max_capacity=100,
                remaining_ratio=reading.remaining_ratio,
                state=reading.state,
            )
        )
        keys.append((index, item.key, item.source))
    return tuple(out), notes, keys


def apply_vendor_read(
    identity: Identity,
    counters: Sequence[Counter],
    supplies: Sequence[Supply],
    vendor: VendorRead,
) -> Applied:
    """The snapshot parts with the profile's findings merged in (see the module docstring)."""
    new_identity, notes = apply_identity(identity, vendor)
    quirked, quirk_notes = apply_supply_quirks(supplies, vendor.quirks)
    merged, supply_notes, keys = apply_vendor_supplies(quirked, vendor.supplies)
    named, id_notes = apply_supply_ids(merged, vendor.quirks, vendor.supply_ids)
    return Applied(
        identity=new_identity,
        counters=merge_counters(counters, vendor.counters),
        supplies=named,
        notes=(*notes, *quirk_notes, *supply_notes, *id_notes),
        supply_keys=tuple(keys),
    )
