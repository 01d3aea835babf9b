"""The small checks every section of a profile uses: one value of one kind at one path.

Each records a problem that names the file, the path inside it and the bad value
(`Ctx.fail`) and returns None or a neutral value, so one pass reports every problem
of a file. The sections (`validate.py`, `validate_ews.py`) are built from these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, cast

from exporter.profiles.model import UNITS, Transform, is_counter_name
from exporter.profiles.transforms import check_transform
from exporter.readers.enums import MARKER_SUPPLIES_TYPE
from exporter.snmp.types import Oid, parse_oid
from exporter.yamlcheck import MISSING, join, problem, unknown_key

T = TypeVar("T")
NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")


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

    def fail(self, path: str, message: str, value: Any = MISSING) -> None:
        self.problems.append(f"{self.file}: {problem(path, message, value)}")


def unknown_keys(
    ctx: Ctx, path: str, raw: Mapping[str, Any], allowed: frozenset[str] | set[str]
) -> None:
    for key in raw:
        if key not in allowed:
            ctx.fail(join(path, key), unknown_key(key, sorted(allowed)))


def each(
    ctx: Ctx, path: str, raw: Any, parse: Callable[[Ctx, str, Any], T | None]
) -> tuple[T, ...]:
    """Parse every item of a list, keeping the valid ones (problems are recorded)."""
    out = []
    for i, item in enumerate(listed(ctx, path, raw)):
        parsed = parse(ctx, f"{path}[{i}]", item)
        if parsed is not None:
            out.append(parsed)
    return tuple(out)


def listed(ctx: Ctx, path: str, raw: Any) -> list[Any]:
    if isinstance(raw, list):
        return raw
    ctx.fail(path, "must be a list", raw)
    return []


def strings(ctx: Ctx, path: str, raw: Any) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(x, str) and x for x in items):
        ctx.fail(path, "must be a string or a list of strings", raw)
        return ()
    return tuple(items)


def oid(ctx: Ctx, path: str, raw: Any) -> Oid | None:
    try:
        if isinstance(raw, str):
            oid = parse_oid(raw)
            if len(oid) >= 2:
                return oid
    except ValueError:
        pass
    ctx.fail(path, "must be a numeric OID such as '1.3.6.1.4.1.367.3.2.1.1.1.1.0'", raw)
    return None


def regex(ctx: Ctx, path: str, raw: Any) -> re.Pattern[str] | None:
    if not isinstance(raw, str) or not raw:
        ctx.fail(path, "must be a regular expression", raw)
        return None
    try:
        return re.compile(raw)
    except re.error as exc:
        ctx.fail(path, f"bad regular expression: {exc}", raw)
        return None


def int_list(ctx: Ctx, path: str, raw: Any) -> tuple[int, ...]:
    items = [raw] if isinstance(raw, int) else raw
    if not isinstance(items, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in items
    ):
        ctx.fail(path, "must be an integer or a list of integers", raw)
        return ()
    return tuple(items)


def unit(ctx: Ctx, path: str, raw: Any, default: str = "impressions") -> str:
    unit = default if raw is None else raw
    if unit not in UNITS:
        ctx.fail(path, f"must be one of {', '.join(sorted(UNITS))}", raw)
        return default
    return cast(str, unit)


def scale(ctx: Ctx, path: str, raw: Any) -> float:
    if raw is None:
        return 1.0
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
        return float(raw)
    ctx.fail(path, "must be a positive number", raw)
    return 1.0


def counter_name(ctx: Ctx, path: str, raw: Any) -> str | None:
    if isinstance(raw, str) and is_counter_name(raw):
        return raw
    ctx.fail(path, "must be a vocabulary counter name (docs/snapshot.md) or vendor_*", raw)
    return None


def transforms(ctx: Ctx, path: str, raw: Any) -> tuple[Transform, ...]:
    out = []
    for i, item in enumerate(strings(ctx, path, raw) if raw else ()):
        name, sep, arg = item.partition(":")
        problem = check_transform(name, arg if sep else None)
        if problem:
            ctx.fail(f"{path}[{i}]", problem, item)
        else:
            out.append(Transform(name, arg if sep else None))
    return tuple(out)


def column(ctx: Ctx, path: str, raw: Any, required: bool = False) -> int | None:
    if raw is None and not required:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    ctx.fail(path, "must be a column number (the arc after the table entry OID)", raw)
    return None


def code(ctx: Ctx, path: str, raw: Any) -> int | None:
    try:
        code = raw if isinstance(raw, int) else int(str(raw), 0)
    except ValueError:
        code = -1
    if not 0 <= code <= 0xFE:
        ctx.fail(path, "must be a record code from 0x00 to 0xFE", raw)
        return None
    return code


def mapping(ctx: Ctx, path: str, raw: Any) -> dict[Any, Any]:
    if isinstance(raw, dict):
        return raw
    ctx.fail(path, "must be a mapping", raw)
    return {}


IDENTITY_FIELDS: Final = ("model", "serial", "firmware")
SUPPLY_TYPE_NAMES: Final = frozenset(MARKER_SUPPLIES_TYPE.values())
