"""Validate one profile's YAML mapping into a frozen `Profile` (used by `loader`).

Every check records a problem that names the file, the path inside it and the
bad value, and validation goes on, so one run reports every mistake. Unknown
keys are errors: a typo must not silently disable a counter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar, cast

from exporter.model import SUPPLY_STATES
from exporter.profiles import checks as check
from exporter.profiles.checks import NAME, Ctx
from exporter.profiles.model import (
    SUPPLY_TYPES,
    DerivedCounter,
    DeviceIdSpec,
    IdentitySource,
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
    ValueSpec,
    frozen_map,
)
from exporter.profiles.validate_ews import ews_spec
from exporter.readers.vendors import MAKER_NAMES
from exporter.snmp.types import parse_oid

_TERM: Final = re.compile(r"\s*([+-])?\s*([a-z][a-z0-9_]*)(\?)?\s*")
_DEVICE_ID_KEY: Final = re.compile(r"^[A-Z][A-Z0-9]*(?: [A-Z0-9]+)*$")
"""A field name as `parse_device_id` leaves it: upper case, single spaces ('COMMAND SET')."""
T = TypeVar("T")
_PROFILE_KEYS: Final = frozenset(
    {
        "name", "vendor", "description", "extends", "priority", "vendors", "sources", "marking",
        "match", "identity", "counters", "tables", "packed", "derived", "supplies", "ews",
    }
)  # fmt: skip


def validate_profile(ctx: Ctx, path: str, filename: str, raw: dict[str, Any]) -> Profile | None:
    before = len(ctx.problems)
    check.unknown_keys(ctx, path, raw, _PROFILE_KEYS)
    name = cast(str, raw["name"])
    vendor = raw.get("vendor")
    if not isinstance(vendor, str) or not vendor:
        ctx.fail(f"{path}.vendor", "must be the maker's canonical name", vendor)
        vendor = ""
    marking = raw.get("marking", "toner")
    if marking not in ("toner", "ink"):
        ctx.fail(f"{path}.marking", "must be 'toner' or 'ink'", marking)
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        ctx.fail(f"{path}.priority", "must be an integer", priority)
        priority = 0
    vendors = check.strings(ctx, f"{path}.vendors", raw.get("vendors", [vendor]))
    for maker in vendors:
        _check_maker(ctx, f"{path}.vendors", maker)
    rules = check.each(ctx, f"{path}.match", raw.get("match", []), _rule)
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
        counters=check.each(ctx, f"{path}.counters", raw.get("counters", []), _scalar),
        tables=check.each(ctx, f"{path}.tables", raw.get("tables", []), _table),
        packed=check.each(ctx, f"{path}.packed", raw.get("packed", []), _packed),
        derived=check.each(ctx, f"{path}.derived", raw.get("derived", []), _derived),
        supplies=_supplies(ctx, f"{path}.supplies", raw.get("supplies", {})),
        sources=check.strings(ctx, f"{path}.sources", raw.get("sources", [])),
        extends=raw.get("extends"),
        ews=ews_spec(ctx, f"{path}.ews", raw["ews"]) if raw.get("ews") is not None else None,
    )
    return profile if len(ctx.problems) == before else None


# --- parts ------------------------------------------------------------------------------


def _check_maker(ctx: Ctx, path: str, maker: str) -> None:
    if maker not in MAKER_NAMES:
        ctx.fail(path, "not a canonical maker or brand name (see readers/vendors.py)", maker)


def _rule(ctx: Ctx, path: str, raw: Any) -> MatchRule | None:
    if not isinstance(raw, dict) or not raw:
        ctx.fail(path, "must be a mapping of conditions", raw)
        return None
    check.unknown_keys(
        ctx, path, raw, {"manufacturer", "enterprise", "sys_object_id", "sys_descr", "model"}
    )
    makers = check.strings(ctx, f"{path}.manufacturer", raw.get("manufacturer", []))
    for maker in makers:
        _check_maker(ctx, f"{path}.manufacturer", maker)
    oids = []
    for i, text in enumerate(
        check.strings(ctx, f"{path}.sys_object_id", raw.get("sys_object_id", []))
    ):
        oid = check.oid(ctx, f"{path}.sys_object_id[{i}]", text)
        if oid is not None:
            oids.append(oid)
    return MatchRule(
        manufacturers=makers,
        enterprises=check.int_list(ctx, f"{path}.enterprise", raw.get("enterprise", [])),
        sys_object_ids=tuple(oids),
        sys_descr=check.regex(ctx, f"{path}.sys_descr", raw["sys_descr"])
        if "sys_descr" in raw
        else None,
        model=check.regex(ctx, f"{path}.model", raw["model"]) if "model" in raw else None,
    )


def _sources(
    ctx: Ctx, path: str, raw: dict[str, Any], source: Callable[[Ctx, str, dict[str, Any]], T | None]
) -> tuple[T | ValueSpec, ...]:
    """`oid:` or `oids:` with shared `transforms:`, or a `sources:` list whose items
    `source` reads ({oid, transforms}; identity fields also take {device_id, transforms})."""
    if "sources" in raw:
        out: list[T | ValueSpec] = []
        for i, item in enumerate(check.listed(ctx, f"{path}.sources", raw["sources"])):
            if not isinstance(item, dict):
                ctx.fail(f"{path}.sources[{i}]", "must be a mapping with 'oid'", item)
                continue
            spec = source(ctx, f"{path}.sources[{i}]", item)
            if spec is not None:
                out.append(spec)
        return tuple(out)
    transforms = check.transforms(ctx, f"{path}.transforms", raw.get("transforms"))
    oids = raw.get("oids", [raw.get("oid")] if "oid" in raw else None)
    if oids is None:
        ctx.fail(path, "needs 'oid', 'oids' or 'sources'")
        return ()
    return tuple(
        ValueSpec(o, transforms)
        for i, x in enumerate(check.listed(ctx, f"{path}.oids", oids))
        if (o := check.oid(ctx, f"{path}.oids[{i}]", x)) is not None
    )


def _value_source(ctx: Ctx, path: str, raw: dict[str, Any]) -> ValueSpec | None:
    check.unknown_keys(ctx, path, raw, {"oid", "transforms"})
    oid = check.oid(ctx, f"{path}.oid", raw.get("oid"))
    if oid is None:
        return None
    return ValueSpec(oid, check.transforms(ctx, f"{path}.transforms", raw.get("transforms")))


def _identity_source(ctx: Ctx, path: str, raw: dict[str, Any]) -> IdentitySource | None:
    """{oid, transforms}, or {device_id: FIELD, transforms}: a field of the device ID the
    identity reader found, so that no profile names one of the OIDs it may live under."""
    if "device_id" not in raw:
        return _value_source(ctx, path, raw)
    if "oid" in raw:
        ctx.fail(path, "must give 'oid' or 'device_id', not both")
        return None
    check.unknown_keys(ctx, path, raw, {"device_id", "transforms"})
    key = raw["device_id"]
    if not isinstance(key, str) or not _DEVICE_ID_KEY.match(key):
        ctx.fail(
            f"{path}.device_id",
            "must be the name of an IEEE 1284 device ID field, in upper case (MDL, DES, MODEL)",
            key,
        )
        return None
    return DeviceIdSpec(key, check.transforms(ctx, f"{path}.transforms", raw.get("transforms")))


def _identity(ctx: Ctx, path: str, raw: Any) -> Mapping[str, IdentitySpec]:
    if not isinstance(raw, dict):
        ctx.fail(path, "must be a mapping of model/serial/firmware", raw)
        return frozen_map({})
    out: dict[str, IdentitySpec] = {}
    for key, item in raw.items():
        sub = f"{path}.{key}"
        if key not in check.IDENTITY_FIELDS:
            ctx.fail(path, f"unknown identity field {key!r} (allowed: model, serial, firmware)")
            continue
        if not isinstance(item, dict):
            ctx.fail(sub, "must be a mapping", item)
            continue
        check.unknown_keys(
            ctx,
            sub,
            item,
            {"oid", "oids", "sources", "device_id", "transforms", "override", "replace_if"},
        )
        override = item.get("override", "fill")
        if override not in ("fill", "always"):
            ctx.fail(f"{sub}.override", "must be 'fill' or 'always'", override)
            override = "fill"
        replace_if = (
            check.regex(ctx, f"{sub}.replace_if", item["replace_if"])
            if "replace_if" in item
            else None
        )
        out[key] = IdentitySpec(_identity_sources(ctx, sub, item), override, replace_if)
    return frozen_map(out)


def _identity_sources(ctx: Ctx, path: str, raw: dict[str, Any]) -> tuple[IdentitySource, ...]:
    """An identity field's sources: as a counter's, or `device_id:` with `transforms:`."""
    if "device_id" not in raw:
        return _sources(ctx, path, raw, _identity_source)
    given = [key for key in ("oid", "oids", "sources") if key in raw]
    if given:
        ctx.fail(path, f"must give 'device_id' or {given[0]!r}, not both")
        return ()
    source = _identity_source(
        ctx, path, {key: raw[key] for key in ("device_id", "transforms") if key in raw}
    )
    return (source,) if source is not None else ()


def _scalar(ctx: Ctx, path: str, raw: Any) -> ScalarCounter | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "must be a mapping", raw)
        return None
    check.unknown_keys(
        ctx, path, raw, {"name", "oid", "oids", "sources", "transforms", "unit", "scale"}
    )
    name = check.counter_name(ctx, f"{path}.name", raw.get("name"))
    sources = _sources(ctx, path, raw, _value_source)
    unit = check.unit(ctx, f"{path}.unit", raw.get("unit"))
    scale = check.scale(ctx, f"{path}.scale", raw.get("scale"))
    return ScalarCounter(name, sources, unit, scale) if name and sources else None


def _table(ctx: Ctx, path: str, raw: Any) -> TableSpec | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "must be a mapping", raw)
        return None
    check.unknown_keys(
        ctx,
        path,
        raw,
        {"id", "walk", "value", "key", "label", "rows", "unmatched", "unit", "scale"},
    )
    ident = raw.get("id")
    if not isinstance(ident, str) or not NAME.match(ident):
        ctx.fail(f"{path}.id", "must be a lower_snake_case id", ident)
        return None
    walk = check.oid(ctx, f"{path}.walk", raw.get("walk"))
    value = check.column(ctx, f"{path}.value", raw.get("value"), required=True)
    key = check.column(ctx, f"{path}.key", raw.get("key"))
    label = check.column(ctx, f"{path}.label", raw.get("label"))
    unmatched = raw.get("unmatched", "ignore")
    if unmatched not in ("vendor", "ignore"):
        ctx.fail(f"{path}.unmatched", "must be 'vendor' or 'ignore'", unmatched)
    elif unmatched == "vendor" and label is None:
        ctx.fail(f"{path}.unmatched", "'vendor' names rows after their label: set 'label'")
    rows = []
    for i, item in enumerate(check.listed(ctx, f"{path}.rows", raw.get("rows", []))):
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
        unit=check.unit(ctx, f"{path}.unit", raw.get("unit")),
        scale=check.scale(ctx, f"{path}.scale", raw.get("scale")),
    )


def _row(ctx: Ctx, path: str, raw: Any, key: int | None, label: int | None) -> RowRule | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "must be a mapping", raw)
        return None
    check.unknown_keys(ctx, path, raw, {"name", "keys", "label", "index", "unit", "combine"})
    name = check.counter_name(ctx, f"{path}.name", raw.get("name"))
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
            ctx.fail(f"{path}.index", "must be a row index such as '1.3'", raw["index"])
    combine = raw.get("combine", "first")
    if combine not in ("first", "sum"):
        ctx.fail(f"{path}.combine", "must be 'first' or 'sum'", combine)
    if name is None:
        return None
    return RowRule(
        name=name,
        keys=check.int_list(ctx, f"{path}.keys", raw["keys"]) if "keys" in raw else (),
        label=check.regex(ctx, f"{path}.label", raw["label"]) if "label" in raw else None,
        index=index,
        unit=check.unit(ctx, f"{path}.unit", raw["unit"]) if "unit" in raw else None,
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
        ctx.fail(path, "must be a mapping", raw)
        return None
    check.unknown_keys(ctx, path, raw, {"name", "formula", "unit", "when"})
    name = check.counter_name(ctx, f"{path}.name", raw.get("name"))
    formula = raw.get("formula")
    terms = parse_formula(formula) if isinstance(formula, str) else None
    if terms is None:
        ctx.fail(
            f"{path}.formula",
            "must be names joined by + and - (a trailing ? marks an optional term; "
            "at least one term must be required)",
            formula,
        )
    when = raw.get("when", "always")
    if when not in ("always", "mono_device", "color_device"):
        ctx.fail(f"{path}.when", "must be 'always', 'mono_device' or 'color_device'", when)
    unit = check.unit(ctx, f"{path}.unit", raw.get("unit"))
    if name is None or terms is None:
        return None
    return DerivedCounter(name, terms, unit, when)


def _packed(ctx: Ctx, path: str, raw: Any) -> PackedSpec | None:
    if not isinstance(raw, dict):
        ctx.fail(path, "must be a mapping", raw)
        return None
    check.unknown_keys(ctx, path, raw, {"oid", "format", "counters", "supplies", "values"})
    oid = check.oid(ctx, f"{path}.oid", raw.get("oid"))
    fmt = raw.get("format", "brother")
    if fmt not in ("brother", "brother_short"):
        ctx.fail(f"{path}.format", "must be 'brother' or 'brother_short'", fmt)
    counters: dict[int, PackedCounter] = {}
    for key, item in check.mapping(ctx, f"{path}.counters", raw.get("counters", {})).items():
        code = check.code(ctx, f"{path}.counters.{key}", key)
        spec = {"name": item} if isinstance(item, str) else item
        if code is None or not isinstance(spec, dict):
            continue
        name = check.counter_name(ctx, f"{path}.counters.{key}.name", spec.get("name"))
        if name:
            counters[code] = PackedCounter(
                name, check.unit(ctx, f"{path}.counters.{key}.unit", spec.get("unit"))
            )
    supplies: dict[int, PackedSupply] = {}
    for key, item in check.mapping(ctx, f"{path}.supplies", raw.get("supplies", {})).items():
        code = check.code(ctx, f"{path}.supplies.{key}", key)
        sub = f"{path}.supplies.{key}"
        if code is None or not isinstance(item, dict):
            ctx.fail(sub, "must be a mapping with key, description, type, color", item)
            continue
        check.unknown_keys(ctx, sub, item, {"key", "description", "type", "color", "percent"})
        if item.get("type") not in SUPPLY_TYPES:
            ctx.fail(
                f"{sub}.type",
                f"must be one of {', '.join(sorted(SUPPLY_TYPES))}",
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
        for key, item in check.mapping(ctx, f"{path}.values", raw.get("values", {})).items()
        if (code := check.code(ctx, f"{path}.values.{key}", key)) is not None
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


def _supply_table(ctx: Ctx, path: str, raw: Any) -> SupplyTable | None:
    raw = check.mapping(ctx, path, raw)
    check.unknown_keys(ctx, path, raw, set(_SUPPLY_TABLE_KEYS))
    walk = check.oid(ctx, f"{path}.walk", raw.get("walk"))
    match = raw.get("match", "index")
    if match not in ("index", "reference", "description", "kind"):
        ctx.fail(f"{path}.match", "must be 'index', 'reference', 'description' or 'kind'", match)
        return None
    columns = {
        key: check.column(ctx, f"{path}.{key}", raw.get(key))
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
    for code, name in check.mapping(ctx, f"{path}.types", raw.get("types", {})).items():
        if not isinstance(code, int) or name not in check.SUPPLY_TYPE_NAMES:
            ctx.fail(f"{path}.types.{code}", "must be a supply type (toner, opc, ...)", name)
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
        transforms=check.transforms(ctx, f"{path}.transforms", raw.get("transforms", [])),
    )


def _supplies(ctx: Ctx, path: str, raw: Any) -> SupplyQuirks:
    raw = check.mapping(ctx, path, raw)
    check.unknown_keys(
        ctx, path, raw, {"level_states", "staged_levels", "part_number", "serial", "tables"}
    )
    maps: dict[str, dict[int, Any]] = {}
    for key in ("level_states", "staged_levels"):
        maps[key] = {}
        for level, state in check.mapping(ctx, f"{path}.{key}", raw.get(key, {})).items():
            if not isinstance(level, int) or state not in SUPPLY_STATES:
                ctx.fail(
                    f"{path}.{key}.{level}", "must be a supply state (ok, low, empty, ...)", state
                )
                continue
            maps[key][level] = state
    patterns = {
        key: check.regex(ctx, f"{path}.{key}", raw[key]) if raw.get(key) is not None else None
        for key in ("part_number", "serial")
    }
    tables = [
        table
        for i, item in enumerate(check.listed(ctx, f"{path}.tables", raw.get("tables", [])))
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
