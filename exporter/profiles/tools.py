"""Pure helpers behind `printer-exporter profiles check DIR` and `profiles explain TARGET`.

`check_database(directory)` returns every problem found in a database
directory (an empty list means it is valid): the loader's schema errors, then
consistency checks the schema alone cannot make, such as a formula naming a
counter the profile never reads, or two profiles with identical match rules.

`explain(match, vendor, applied)` renders, for one device, which profile
matched and why, what else could have matched, and where every counter,
identity value and supply level came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from exporter.profiles.apply import Applied
from exporter.profiles.engine import VendorRead
from exporter.profiles.loader import ProfileError, load_directory
from exporter.profiles.match import Match, describe_score
from exporter.profiles.model import Database, MatchRule, Profile
from exporter.snmp.types import format_oid

_STANDARD: frozenset[str] = frozenset({"total", "power_on"})


def check_database(directory: Path) -> list[str]:
    """Every problem in the database at `directory`; [] when it is valid."""
    if not directory.is_dir():
        return [f"{directory}: not a directory"]
    try:
        database = load_directory(directory)
    except ProfileError as exc:
        return list(exc.problems)
    return [*_profile_problems(database), *_ambiguities(database)]


def _produced(profile: Profile) -> set[str]:
    names = {c.name for c in profile.counters} | set(_STANDARD)
    for table in profile.tables:
        names.update(r.name for r in table.rows)
    for packed in profile.packed:
        names.update(c.name for c in packed.counters.values())
    return names


def _profile_problems(database: Database) -> Iterable[str]:
    for profile in database.profiles:
        where = f"{profile.file}: profile {profile.name}"
        names = _produced(profile)
        for derived in profile.derived:
            for term in derived.terms:
                if term.name not in names and not term.name.startswith("vendor_"):
                    yield f"{where}: derived {derived.name}: {term.name} is never read"
            names.add(derived.name)
        seen: dict[tuple[int, ...], str] = {}
        for counter in profile.counters:
            for source in counter.sources:
                other = seen.setdefault(source.oid, counter.name)
                if other != counter.name:
                    yield (
                        f"{where}: {format_oid(source.oid)} feeds both {other} and {counter.name}"
                    )
        if not (profile.counters or profile.tables or profile.packed or profile.identity):
            yield f"{where}: reads nothing (no identity, counters, tables or packed strings)"


def _rule_key(rule: MatchRule) -> tuple[object, ...]:
    return (
        tuple(sorted(rule.manufacturers)),
        tuple(sorted(rule.enterprises)),
        tuple(sorted(rule.sys_object_ids)),
        rule.sys_descr.pattern if rule.sys_descr else None,
        rule.model.pattern if rule.model else None,
    )


def _ambiguities(database: Database) -> Iterable[str]:
    owners: dict[tuple[object, ...], str] = {}
    for profile in database.profiles:
        for i, rule in enumerate(profile.match):
            key = (*_rule_key(rule), profile.priority)
            other = owners.setdefault(key, f"{profile.name} rule {i + 1}")
            if not other.startswith(f"{profile.name} "):
                yield (
                    f"{profile.file}: profile {profile.name} rule {i + 1} is identical to "
                    f"{other}: which one matches would depend on names only"
                )


def _table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    if not rows:
        return [f"{indent}(none)"]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def explain(match: Match | None, vendor: VendorRead | None, applied: Applied | None = None) -> str:
    """The text of `profiles explain`: the match, its reasons, and every value's source."""
    if match is None:
        return (
            "profile: none\n"
            "No vendor profile matches this device: only the standard Printer-MIB meters "
            "(prtMarkerLifeCount) are read.\n"
        )
    lines = [
        f"profile: {match.profile.name} ({match.profile.vendor}, {match.profile.file})",
        f"why:     {match.reason}",
    ]
    others = [
        c for c in match.candidates if (c.profile, c.rule) != (match.profile.name, match.rule)
    ]
    if others:
        lines.append("also matched (less specific):")
        lines.extend(
            f"  - {c.profile} rule {c.rule + 1}: {c.why} [{describe_score(c.score)}]"
            for c in others
        )
    if match.vetoed:
        lines.append("vetoed:")
        lines.extend(f"  - {text}" for text in match.vetoed)
    if vendor is not None:
        lines.append("identity from the profile:")
        lines.extend(
            _table([(i.field, repr(i.value), i.source, i.override) for i in vendor.identity])
        )
    counters = applied.counters if applied is not None else (vendor.counters if vendor else ())
    lines.append("counters:")
    lines.extend(_table([(c.name, str(c.value), c.unit, c.source) for c in counters]))
    missing = sorted(set(profile_counter_names(match.profile)) - {c.name for c in counters})
    if missing:
        lines.append(
            f"defined by the profile but not read from this device: {', '.join(missing)}"
            " (the device did not answer those OIDs, or answered with no usable value)"
        )
    if vendor is not None and vendor.supplies:
        lines.append("supply levels from the profile:")
        lines.extend(
            _table(
                [(s.key, f"{s.level} %", s.type, s.color or "-", s.source) for s in vendor.supplies]
            )
        )
    if vendor is not None and vendor.values:
        lines.append("other decoded values:")
        lines.extend(_table([(name, str(value), source) for name, value, source in vendor.values]))
    notes = [*(vendor.notes if vendor else ()), *(applied.notes if applied else ())]
    if notes:
        lines.append("notes:")
        lines.extend(f"  - {text}" for text in notes)
    return "\n".join(lines) + "\n"


def profile_counter_names(profile: Profile) -> list[str]:
    """Every counter a profile can produce: its scalars, table rows, packed and derived ones."""
    names = [c.name for c in profile.counters]
    names += [row.name for table in profile.tables for row in table.rows]
    names += [c.name for packed in profile.packed for c in packed.counters.values()]
    names += [c.name for c in profile.derived]
    return list(dict.fromkeys(names))
