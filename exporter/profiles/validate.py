"""Validate one profile's YAML mapping into a frozen `Profile` (used by `loader`).

Every check records a problem that names the file, the path inside it and the
bad value, and validation goes on, so one run reports every mistake. Unknown
keys are errors: a typo must not silently disable a counter.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, cast

from exporter.model import SUPPLY_STATES
from exporter.profiles.model import (
    SUPPLY_TYPES,
    UNITS,
    DerivedCounter,
    EwsCounter,
    EwsFormat,
    EwsPage,
    EwsSpec,
    EwsSupplies,
    EwsValue,
    IdentitySpec,
    MatchRule,
    PackedCounter,
    PackedSpec,
    PackedSupply,
    Profile,
    RowRule,
    ScalarCounter,
    SupplyQuirks,
    SupplyTable,
    TableSpec,
    Term,
    Transform,
    ValueSpec,
    frozen_map,
    is_counter_name,
)
from exporter.profiles.transforms import check_transform
from exporter.readers.enums import MARKER_SUPPLIES_TYPE
from exporter.readers.vendors import MAKER_NAMES
from exporter.snmp.types import Oid, parse_oid

T = TypeVar("T")

NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_TERM: Final = re.compile(r"\s*([+-])?\s*([a-z][a-z0-9_]*)(\?)?\s*")
_IDENTITY_FIELDS: Final = ("model", "serial", "firmware")
_PROFILE_KEYS: Final = frozenset(
    {
        "name", "vendor", "description", "extends", "priority", "vendors", "sources", "marking",
        "match", "identity", "counters", "tables", "packed", "derived", "supplies", "ews",
    }
)  # fmt: skip


class ProfileError(Exception):
    """The database is invalid; `problems` lists every reason, each naming file and path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class Ctx:
    """Collects problems while validating one file."""

    file: str
    problems: list[str] = field(default_factory=list)

    def fail(self, path: str, message: str, value: Any = ...) -> None:
        got = "" if value is ... else f". Got: {value!r:.80}"
        self.problems.append(f"{self.file}: {path}: {message}{got}")


def validate_profile(ctx: Ctx, path: str, filename: str, raw: dict[str, Any]) -> Profile | None:
    before = len(ctx.problems)
    unknown_keys(ctx, path, raw, _PROFILE_KEYS)
    name = cast(str, raw["name"])
    vendor = raw.get("vendor")
    if not isinstance(vendor, str) or not vendor:
        ctx.fail(f"{path}.vendor", "expected the maker's canonical name", vendor)
        vendor = ""
    marking = raw.get("marking", "toner")
    if marking not in ("toner", "ink"):
        ctx.fail(f"{path}.marking", "expected 'toner' or 'ink'", marking)
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        ctx.fail(f"{path}.priority", "expected an integer", priority)
        priority = 0
    vendors = _strings(ctx, f"{path}.vendors", raw.get("vendors", [vendor]))
    for maker in vendors:
        _check_maker(ctx, f"{path}.vendors", maker)
    rules = _each(ctx, f"{path}.match", raw.get("match", []), _rule)
    if not rules:
        ctx.fail(f"{path}.match", "a profile needs at least one match rule")
    profile = Profile(
        name=name,
        vendor=vendor,
        file=filename,
        description=str(raw.get("description", "")),
        vendors=vendors,
        priority=priority,
        match=rules,
        marking="ink" if marking == "ink" else "toner",
        identity=_identity(ctx, f"{path}.identity", raw.get("identity", {})),
        counters=_each(ctx, f"{path}.counters", raw.get("counters", []), _scalar),
        tables=_each(ctx, f"{path}.tables", raw.get("tables", []), _table),
        packed=_each(ctx, f"{path}.packed", raw.get("packed", []), _packed),
        derived=_each(ctx, f"{path}.derived", raw.get("derived", []), _derived),
        supplies=_supplies(ctx, f"{path}.supplies", raw.get("supplies", {})),
        sources=_strings(ctx, f"{path}.sources", raw.get("sources", [])),
        extends=raw.get("extends"),
        ews=_ews(ctx, f"{path}.ews", raw["ews"]) if raw.get("ews") is not None else None,
    )
    return profile if len(ctx.problems) == before else None


# --- parts ------------------------------------------------------------------------------


def unknown_keys(
    ctx: Ctx, path: str, raw: Mapping[str, Any], allowed: frozenset[str] | set[str]
) -> None:
    for key in raw:
        if key not in allowed:
            ctx.fail(path, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _each(
    ctx: Ctx, path: str, raw: Any, parse: Callable[[Ctx, str, Any], T | None]
) -> tuple[T, ...]:
    """Parse every item of a list, keeping the valid ones (problems are recorded)."""
    out = []
    for i, item in enumerate(_list(ctx, path, raw)):
        parsed = parse(ctx, f"{path}[{i}]", item)
        if parsed is not None:
            out.append(parsed)
    return tuple(out)


def _list(ctx: Ctx, path: str, raw: Any) -> list[Any]:
    if isinstance(raw, list):
        return raw
    ctx.fail(path, "expected a list", raw)
    return []


def _strings(ctx: Ctx, path: str, raw: Any) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(x, str) and x for x in items):
        ctx.fail(path, "expected a string or a list of strings", raw)
        return ()
    return tuple(items)


def _check_maker(ctx: Ctx, path: str, maker: str) -> None:
    if maker not in MAKER_NAMES:
        ctx.fail(path, "not a canonical maker or brand name (see readers/vendors.py)", maker)


def _oid(ctx: Ctx, path: str, raw: Any) -> Oid | None:
    try:
        if isinstance(raw, str):
            oid = parse_oid(raw)
            if len(oid) >= 2:
                return oid
    except ValueError:
        pass
    ctx.fail(path, "expected a numeric OID such as '1.3.6.1.4.1.367.3.2.1.1.1.1.0'", raw)
    return None


def _regex(ctx: Ctx, path: str, raw: Any) -> re.Pattern[str] | None:
    if not isinstance(raw, str) or not raw:
        ctx.fail(path, "expected a regular expression", raw)
        return None
    try:
        return re.compile(raw)
    except re.error as exc:
        ctx.fail(path, f"bad regular expression: {exc}", raw)
        return None


def _int_list(ctx: Ctx, path: str, raw: Any) -> tuple[int, ...]:
    items = [raw] if isinstance(raw, int) else raw
    if not isinstance(items, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in items
    ):
        ctx.fail(path, "expected an integer or a list of integers", raw)
        return ()
    return tuple(items)


def _unit(ctx: Ctx, path: str, raw: Any, default: str = "impressions") -> str:
    unit = default if raw is None else raw
    if unit not in UNITS:
        ctx.fail(path, f"expected one of {', '.join(sorted(UNITS))}", raw)
        return default
    return cast(str, unit)


def _scale(ctx: Ctx, path: str, raw: Any) -> float:
    if raw is None:
        return 1.0
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
        return float(raw)
    ctx.fail(path, "expected a positive number", raw)
    return 1.0


def _counter_name(ctx: Ctx, path: str, raw: Any) -> str | None:
    if isinstance(raw, str) and is_counter_name(raw):
        return raw
    ctx.fail(path, "expected a vocabulary counter name (docs/snapshot.md) or vendor_*", raw)
    return None


def _rule(ctx: Ctx, path: str, raw: Any) -> MatchRule | None:
    if not isinstance(raw, dict) or not raw:
        ctx.fail(path, "expected a mapping of conditions", raw)
        return None
    unknown_keys(
        ctx, path, raw, {"manufacturer", "enterprise", "sys_object_id", "sys_descr", "model"}
    )
    makers = _strings(ctx, f"{path}.manufacturer", raw.get("manufacturer", []))
    for maker in makers:
        _check_maker(ctx, f"{path}.manufacturer", maker)
    oids = []
    for i, text in enumerate(_strings(ctx, f"{path}.sys_object_id", raw.get("sys_object_id", []))):
        oid = _oid(ctx, f"{path}.sys_object_id[{i}]", text)
        if oid is not None:
            oids.append(oid)
    return MatchRule(
        manufacturers=makers,
        enterprises=_int_list(ctx, f"{path}.enterprise", raw.get("enterprise", [])),
        sys_object_ids=tuple(oids),
        sys_descr=_regex(ctx, f"{path}.sys_descr", raw["sys_descr"])
        if "sys_descr" in raw
        else None,
        model=_regex(ctx, f"{path}.model", raw["model"]) if "model" in raw else None,
    )


def _transforms(ctx: Ctx, path: str, raw: Any) -> tuple[Transform, ...]:
    out = []
    for i, item in enumerate(_strings(ctx, path, raw) if raw else ()):
        name, sep, arg = item.partition(":")
        problem = check_transform(name, arg if sep else None)
        if problem:
            ctx.fail(f"{path}[{i}]", problem, item)
        else:
            out.append(Transform(name, arg if sep else None))
    return tuple(out)


def _sources(ctx: Ctx, path: str, raw: dict[str, Any]) -> tuple[ValueSpec, ...]:
    """`oid:` or `oids:` with shared `transforms:`, or a `sources:` list of {oid, transforms}."""
    if "sources" in raw:
        out = []
        for i, item in enumerate(_list(ctx, f"{path}.sources", raw["sources"])):
            if not isinstance(item, dict):
                ctx.fail(f"{path}.sources[{i}]", "expected a mapping with 'oid'", item)
                continue
            unknown_keys(ctx, f"{path}.sources[{i}]", item, {"oid", "transforms"})
            oid = _oid(ctx, f"{path}.sources[{i}].oid", item.get("oid"))
            if oid is not None:
                tf = _transforms(ctx, f"{path}.sources[{i}].transforms", item.get("transforms"))
                out.append(ValueSpec(oid, tf))
        return tuple(out)
    transforms = _transforms(ctx, f"{path}.transforms", raw.get("transforms"))
    oids = raw.get("oids", [raw.get("oid")] if "oid" in raw else None)
    if oids is None:
        ctx.fail(path, "needs 'oid', 'oids' or 'sources'")
        return ()
    return tuple(
        ValueSpec(o, transforms)
        for i, x in enumerate(_list(ctx, f"{path}.oids", oids))
        if (o := _oid(ctx, f"{path}.oids[{i}]", x)) is not None
    )


def _identity(ctx: Ctx, path: str, raw: Any) -> Mapping[str, IdentitySpec]:
    if not isinstance(raw, dict):
        ctx.fail(path, "expected a mapping of model/serial/firmware", raw)
        return frozen_map({})
    out: dict[str, IdentitySpec] = {}
    for key, item in raw.items():
        sub = f"{path}.{key}"
        if key not in _IDENTITY_FIELDS:
            ctx.fail(path, f"unknown identity field {key!r} (allowed: model, serial, firmware)")
            continue
        if not isinstance(item, dict):
            ctx.fail(sub, "expected a mapping", item)
            continue
        unknown_keys(
            ctx, sub, item, {"oid", "oids", "sources", "transforms", "override", "replace_if"}
        )
        override = item.get("override", "fill")
        if override not in ("fill", "always"):
            ctx.fail(f"{sub}.override", "expected 'fill' or 'always'", override)
            override = "fill"
        replace_if = (
            _regex(ctx, f"{sub}.replace_if", item["replace_if"]) if "replace_if" in item else None
        )
        out[key] = IdentitySpec(_sources(ctx, sub, item), override, replace_if)
    return frozen_map(out)


def _scalar(ctx: Ctx, path: str, raw: Any) -> ScalarCounter | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "expected a mapping", raw)
        return None
    unknown_keys(ctx, path, raw, {"name", "oid", "oids", "sources", "transforms", "unit", "scale"})
    name = _counter_name(ctx, f"{path}.name", raw.get("name"))
    sources = _sources(ctx, path, raw)
    unit = _unit(ctx, f"{path}.unit", raw.get("unit"))
    scale = _scale(ctx, f"{path}.scale", raw.get("scale"))
    return ScalarCounter(name, sources, unit, scale) if name and sources else None


def _column(ctx: Ctx, path: str, raw: Any, required: bool = False) -> int | None:
    if raw is None and not required:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    ctx.fail(path, "expected a column number (the arc after the table entry OID)", raw)
    return None


def _table(ctx: Ctx, path: str, raw: Any) -> TableSpec | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "expected a mapping", raw)
        return None
    unknown_keys(
        ctx,
        path,
        raw,
        {"id", "walk", "value", "key", "label", "rows", "unmatched", "unit", "scale"},
    )
    ident = raw.get("id")
    if not isinstance(ident, str) or not NAME.match(ident):
        ctx.fail(f"{path}.id", "expected a lower_snake_case id", ident)
        return None
    walk = _oid(ctx, f"{path}.walk", raw.get("walk"))
    value = _column(ctx, f"{path}.value", raw.get("value"), required=True)
    key = _column(ctx, f"{path}.key", raw.get("key"))
    label = _column(ctx, f"{path}.label", raw.get("label"))
    unmatched = raw.get("unmatched", "ignore")
    if unmatched not in ("vendor", "ignore"):
        ctx.fail(f"{path}.unmatched", "expected 'vendor' or 'ignore'", unmatched)
    elif unmatched == "vendor" and label is None:
        ctx.fail(f"{path}.unmatched", "'vendor' names rows after their label: set 'label'")
    rows = []
    for i, item in enumerate(_list(ctx, f"{path}.rows", raw.get("rows", []))):
        row = _row(ctx, f"{path}.rows[{i}]", item, key, label)
        if row is not None:
            rows.append(row)
    if walk is None or value is None:
        return None
    return TableSpec(
        id=ident,
        walk=walk,
        value_column=value,
        key_column=key,
        label_column=label,
        rows=tuple(rows),
        unmatched="vendor" if unmatched == "vendor" else "ignore",
        unit=_unit(ctx, f"{path}.unit", raw.get("unit")),
        scale=_scale(ctx, f"{path}.scale", raw.get("scale")),
    )


def _row(ctx: Ctx, path: str, raw: Any, key: int | None, label: int | None) -> RowRule | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "expected a mapping", raw)
        return None
    unknown_keys(ctx, path, raw, {"name", "keys", "label", "index", "unit", "combine"})
    name = _counter_name(ctx, f"{path}.name", raw.get("name"))
    chosen = [k for k in ("keys", "label", "index") if k in raw]
    if len(chosen) != 1:
        ctx.fail(path, "give exactly one of 'keys', 'label', 'index'", raw)
        return None
    if "keys" in raw and key is None:
        ctx.fail(path, "'keys' needs the table's 'key' column")
    if "label" in raw and label is None:
        ctx.fail(path, "'label' needs the table's 'label' column")
    index = None
    if "index" in raw:
        try:
            index = parse_oid(str(raw["index"]))
        except ValueError:
            ctx.fail(f"{path}.index", "expected a row index such as '1.3'", raw["index"])
    combine = raw.get("combine", "first")
    if combine not in ("first", "sum"):
        ctx.fail(f"{path}.combine", "expected 'first' or 'sum'", combine)
    if name is None:
        return None
    return RowRule(
        name=name,
        keys=_int_list(ctx, f"{path}.keys", raw["keys"]) if "keys" in raw else (),
        label=_regex(ctx, f"{path}.label", raw["label"]) if "label" in raw else None,
        index=index,
        unit=_unit(ctx, f"{path}.unit", raw["unit"]) if "unit" in raw else None,
        combine="sum" if combine == "sum" else "first",
    )


def parse_formula(text: str) -> tuple[Term, ...] | None:
    """'print_mono + print_color', 'total - mono', 'a + b? + c?' -> terms; None if malformed."""
    pos = 0
    terms: list[Term] = []
    while pos < len(text):
        found = _TERM.match(text, pos)
        if found is None or found.end() == pos:
            return None
        sign_text, name, optional = found.groups()
        if terms and sign_text is None:
            return None
        terms.append(Term(name, -1 if sign_text == "-" else 1, optional == "?"))
        pos = found.end()
    if not terms or all(t.optional for t in terms):
        return None
    return tuple(terms)


def _derived(ctx: Ctx, path: str, raw: Any) -> DerivedCounter | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "expected a mapping", raw)
        return None
    unknown_keys(ctx, path, raw, {"name", "formula", "unit", "when"})
    name = _counter_name(ctx, f"{path}.name", raw.get("name"))
    formula = raw.get("formula")
    terms = parse_formula(formula) if isinstance(formula, str) else None
    if terms is None:
        ctx.fail(
            f"{path}.formula",
            "expected names joined by + and - (a trailing ? marks an optional term; "
            "at least one term must be required)",
            formula,
        )
    when = raw.get("when", "always")
    if when not in ("always", "mono_device", "color_device"):
        ctx.fail(f"{path}.when", "expected 'always', 'mono_device' or 'color_device'", when)
    unit = _unit(ctx, f"{path}.unit", raw.get("unit"))
    if name is None or terms is None:
        return None
    return DerivedCounter(name, terms, unit, when)


def _code(ctx: Ctx, path: str, raw: Any) -> int | None:
    try:
        code = raw if isinstance(raw, int) else int(str(raw), 0)
    except ValueError:
        code = -1
    if not 0 <= code <= 0xFE:
        ctx.fail(path, "expected a record code from 0x00 to 0xFE", raw)
        return None
    return code


def _packed(ctx: Ctx, path: str, raw: Any) -> PackedSpec | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "expected a mapping", raw)
        return None
    unknown_keys(ctx, path, raw, {"oid", "format", "counters", "supplies", "values"})
    oid = _oid(ctx, f"{path}.oid", raw.get("oid"))
    fmt = raw.get("format", "brother")
    if fmt not in ("brother", "brother_short"):
        ctx.fail(f"{path}.format", "expected 'brother' or 'brother_short'", fmt)
    counters: dict[int, PackedCounter] = {}
    for key, item in _mapping(ctx, f"{path}.counters", raw.get("counters", {})).items():
        code = _code(ctx, f"{path}.counters.{key}", key)
        spec = {"name": item} if isinstance(item, str) else item
        if code is None or not isinstance(spec, dict):
            continue
        name = _counter_name(ctx, f"{path}.counters.{key}.name", spec.get("name"))
        if name:
            counters[code] = PackedCounter(
                name, _unit(ctx, f"{path}.counters.{key}.unit", spec.get("unit"))
            )
    supplies: dict[int, PackedSupply] = {}
    for key, item in _mapping(ctx, f"{path}.supplies", raw.get("supplies", {})).items():
        code = _code(ctx, f"{path}.supplies.{key}", key)
        sub = f"{path}.supplies.{key}"
        if code is None or not isinstance(item, dict):
            ctx.fail(sub, "expected a mapping with key, description, type, color", item)
            continue
        unknown_keys(ctx, sub, item, {"key", "description", "type", "color", "percent"})
        if item.get("type") not in SUPPLY_TYPES:
            ctx.fail(
                f"{sub}.type",
                f"expected one of {', '.join(sorted(SUPPLY_TYPES))}",
                item.get("type"),
            )
            continue
        supplies[code] = PackedSupply(
            key=str(item.get("key") or f"code_{code:02x}"),
            description=str(item.get("description") or item.get("key") or ""),
            type=cast(str, item["type"]),
            color=item.get("color"),
            percent=bool(item.get("percent", True)),
        )
    values = {
        code: str(item)
        for key, item in _mapping(ctx, f"{path}.values", raw.get("values", {})).items()
        if (code := _code(ctx, f"{path}.values.{key}", key)) is not None
    }
    if oid is None:
        return None
    return PackedSpec(
        oid=oid,
        format="brother_short" if fmt == "brother_short" else "brother",
        counters=frozen_map(counters),
        supplies=frozen_map(supplies),
        values=frozen_map(values),
    )


def _mapping(ctx: Ctx, path: str, raw: Any) -> dict[Any, Any]:
    if isinstance(raw, dict):
        return raw
    ctx.fail(path, "expected a mapping", raw)
    return {}


_SUPPLY_TABLE_KEYS: Final = frozenset(
    (
        "walk",
        "match",
        "reference",
        "description",
        "type",
        "types",
        "color",
        "part_number",
        "serial",
        "transforms",
    )
)
_SUPPLY_TYPE_NAMES: Final = frozenset(MARKER_SUPPLIES_TYPE.values())


def _supply_table(ctx: Ctx, path: str, raw: Any) -> SupplyTable | None:
    raw = _mapping(ctx, path, raw)
    unknown_keys(ctx, path, raw, set(_SUPPLY_TABLE_KEYS))
    walk = _oid(ctx, f"{path}.walk", raw.get("walk"))
    match = raw.get("match", "index")
    if match not in ("index", "reference", "description", "kind"):
        ctx.fail(f"{path}.match", "expected 'index', 'reference', 'description' or 'kind'", match)
        return None
    columns = {
        key: _column(ctx, f"{path}.{key}", raw.get(key))
        for key in ("reference", "description", "type", "color", "part_number", "serial")
    }
    needs = {
        "reference": ("reference",),
        "description": ("description",),
        "kind": ("type", "types", "color"),
    }
    for key in needs.get(match, ()):
        if raw.get(key) is None:
            ctx.fail(f"{path}.{key}", f"'match: {match}' needs '{key}'")
    if columns["part_number"] is None and columns["serial"] is None:
        ctx.fail(path, "give a 'part_number' or a 'serial' column, or both", raw)
    types: dict[int, str] = {}
    for code, name in _mapping(ctx, f"{path}.types", raw.get("types", {})).items():
        if not isinstance(code, int) or name not in _SUPPLY_TYPE_NAMES:
            ctx.fail(f"{path}.types.{code}", "expected code: supply type (toner, opc, ...)", name)
            continue
        types[code] = name
    if walk is None:
        return None
    return SupplyTable(
        walk=walk,
        match=match,
        reference_column=columns["reference"],
        description_column=columns["description"],
        type_column=columns["type"],
        types=frozen_map(types),
        color_column=columns["color"],
        part_number_column=columns["part_number"],
        serial_column=columns["serial"],
        transforms=_transforms(ctx, f"{path}.transforms", raw.get("transforms", [])),
    )


def _supplies(ctx: Ctx, path: str, raw: Any) -> SupplyQuirks:
    raw = _mapping(ctx, path, raw)
    unknown_keys(
        ctx, path, raw, {"level_states", "staged_levels", "part_number", "serial", "tables"}
    )
    maps: dict[str, dict[int, Any]] = {}
    for key in ("level_states", "staged_levels"):
        maps[key] = {}
        for level, state in _mapping(ctx, f"{path}.{key}", raw.get(key, {})).items():
            if not isinstance(level, int) or state not in SUPPLY_STATES:
                ctx.fail(
                    f"{path}.{key}.{level}", "expected level: state (ok, low, empty, ...)", state
                )
                continue
            maps[key][level] = state
    patterns = {
        key: _regex(ctx, f"{path}.{key}", raw[key]) if raw.get(key) is not None else None
        for key in ("part_number", "serial")
    }
    tables = [
        table
        for i, item in enumerate(_list(ctx, f"{path}.tables", raw.get("tables", [])))
        if (table := _supply_table(ctx, f"{path}.tables[{i}]", item)) is not None
    ]
    return SupplyQuirks(
        frozen_map(maps["level_states"]),
        frozen_map(maps["staged_levels"]),
        part_number=patterns["part_number"],
        serial=patterns["serial"],
        tables=tuple(tables),
    )


# --- ews: pages of the embedded web server ------------------------------------------------

_EWS_FORMATS: Final = ("xml", "html", "json", "csv")
_EWS_PAGE_KEYS: Final = frozenset({"path", "format", "counters", "identity", "supplies"})
_EWS_VALUE_KEYS: Final = frozenset({"select", "label", "transforms"})
_EWS_SUPPLY_KEYS: Final = frozenset(
    {"each", "color", "colors", "type", "types", "part_number", "serial"}
)
_MAX_EWS_PAGES: Final = 8
"""Pages one profile may read per poll: each one is a request to a small embedded server."""


def _ews(ctx: Ctx, path: str, raw: Any) -> EwsSpec | None:
    raw = _mapping(ctx, path, raw)
    unknown_keys(ctx, path, raw, {"pages"})
    pages = _each(ctx, f"{path}.pages", raw.get("pages", []), _ews_page)
    if not pages:
        ctx.fail(f"{path}.pages", "an ews section needs at least one page")
        return None
    if len(pages) > _MAX_EWS_PAGES:
        ctx.fail(f"{path}.pages", f"at most {_MAX_EWS_PAGES} pages", len(pages))
    seen = [page.path for page in pages]
    for duplicate in sorted({p for p in seen if seen.count(p) > 1}):
        ctx.fail(f"{path}.pages", "a page is listed twice; merge its entries", duplicate)
    return EwsSpec(pages)


def _ews_path(ctx: Ctx, path: str, raw: Any) -> str | None:
    """A path on the device, never a URL: the scheme, host and port come from the config."""
    if (
        not isinstance(raw, str)
        or not raw.startswith("/")
        or raw.startswith("//")
        or "#" in raw
        or not raw.isprintable()
        or any(c.isspace() for c in raw)
        or len(raw) > 256
    ):
        ctx.fail(path, "expected a path on the device such as '/DevMgmt/ProductUsageDyn.xml'", raw)
        return None
    return raw


def _ews_page(ctx: Ctx, path: str, raw: Any) -> EwsPage | None:
    raw = _mapping(ctx, path, raw)
    unknown_keys(ctx, path, raw, _EWS_PAGE_KEYS)
    page_path = _ews_path(ctx, f"{path}.path", raw.get("path"))
    fmt = raw.get("format")
    if fmt not in _EWS_FORMATS:
        ctx.fail(f"{path}.format", f"expected one of {', '.join(_EWS_FORMATS)}", fmt)
        return None
    form = cast(EwsFormat, fmt)
    counters = []
    for i, item in enumerate(_list(ctx, f"{path}.counters", raw.get("counters", []))):
        counter = _ews_counter(ctx, f"{path}.counters[{i}]", item, form)
        if counter is not None:
            counters.append(counter)
    identity: dict[str, EwsValue] = {}
    for key, item in _mapping(ctx, f"{path}.identity", raw.get("identity", {})).items():
        if key not in _IDENTITY_FIELDS:
            allowed = "allowed: model, serial, firmware"
            ctx.fail(f"{path}.identity", f"unknown identity field {key!r} ({allowed})")
            continue
        value = _ews_value(ctx, f"{path}.identity.{key}", item, form)
        if value is not None:
            identity[key] = value
    supplies = [
        spec
        for i, item in enumerate(_list(ctx, f"{path}.supplies", raw.get("supplies", [])))
        if (spec := _ews_supplies(ctx, f"{path}.supplies[{i}]", item, form)) is not None
    ]
    if not (counters or identity or supplies):
        ctx.fail(path, "a page must give counters, identity or supplies")
    if page_path is None:
        return None
    return EwsPage(page_path, form, tuple(counters), frozen_map(identity), tuple(supplies))


def _ews_value(ctx: Ctx, path: str, raw: Any, fmt: EwsFormat) -> EwsValue | None:
    """`"Some/Path"` or `{select: ..., transforms: [...]}` or `{label: ...}`."""
    if isinstance(raw, str):
        raw = {"select": raw}
    raw = _mapping(ctx, path, raw)
    unknown_keys(ctx, path, raw, _EWS_VALUE_KEYS)
    chosen = [key for key in ("select", "label") if key in raw]
    if len(chosen) != 1:
        ctx.fail(path, "give exactly one of 'select' and 'label'", raw)
        return None
    by_label = chosen[0] == "label"
    selector = raw[chosen[0]]
    if by_label and fmt not in ("html", "csv"):
        ctx.fail(f"{path}.label", "'label' is for html (the element after the label) and csv")
        return None
    problem = _ews_selector_problem(fmt, selector, by_label)
    if problem:
        ctx.fail(f"{path}.{chosen[0]}", problem, selector)
        return None
    transforms = _transforms(ctx, f"{path}.transforms", raw.get("transforms"))
    return EwsValue(cast(str, selector), by_label, transforms)


def _ews_selector_problem(fmt: EwsFormat, selector: Any, by_label: bool) -> str | None:
    if not isinstance(selector, str) or not selector.strip() or not selector.isprintable():
        return "expected a non-empty, printable selector"
    if by_label or fmt not in ("xml", "html"):
        return None
    if selector.startswith("/"):
        return "an element path is relative to the page's root element: no leading '/'"
    try:
        ET.Element("root").find(selector)
    except (SyntaxError, KeyError, TypeError) as exc:
        return f"not an ElementTree path ({exc or type(exc).__name__})"
    return None


def _ews_counter(ctx: Ctx, path: str, raw: Any, fmt: EwsFormat) -> EwsCounter | None:
    raw = _mapping(ctx, path, raw)
    unknown_keys(ctx, path, raw, {"name", "unit", *_EWS_VALUE_KEYS})
    name = _counter_name(ctx, f"{path}.name", raw.get("name"))
    value = _ews_value(ctx, path, {k: v for k, v in raw.items() if k in _EWS_VALUE_KEYS}, fmt)
    unit = _unit(ctx, f"{path}.unit", raw.get("unit"))
    return EwsCounter(name, value, unit) if name and value else None


def _ews_supplies(ctx: Ctx, path: str, raw: Any, fmt: EwsFormat) -> EwsSupplies | None:
    raw = _mapping(ctx, path, raw)
    unknown_keys(ctx, path, raw, _EWS_SUPPLY_KEYS)
    if fmt not in ("xml", "html", "json"):
        ctx.fail(path, "supplies are listed on xml, html or json pages", fmt)
        return None
    each = raw.get("each")
    problem = _ews_selector_problem(fmt, each, False)
    if problem:
        ctx.fail(f"{path}.each", problem, each)
    values = {
        key: _ews_value(ctx, f"{path}.{key}", raw[key], fmt) if key in raw else None
        for key in ("color", "type", "part_number", "serial")
    }
    if values["color"] is None:
        ctx.fail(f"{path}.color", "is required: supplies are matched by colour")
    if values["part_number"] is None and values["serial"] is None:
        ctx.fail(path, "give 'part_number' or 'serial', or both")
    maps: dict[str, dict[str, str]] = {}
    for key, allowed in (("colors", None), ("types", _SUPPLY_TYPE_NAMES)):
        maps[key] = {}
        for text, name in _mapping(ctx, f"{path}.{key}", raw.get(key, {})).items():
            if not isinstance(name, str) or (allowed is not None and name not in allowed):
                ctx.fail(f"{path}.{key}.{text}", "expected page text: a name", name)
                continue
            maps[key][str(text).casefold()] = name
    if "types" in raw and values["type"] is None:
        ctx.fail(f"{path}.types", "'types' needs 'type'")
    if problem or values["color"] is None:
        return None
    return EwsSupplies(
        each=cast(str, each),
        color=values["color"],
        colors=frozen_map(maps["colors"]),
        type=values["type"],
        types=frozen_map(maps["types"]),
        part_number=values["part_number"],
        serial=values["serial"],
    )
