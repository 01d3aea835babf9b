"""The `ews:` section of a profile: the embedded web server's pages and what to pick from
each, checked into frozen `EwsSpec` objects (SCHEMA.md, "`ews`")."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Final, cast

from exporter.profiles import checks as check
from exporter.profiles.checks import Ctx
from exporter.profiles.model import (
    EwsCounter,
    EwsFormat,
    EwsPage,
    EwsSpec,
    EwsSupplies,
    EwsValue,
    frozen_map,
)

_EWS_FORMATS: Final = ("xml", "html", "json", "csv")
_EWS_PAGE_KEYS: Final = frozenset({"path", "format", "counters", "identity", "supplies"})
_EWS_VALUE_KEYS: Final = frozenset({"select", "label", "transforms"})
_EWS_SUPPLY_KEYS: Final = frozenset(
    {"each", "color", "colors", "type", "types", "part_number", "serial"}
)


_MAX_EWS_PAGES: Final = 8
"""Pages one profile may read per poll: each one is a request to a small embedded server."""


def ews_spec(ctx: Ctx, path: str, raw: Any) -> EwsSpec | None:
    raw = check.mapping(ctx, path, raw)
    check.unknown_keys(ctx, path, raw, {"pages"})
    pages = check.each(ctx, f"{path}.pages", raw.get("pages", []), _ews_page)
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
        ctx.fail(path, "must be a path on the device such as '/DevMgmt/ProductUsageDyn.xml'", raw)
        return None
    return raw


def _ews_page(ctx: Ctx, path: str, raw: Any) -> EwsPage | None:
    raw = check.mapping(ctx, path, raw)
    check.unknown_keys(ctx, path, raw, _EWS_PAGE_KEYS)
    page_path = _ews_path(ctx, f"{path}.path", raw.get("path"))
    fmt = raw.get("format")
    if fmt not in _EWS_FORMATS:
        ctx.fail(f"{path}.format", f"must be one of {', '.join(_EWS_FORMATS)}", fmt)
        return None
    form = cast(EwsFormat, fmt)
    counters = []
    for i, item in enumerate(check.listed(ctx, f"{path}.counters", raw.get("counters", []))):
        counter = _ews_counter(ctx, f"{path}.counters[{i}]", item, form)
        if counter is not None:
            counters.append(counter)
    identity: dict[str, EwsValue] = {}
    for key, item in check.mapping(ctx, f"{path}.identity", raw.get("identity", {})).items():
        if key not in check.IDENTITY_FIELDS:
            allowed = "allowed: model, serial, firmware"
            ctx.fail(f"{path}.identity", f"unknown identity field {key!r} ({allowed})")
            continue
        value = _ews_value(ctx, f"{path}.identity.{key}", item, form)
        if value is not None:
            identity[key] = value
    supplies = [
        spec
        for i, item in enumerate(check.listed(ctx, f"{path}.supplies", raw.get("supplies", [])))
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
    raw = check.mapping(ctx, path, raw)
    check.unknown_keys(ctx, path, raw, _EWS_VALUE_KEYS)
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
    transforms = check.transforms(ctx, f"{path}.transforms", raw.get("transforms"))
    return EwsValue(cast(str, selector), by_label, transforms)


def _ews_selector_problem(fmt: EwsFormat, selector: Any, by_label: bool) -> str | None:
    if not isinstance(selector, str) or not selector.strip() or not selector.isprintable():
        return "must be a non-empty, printable selector"
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
    raw = check.mapping(ctx, path, raw)
    check.unknown_keys(ctx, path, raw, {"name", "unit", *_EWS_VALUE_KEYS})
    name = check.counter_name(ctx, f"{path}.name", raw.get("name"))
    value = _ews_value(ctx, path, {k: v for k, v in raw.items() if k in _EWS_VALUE_KEYS}, fmt)
    unit = check.unit(ctx, f"{path}.unit", raw.get("unit"))
    return EwsCounter(name, value, unit) if name and value else None


def _ews_supplies(ctx: Ctx, path: str, raw: Any, fmt: EwsFormat) -> EwsSupplies | None:
    raw = check.mapping(ctx, path, raw)
    check.unknown_keys(ctx, path, raw, _EWS_SUPPLY_KEYS)
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
    for key, allowed in (("colors", None), ("types", check.SUPPLY_TYPE_NAMES)):
        maps[key] = {}
        for text, name in check.mapping(ctx, f"{path}.{key}", raw.get(key, {})).items():
            if not isinstance(name, str) or (allowed is not None and name not in allowed):
                ctx.fail(f"{path}.{key}.{text}", "must be a name", name)
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
