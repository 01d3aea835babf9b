"""Value transforms a profile can name: pure functions from a raw SNMP value to text or a number.

A profile lists transforms by name (`strip_header`, `regex:...`); they run in
order, each on the previous result, and any step that finds nothing returns
None, which ends the chain. Text is decoded the defensive way the readers use
(`decode_text`), so a profile never sees control characters.

- `strip_header[:n]`: drops n (default 2) leading bytes when they are not
  printable (HP's PCL symbol-set prefix 0x01 0x15).
- `first_line`: keeps the text before the first line break.
- `hex_ascii`: text of hex digit pairs ('4A5831') becomes the ASCII it spells ('JX1').
- `device_id:KEY`: the value of KEY in an IEEE 1284 device ID ('MDL', 'SN', 'MODEL').
- `regex:PATTERN`: group 1 (or the whole match) of PATTERN searched in the text;
  None without a match.
- `strip_maker`: removes a leading maker or brand name ('KONICA MINOLTA bizhub' -> 'bizhub').
- `oid_ascii`: an OID ending in 'length, characters' (Epson's sysObjectID) -> the characters.
- `leading_int`: the first integer in the text ('1920 INCHES, 4876 CM' -> 1920).
- `int`: the whole text as an integer ('  23817 ' -> 23817), else None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final

from exporter.profiles.model import Transform
from exporter.readers.decode import decode_text, parse_device_id
from exporter.readers.manufacturer import strip_manufacturer_prefix
from exporter.snmp.types import SnmpValue, format_oid

Value = str | int | bytes | None

_HEX_PAIRS: Final = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
_INT: Final = re.compile(r"[-+]?\d+")
_MAX_INT_DIGITS: Final = 20


def _text(value: Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return decode_text(value)
    return str(value)


def _strip_header(value: Value, arg: str | None) -> Value:
    count = int(arg) if arg else 2
    if isinstance(value, bytes) and len(value) > count:
        head = value[:count]
        if all(b < 0x20 or b >= 0x7F for b in head):
            return value[count:]
    return value


def _first_line(value: Value, arg: str | None) -> Value:
    if isinstance(value, bytes):
        return re.split(rb"[\r\n]", value, maxsplit=1)[0]
    text = _text(value)
    return None if text is None else re.split(r"[\r\n]", text, maxsplit=1)[0]


def _hex_ascii(value: Value, arg: str | None) -> Value:
    text = _text(value)
    if text is None:
        return None
    compact = text.replace(" ", "")
    if not _HEX_PAIRS.match(compact):
        return text
    raw = bytes.fromhex(compact).rstrip(b"\x00")
    if not raw or not all(0x20 <= b < 0x7F for b in raw):
        return text  # not hex-encoded ASCII after all ("C224" is a model, not 0xC2 0x24)
    return raw.decode("ascii")


def _device_id(value: Value, arg: str | None) -> Value:
    raw = value if isinstance(value, bytes) else (_text(value) or "").encode()
    fields = parse_device_id(raw)
    key = (arg or "MDL").upper()
    return fields.get(key) or None


def _regex(value: Value, arg: str | None) -> Value:
    text = _text(value)
    if text is None or not arg:
        return None
    found = re.search(arg, text)
    if found is None:
        return None
    result = found.group(1) if found.groups() else found.group(0)
    return result.strip() or None


def _strip_maker(value: Value, arg: str | None) -> Value:
    return strip_manufacturer_prefix(_text(value), arg)


def _oid_ascii(value: Value, arg: str | None) -> Value:
    text = _text(value)
    if text is None:
        return None
    arcs = [int(a) for a in text.strip(".").split(".") if a.isdigit()]
    for start in range(len(arcs) - 1):
        length = arcs[start]
        tail = arcs[start + 1 :]
        if length >= 2 and len(tail) == length and all(32 <= a < 127 for a in tail):
            return "".join(chr(a) for a in tail)
    return None


def _leading_int(value: Value, arg: str | None) -> Value:
    if isinstance(value, int):
        return value
    text = _text(value)
    if text is None:
        return None
    found = _INT.search(text)
    if found is None or len(found.group()) > _MAX_INT_DIGITS:
        return None
    return int(found.group())


def _int(value: Value, arg: str | None) -> Value:
    if isinstance(value, int):
        return value
    text = (_text(value) or "").strip()
    if _INT.fullmatch(text) and len(text) <= _MAX_INT_DIGITS:
        return int(text)
    return None


TRANSFORMS: Final[dict[str, Callable[[Value, str | None], Value]]] = {
    "strip_header": _strip_header,
    "first_line": _first_line,
    "hex_ascii": _hex_ascii,
    "device_id": _device_id,
    "regex": _regex,
    "strip_maker": _strip_maker,
    "oid_ascii": _oid_ascii,
    "leading_int": _leading_int,
    "int": _int,
}
NEEDS_ARG: Final = frozenset({"device_id", "regex"})


def check_transform(name: str, arg: str | None) -> str | None:
    """Why a transform spec is invalid, or None when it is fine."""
    if name not in TRANSFORMS:
        return f"unknown transform {name!r} (known: {', '.join(sorted(TRANSFORMS))})"
    if name in NEEDS_ARG and not arg:
        return f"transform {name!r} needs an argument ('{name}:...')"
    if name == "regex" and arg:
        try:
            re.compile(arg)
        except re.error as exc:
            return f"bad regex in transform: {exc}"
    if name == "strip_header" and arg is not None and not (arg.isdigit() and 0 < int(arg) < 9):
        return "strip_header takes a byte count from 1 to 8"
    return None


def normalize(raw: SnmpValue | None) -> Value:
    """A raw SNMP value in the shapes transforms accept (OIDs become dotted text)."""
    if raw is None or isinstance(raw, int | bytes):
        return raw
    if isinstance(raw, tuple):
        return format_oid(raw)
    return str(raw)


def apply(raw: SnmpValue | None, transforms: Sequence[Transform]) -> Value:
    """Run the chain; None as soon as a step finds nothing."""
    value = normalize(raw)
    for step in transforms:
        if value is None:
            return None
        value = TRANSFORMS[step.name](value, step.arg)
    return value


def as_text(raw: SnmpValue | None, transforms: Sequence[Transform]) -> str | None:
    value = apply(raw, transforms)
    if value is None:
        return None
    text = _text(value)
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def as_int(raw: SnmpValue | None, transforms: Sequence[Transform]) -> int | None:
    """A number, or None; text counts only when it is all digits (after the transforms)."""
    value = apply(raw, transforms)
    if isinstance(value, int):
        return value
    return _int(value, None) if value is not None else None  # type: ignore[return-value]
