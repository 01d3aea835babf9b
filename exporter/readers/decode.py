"""Pure decoders for the values real printer agents send.

Readers call these with plain Python values (int, bytes, str, None), never
pysnmp objects, so that the odd shapes seen in the field can be tested one by
one. None of them raises for any input of its declared types: a broken agent
must cost one field, not the whole device. Where a value is odd they keep it
in a safe form (hex, a `note`) rather than drop it or make one up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from exporter.model import SupplyState
from exporter.readers.enums import int_text

__all__ = [
    "ERROR_CONDITIONS",
    "MAX_TEXT_CHARS",
    "SupplyReading",
    "color_from_description",
    "colorant_name",
    "decode_error_state",
    "decode_level",
    "decode_mac",
    "decode_text",
    "device_id_manufacturer",
    "device_id_model",
    "device_id_serial",
    "parse_device_id",
    "supply_color",
    "ticks_to_seconds",
]

# --- display strings --------------------------------------------------------

MAX_TEXT_CHARS: Final = 1024
"""Longest string a decoder returns: labels and JSON must stay small whatever an agent sends."""

_SCAN_LIMIT: Final = 65536  # no SNMP-over-UDP value is longer; bounds the work per value
_HEX_BYTES: Final = (MAX_TEXT_CHARS - 2) // 2
_UNPRINTABLE: Final = frozenset({"Cc", "Cf", "Cs"})  # controls, format chars, lone surrogates
_LINE_BREAKS: Final = re.compile(r"[\r\n]+")


def decode_text(raw: bytes | str | None) -> str | None:
    """A DisplayString as readable text, hex if it is really binary, None if empty.

    Agents pad with NULs, so text ends at the first NUL. A value that starts
    with a NUL and has data after it, or whose text is more than a quarter
    control characters, is binary (a MAC, a DateAndTime) and comes back as
    "0x..." of the whole value, so it is neither lost nor printed as garbage.
    Bytes are UTF-8 if valid, else cp1252 (what most Western agents mean),
    else latin-1, which decodes every byte.
    """
    if raw is None:
        return None
    if isinstance(raw, bytes) and raw[:2] in _UTF16_BOMS:
        raw = _utf16(raw[: _SCAN_LIMIT * 2])
    if isinstance(raw, str):
        raw = raw[:_SCAN_LIMIT]
        head, whole = raw.partition("\x00")[0], raw.encode("utf-8", "surrogatepass")
    else:
        raw = raw[:_SCAN_LIMIT].removeprefix(_UTF8_BOM)
        head, whole = _decode_bytes(raw.partition(b"\x00")[0]), raw
    if not head.strip():
        return _hex(whole) if whole.partition(b"\x00")[2].strip(b"\x00 \t\r\n") else None
    if _mostly_unprintable(head):
        return _hex(whole)
    return _scrub(head) or None


_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM: Final = b"\xef\xbb\xbf"


def _utf16(raw: bytes) -> str:
    """A string with a UTF-16 byte-order mark (some Samsung agents send their location
    so): read as UTF-16, or it shows as mojibake "ÿþ..." with a NUL after every letter."""
    body = raw[: len(raw) - len(raw) % 2]
    return body.decode("utf-16", errors="replace")


def _decode_bytes(raw: bytes) -> str:
    for codec in ("utf-8", "cp1252"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _is_unprintable(char: str) -> bool:
    return unicodedata.category(char) in _UNPRINTABLE


def _mostly_unprintable(text: str) -> bool:
    bad = sum(1 for char in text if char not in "\t\r\n" and _is_unprintable(char))
    return bad * 4 > len(text)


def _hex(raw: bytes) -> str:
    return "0x" + raw[:_HEX_BYTES].hex()


def _scrub(text: str) -> str:
    """Printable, single-line, bounded text; line breaks become a space so words stay apart."""
    text = _LINE_BREAKS.sub(" ", text)
    text = "".join(char for char in text if char == "\t" or not _is_unprintable(char))
    return text.strip()[:MAX_TEXT_CHARS].rstrip()


# --- MAC addresses ----------------------------------------------------------

_HEX_DIGITS: Final = frozenset("0123456789abcdef")
_NO_MAC: Final = frozenset({bytes(6), b"\xff" * 6})


def decode_mac(raw: bytes | str | None) -> str | None:
    """The address as aa:bb:cc:dd:ee:ff, or None when it cannot be a real interface address.

    Six octets are always taken as raw, even if they happen to be ASCII; other
    lengths are read as the text forms agents use ("00:11:..", "00-11-..",
    "001122334455", "0011.2233.4455"). A str of six characters below U+0100 is
    raw octets that someone decoded as latin-1. All-zero and broadcast
    addresses are placeholders, not identities, so they are None too.
    """
    if raw is None:
        return None
    if isinstance(raw, bytes):
        octets = raw if len(raw) == 6 else _mac_from_text(raw[:64].decode("latin-1"))
    else:
        octets = _mac_from_text(raw[:64])
        if octets is None and len(raw) == 6 and all(ord(char) < 256 for char in raw):
            octets = raw.encode("latin-1")
    if octets is None or octets in _NO_MAC:
        return None
    return ":".join(f"{octet:02x}" for octet in octets)


def _is_hex(text: str, min_len: int = 1, max_len: int = 64) -> bool:
    return min_len <= len(text) <= max_len and all(char in _HEX_DIGITS for char in text)


def _mac_from_text(text: str) -> bytes | None:
    text = text.strip(" \t\r\n\x00").lower().removeprefix("0x")
    for sep in ":- ":
        parts = text.split(sep)
        if len(parts) == 6 and all(_is_hex(part, 1, 2) for part in parts):
            return bytes(int(part, 16) for part in parts)
    parts = text.split(".")
    if len(parts) == 3 and all(_is_hex(part, 4, 4) for part in parts):
        return bytes.fromhex("".join(parts))
    if _is_hex(text, 12, 12):
        return bytes.fromhex(text)
    return None


# --- hrPrinterDetectedErrorState --------------------------------------------

ERROR_CONDITIONS: Final[tuple[str, ...]] = (
    "low_paper",
    "no_paper",
    "low_toner",
    "no_toner",
    "door_open",
    "jammed",
    "offline",
    "service_requested",
    "input_tray_missing",
    "output_tray_missing",
    "marker_supply_missing",
    "output_near_full",
    "output_full",
    "input_tray_empty",
    "overdue_prevent_maint",
    "bit_15",
)
"""The 16 conditions in bit order. RFC 2790 names bits 0-14 only and RFC 3805 adds
none, so bit 15 keeps a neutral name: metrics expose it so that a vendor using it
is seen rather than silently ignored."""

SEVERE_ERRORS: Final = frozenset(ERROR_CONDITIONS) - {
    "low_paper",
    "low_toner",
    "output_near_full",
    "input_tray_empty",
    "overdue_prevent_maint",
    "bit_15",
}
"""The ERROR_CONDITIONS that stop the printer: pages show them red, not amber. Written as
the warnings taken away, so a condition is named once and a new one is severe by default."""


def decode_error_state(raw: bytes | int | str | None) -> tuple[str, ...]:
    """The set conditions, in bit order. Bit 0 is the most significant bit of the first octet.

    Bits past 15 have no meaning in any MIB and are ignored. A missing second
    octet means bits 8-15 are clear: many agents send one octet.
    """
    octets = _error_state_octets(raw)[:2].ljust(2, b"\x00")
    bits = int.from_bytes(octets, "big")
    return tuple(name for i, name in enumerate(ERROR_CONDITIONS) if bits & (0x8000 >> i))


def _error_state_octets(raw: bytes | int | str | None) -> bytes:
    """The octets an agent meant, from the types broken agents and tools send instead.

    An INTEGER (some agents send one) is read as its shortest big-endian octets:
    0x20 is one octet, so low_toner; 0x2000 is two, so low_toner too. A 16-bit
    reading of 0x20 would give input_tray_empty, which the recordings contradict.
    Negative numbers carry no bits. A str is a hex rendering ("2000", "0x20 00")
    when it is one, otherwise octets that were decoded as latin-1.
    """
    if raw is None:
        return b""
    if isinstance(raw, int):
        return _int_octets(raw)
    if isinstance(raw, str):
        return _str_octets(raw)
    return raw


def _int_octets(value: int) -> bytes:
    if value < 0:
        return b""
    size = max(1, (value.bit_length() + 7) // 8)
    if size > 2:
        value >>= 8 * (size - 2)
        size = 2
    return value.to_bytes(size, "big")


def _str_octets(text: str) -> bytes:
    compact = "".join(text[:_SCAN_LIMIT].split()).lower().removeprefix("0x")
    if _is_hex(compact, 2, _SCAN_LIMIT) and len(compact) % 2 == 0:
        return bytes.fromhex(compact[:4])
    head = text[:2]
    return head.encode("latin-1") if all(ord(char) < 256 for char in head) else b""


# --- supply and tray levels -------------------------------------------------

_LEVEL_SENTINELS: Final[Mapping[int, SupplyState]] = {
    -1: "unrestricted",  # "other": the sub-unit places no restriction on this parameter
    -2: "unknown",
    -3: "some_remaining",  # "at least one unit remains", with no number given
}


@dataclass(frozen=True, slots=True)
class SupplyReading:
    """A level as the snapshot carries it. `note` says why a value was dropped or clamped."""

    level: int | None
    max_capacity: int | None
    remaining_ratio: float | None
    state: SupplyState
    note: str | None = None


def decode_level(
    level: int | None, max_capacity: int | None, *, low_ratio: float = 0.10
) -> SupplyReading:
    """RFC 3805 level and capacity as a reading that never invents a percentage.

    Works for supplies and trays alike: for a receptacle the level is the space
    left, so remaining_ratio is always "fraction left before someone must act".
    A ratio exists only when both numbers are real (level >= 0, capacity > 0).
    """
    capacity = max_capacity if max_capacity is not None and max_capacity > 0 else None
    if level is None:
        return SupplyReading(None, capacity, None, "unknown", "no level reported")
    if level < 0:
        return _sentinel_reading(level, capacity)
    if capacity is None:
        state: SupplyState = "empty" if level == 0 else "some_remaining"
        return SupplyReading(level, None, None, state, _capacity_note(max_capacity))
    return _measured_reading(level, capacity, low_ratio)


def _sentinel_reading(level: int, capacity: int | None) -> SupplyReading:
    state = _LEVEL_SENTINELS.get(level)
    if state is None:
        note = f"level {int_text(level)} is not a value RFC 3805 allows"
        return SupplyReading(None, capacity, None, "unknown", note)
    return SupplyReading(None, capacity, None, state)


def _capacity_note(max_capacity: int | None) -> str | None:
    if max_capacity is None:
        return "no max capacity reported"
    if max_capacity in (-1, -2):  # RFC 3805: no restriction / unknown; legitimate, not odd
        return None
    return f"max capacity {int_text(max_capacity)} is not usable"


def _measured_reading(level: int, capacity: int, low_ratio: float) -> SupplyReading:
    note = None
    if level > capacity:
        # Refilled or third-party cartridges report this; full is the honest reading.
        note = f"level {int_text(level)} exceeds max capacity {int_text(capacity)}"
        ratio = 1.0
    else:
        ratio = level / capacity
    state: SupplyState = "empty" if level == 0 else "low" if ratio <= low_ratio else "ok"
    return SupplyReading(level, capacity, ratio, state, note)


# --- colours ----------------------------------------------------------------

_WORD: Final = re.compile(r"[^\W_]+")
_MAX_WORDS: Final = 64
_MAX_COLOR_CHARS: Final = 64

# Whole words or phrases, in the languages printers ship with.
_COLOR_PHRASES: Final[Mapping[str, str]] = {
    "black": "black",
    "schwarz": "black",
    "noir": "black",
    "negro": "black",
    "nero": "black",
    "preto": "black",
    "zwart": "black",
    "cyan": "cyan",
    "cian": "cyan",
    "ciano": "cyan",
    "cyaan": "cyan",
    "magenta": "magenta",
    "yellow": "yellow",
    "gelb": "yellow",
    "jaune": "yellow",
    "amarillo": "yellow",
    "giallo": "yellow",
    "amarelo": "yellow",
    "geel": "yellow",
    "gray": "gray",
    "grey": "gray",
    "grau": "gray",
    "gris": "gray",
    "grigio": "gray",
    "red": "red",
    "green": "green",
    "blue": "blue",
    "white": "white",
    "orange": "orange",
    "violet": "violet",
    "photo black": "photo_black",
    "matte black": "matte_black",
    "matt black": "matte_black",
    "light cyan": "light_cyan",
    "light magenta": "light_magenta",
    "light black": "light_black",
    "light light black": "light_light_black",
    "light gray": "light_gray",
    "light grey": "light_gray",
    "photo cyan": "photo_cyan",
    "photo magenta": "photo_magenta",
    "tri color": "tri_color",
    "tri colour": "tri_color",
    "tricolor": "tri_color",
    "tricolour": "tri_color",
}

# Abbreviations count only as the last word ("Toner Cartridge K", "SJIC35P-Y"):
# anywhere else they are usually part numbers ("PK-3010S", "TK-1162").
_COLOR_ABBREVIATIONS: Final[Mapping[str, str]] = {
    "k": "black",
    "bk": "black",
    "blk": "black",
    "c": "cyan",
    "m": "magenta",
    "y": "yellow",
    "lc": "light_cyan",
    "lm": "light_magenta",
    "pk": "photo_black",
    "pbk": "photo_black",
    "mk": "matte_black",
    "mbk": "matte_black",
    "lk": "light_black",
    "llk": "light_light_black",
    "gy": "gray",
}

_NO_COLOR: Final = frozenset({"other", "unknown", "none", "n a", "na"})


def colorant_name(value: str | None) -> str | None:
    """prtMarkerColorantValue as a snake_case colour; None for "other"/"unknown"/empty.

    RFC 3805 asks for plain names ("black", "cyan"), but agents also send
    "Black", "photo black" or "black ink cartridge". A recognised colour wins;
    anything else is kept as snake_case, because the colorant table is the
    device's own word for the colour.
    """
    words = _words(value)
    if not words or " ".join(words) in _NO_COLOR:
        return None
    found = _colors_in(words)
    if len(found) == 1:
        return found.pop()
    return "_".join(words)[:_MAX_COLOR_CHARS].rstrip("_") or None


def color_from_description(descr: str | None) -> str | None:
    """The one colour a supply description names, or None if it names none or several.

    Matches whole words only, so "Blackwell" is not black; a longer phrase wins
    over its last word ("Photo Black" is photo_black, not also black). Two
    different colours ("Cyan/Magenta Drum") are ambiguous, and a guess would put
    toner on the wrong shipping list.
    """
    found = _colors_in(_words(descr))
    return found.pop() if len(found) == 1 else None


def supply_color(colorant: str | None, description: str | None) -> str | None:
    """The colorant table first, the description second.

    The colorant entry is what the device says the marker holds; a description
    is free text for humans and only a fallback.
    """
    return colorant_name(colorant) or color_from_description(description)


def _words(text: str | None) -> list[str]:
    if not text:
        return []
    return _WORD.findall(text[:MAX_TEXT_CHARS].casefold())[:_MAX_WORDS]


def _colors_in(words: list[str]) -> set[str]:
    used = [False] * len(words)
    found: set[str] = set()
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            span = range(start, start + size)
            color = _COLOR_PHRASES.get(" ".join(words[start : start + size]))
            if color is not None and not any(used[i] for i in span):
                found.add(color)
                for i in span:
                    used[i] = True
    if words and not used[-1] and words[-1] in _COLOR_ABBREVIATIONS:
        found.add(_COLOR_ABBREVIATIONS[words[-1]])
    return found


# --- IEEE 1284 device ID ----------------------------------------------------

_MAX_DEVICE_ID_FIELDS: Final = 64
_KNOWN_KEY: Final = re.compile(
    r"\s*(MFG|MANUFACTURER|MDL|MODEL|CMD|COMMAND SET|CLS|CLASS|DES|DESCRIPTION"
    r"|SN|SER|SERN|SERIALNUMBER|CID|ID)\s*:",
    re.IGNORECASE,
)


def parse_device_id(raw: bytes | str | None) -> dict[str, str]:
    """IEEE 1284 "KEY:value;" pairs, keys upper-cased and trimmed.

    Pass the raw octets rather than `decode_text` output: some agents keep the
    two-byte binary length prefix of the 1284 wire form, which starts with a
    NUL. For a repeated key the first non-empty value wins.
    """
    if raw is None:
        return {}
    text = raw[:_SCAN_LIMIT] if isinstance(raw, str) else _decode_bytes(raw[:_SCAN_LIMIT])
    fields: dict[str, str] = {}
    for item in _drop_length_prefix(text).split(";"):
        key, sep, value = item.partition(":")
        key = " ".join(_scrub(key).upper().split())
        if sep and key and not fields.get(key):
            fields[key] = _scrub(value)
        if len(fields) >= _MAX_DEVICE_ID_FIELDS:
            break
    return fields


def _drop_length_prefix(text: str) -> str:
    """Strip the 1284 length prefix, whose high byte is a control character below 8 KiB.

    Its low byte may be a letter ("\\x00M" for 77 bytes), so drop one character
    only when that alone uncovers a key and two would not.
    """
    if len(text) < 2 or ord(text[0]) >= 0x20:
        return text
    if _KNOWN_KEY.match(text[1:]) and not _KNOWN_KEY.match(text[2:]):
        return text[1:]
    return text[2:]


def _first_value(fields: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = fields.get(key)
        if value:
            return value
    return None


def device_id_manufacturer(fields: Mapping[str, str]) -> str | None:
    """MFG, or its long spelling MANUFACTURER used by some agents."""
    return _first_value(fields, ("MFG", "MANUFACTURER"))


def device_id_model(fields: Mapping[str, str]) -> str | None:
    """MDL, or its long spelling MODEL used by some agents."""
    return _first_value(fields, ("MDL", "MODEL"))


def device_id_serial(fields: Mapping[str, str]) -> str | None:
    """The serial under the keys vendors use: SN (HP), SER (Kyocera), SERN, SERIALNUMBER."""
    return _first_value(fields, ("SN", "SER", "SERN", "SERIALNUMBER", "SERIAL NUMBER"))


# --- time -------------------------------------------------------------------


def ticks_to_seconds(ticks: int | None) -> float | None:
    """TimeTicks (hundredths of a second) as seconds; None if no agent could mean it.

    TimeTicks is unsigned 32-bit; negatives and anything past 64 bits are
    corrupt, and a float of a huge int would overflow.
    """
    if ticks is None or ticks < 0 or ticks.bit_length() > 64:
        return None
    return ticks / 100
