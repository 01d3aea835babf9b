from __future__ import annotations

import math
import re
import unicodedata
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.model import SupplyState
from exporter.readers.decode import (
    ERROR_CONDITIONS,
    MAX_TEXT_CHARS,
    SupplyReading,
    color_from_description,
    colorant_name,
    decode_error_state,
    decode_level,
    decode_mac,
    decode_text,
    device_id_manufacturer,
    device_id_model,
    device_id_serial,
    parse_device_id,
    supply_color,
    ticks_to_seconds,
)

# Hypothesis strategies for "anything of the declared type", big ints included.
any_int = st.integers() | st.integers(min_value=-(2**200), max_value=2**200)
any_bytes = st.binary(max_size=300)
any_text = st.text(max_size=300)


def _is_clean(text: str) -> bool:
    return all(ch == "\t" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs"} for ch in text)


# --- decode_text ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        (b"", None),
        ("", None),
        (b"Ready", "Ready"),
        ("Ready", "Ready"),
        (b"Ready\x00\x00\x00\x00", "Ready"),
        (b"Ready\x00garbage after the pad", "Ready"),
        ("Ready\x00junk", "Ready"),
        (b"  HP LaserJet 400 \r\n", "HP LaserJet 400"),
        ("\r\n  Sleep mode on\n", "Sleep mode on"),
        (b"Line one\r\nLine two", "Line one Line two"),
        (b"Tray\t1", "Tray\t1"),
        (b"\tindented\t", "indented"),
        (b"Caf\xc3\xa9 Toner", "Café Toner"),  # valid UTF-8
        (b"Caf\xe9 Toner", "Café Toner"),  # cp1252 / latin-1 agent
        (b"\x80 5 per page", "€ 5 per page"),  # cp1252, not latin-1 C1 control
        (b"abc\x81defgh", "abcdefgh"),  # 0x81 undefined in cp1252: latin-1, control removed
        (b"Hello\x1bWorld", "HelloWorld"),
        (b"ABC\x01", "ABC"),  # one control in four: still text
        (b"\xef\xbb\xbfHello", "Hello"),  # UTF-8 BOM is a format character
        ("abc\u202edef", "abcdef"),  # bidi override would reorder labels
        ("abc\ud800def", "abcdef"),  # lone surrogate cannot be encoded to UTF-8
        ("\u3000Ready\u3000", "Ready"),
        ("カラー".encode(), "カラー"),
        (b"00 11 22 33", "00 11 22 33"),  # hex-looking text stays text
        (b"\x00", None),
        (b"\x00\x00\x00", None),
        (b"   ", None),
        (b"\x00   \r\n", None),
        ("\x00", None),
        (b"\r\n", None),
        # binary values: hex of the whole value, NULs included
        (b"\x07\xe2\x01\x01\x03\x13\x04\x00", "0x07e2010103130400"),  # DateAndTime
        (b"\x00\x11\x22\x33\x44\x55", "0x001122334455"),  # starts with NUL, data after
        (b"AB\x01", "0x414201"),  # more than a quarter controls
        (b"\x01\x02AB", "0x01024142"),
        ("\x01\x02\x03x", "0x01020378"),
    ],
)
def test_decode_text(raw: bytes | str | None, expected: str | None) -> None:
    assert decode_text(raw) == expected


def test_decode_text_bounds_long_text() -> None:
    assert decode_text(b"A" * 5000) == "A" * MAX_TEXT_CHARS


def test_decode_text_bounds_long_binary() -> None:
    result = decode_text(b"\x01" * 5000)
    assert result == "0x" + "01" * ((MAX_TEXT_CHARS - 2) // 2)
    assert len(result) <= MAX_TEXT_CHARS


def test_decode_text_does_not_leave_trailing_blank_after_truncation() -> None:
    result = decode_text("A" * (MAX_TEXT_CHARS - 1) + " B")
    assert result == "A" * (MAX_TEXT_CHARS - 1)


@given(any_bytes | any_text | st.none())
def test_decode_text_is_safe_for_anything(raw: bytes | str | None) -> None:
    result = decode_text(raw)
    if result is None:
        return
    assert result
    assert len(result) <= MAX_TEXT_CHARS
    assert _is_clean(result)
    assert result == result.strip()
    result.encode("utf-8")  # never a lone surrogate


@given(any_bytes | any_text)
def test_decode_text_is_idempotent(raw: bytes | str) -> None:
    once = decode_text(raw)
    assert decode_text(once) == once


printable_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"), blacklist_characters="\x00"
    ),
    max_size=200,
)


@given(printable_text)
def test_decode_text_keeps_printable_text(text: str) -> None:
    expected = text.strip() or None
    assert decode_text(text) == expected
    assert decode_text(text.encode("utf-8")) == expected


# --- decode_mac -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (bytes.fromhex("001122334455"), "00:11:22:33:44:55"),
        (bytes.fromhex("AABBCCDDEEFF"), "aa:bb:cc:dd:ee:ff"),
        (b"abcdef", "61:62:63:64:65:66"),  # six octets are always raw
        ("00:11:22:33:44:55", "00:11:22:33:44:55"),
        ("00-1B-A9-63-0C-21", "00:1b:a9:63:0c:21"),
        ("001BA9630C21", "00:1b:a9:63:0c:21"),
        ("001b.a963.0c21", "00:1b:a9:63:0c:21"),
        ("00 1b a9 63 0c 21 ", "00:1b:a9:63:0c:21"),  # snmpwalk Hex-STRING
        ("0:1b:a9:63:c:21", "00:1b:a9:63:0c:21"),  # leading zeros dropped
        ("0x001BA9630C21", "00:1b:a9:63:0c:21"),
        (b"00:11:22:33:44:55", "00:11:22:33:44:55"),  # ASCII sent as octets
        (b"001BA9630C21", "00:1b:a9:63:0c:21"),
        (b"00:11:22:33:44:55\x00", "00:11:22:33:44:55"),
        ("\x00\x11\x22\x33\x44\x55", "00:11:22:33:44:55"),  # octets decoded as latin-1
        (None, None),
        (b"", None),
        ("", None),
        (bytes(6), None),
        (b"\xff" * 6, None),
        ("00:00:00:00:00:00", None),
        ("FF-FF-FF-FF-FF-FF", None),
        (bytes(5), None),
        (bytes.fromhex("0011223344"), None),
        (bytes.fromhex("0011223344556677"), None),  # EUI-64 is not a MAC
        ("00:11:22:33:44", None),
        ("00:11:22:33:44:55:66", None),
        ("gg:11:22:33:44:55", None),
        ("00:11-22:33:44:55", None),  # mixed separators
        ("001:22:33:44:55:66", None),
        ("0011.2233.445", None),
        ("hello", None),
        ("٠٠:١١:٢٢:٣٣:٤٤:٥٥", None),  # non-ASCII digits are not hex
        ("\u0100\x11\x22\x33\x44\x55", None),
    ],
)
def test_decode_mac(raw: bytes | str | None, expected: str | None) -> None:
    assert decode_mac(raw) == expected


MAC_FORM = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


@given(any_bytes | any_text | st.none())
def test_decode_mac_is_safe_for_anything(raw: bytes | str | None) -> None:
    result = decode_mac(raw)
    assert result is None or MAC_FORM.match(result)
    assert result not in {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}


@given(st.binary(min_size=6, max_size=6))
def test_decode_mac_text_forms_agree_with_octets(octets: bytes) -> None:
    expected = decode_mac(octets)
    assert decode_mac(octets.hex()) == expected
    assert decode_mac(octets.hex(":").upper()) == expected
    assert decode_mac(octets.hex("-")) == expected
    assert decode_mac(octets.hex(".", 2)) == expected


# --- decode_error_state -----------------------------------------------------


def test_error_conditions_are_the_16_bits_in_order() -> None:
    assert ERROR_CONDITIONS == (
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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ()),
        (b"", ()),
        (b"\x00", ()),
        (b"\x00\x00", ()),
        (b"\x80", ("low_paper",)),
        (b"\x40", ("no_paper",)),
        (b"\x20", ("low_toner",)),
        (b"\x20\x00", ("low_toner",)),
        (b"\x10", ("no_toner",)),
        (b"\x08", ("door_open",)),
        (b"\x04", ("jammed",)),
        (b"\x02", ("offline",)),
        (b"\x01", ("service_requested",)),
        (b"\x00\x80", ("input_tray_missing",)),
        (b"\x00\x40", ("output_tray_missing",)),
        (b"\x00\x20", ("marker_supply_missing",)),
        (b"\x00\x10", ("output_near_full",)),
        (b"\x00\x08", ("output_full",)),
        (b"\x00\x04", ("input_tray_empty",)),
        (b"\x00\x02", ("overdue_prevent_maint",)),
        (b"\x00\x01", ("bit_15",)),
        (b"\x24", ("low_toner", "jammed")),
        (b"\x08\x04", ("door_open", "input_tray_empty")),
        (b"\xff", ERROR_CONDITIONS[:8]),
        (b"\xff\xff", ERROR_CONDITIONS),
        (b"\x00\x00\xff\xff", ()),  # bits past 15 mean nothing
        (b"\x80\x00\xff", ("low_paper",)),
        # INTEGER from a broken agent: shortest big-endian octets
        (0, ()),
        (0x20, ("low_toner",)),
        (0x2000, ("low_toner",)),
        (0x80, ("low_paper",)),
        (0x0102, ("service_requested", "overdue_prevent_maint")),
        (0xFFFF, ERROR_CONDITIONS),
        (
            0x123456,
            (
                "no_toner",
                "offline",
                "marker_supply_missing",
                "output_near_full",
                "input_tray_empty",
            ),
        ),
        (-1, ()),
        (-(2**40), ()),
        # str: a hex rendering, else octets decoded as latin-1
        ("2000", ("low_toner",)),
        ("20", ("low_toner",)),
        ("0x2000", ("low_toner",)),
        ("20 00", ("low_toner",)),
        ("00 02", ("overdue_prevent_maint",)),
        ("", ()),
        (" ", ("low_toner",)),  # octet 0x20 that someone decoded as text
        ("\x80", ("low_paper",)),
        ("\x04\x00", ("jammed",)),
        ("\u0100\u0101", ()),
    ],
)
def test_decode_error_state(raw: bytes | int | str | None, expected: tuple[str, ...]) -> None:
    assert decode_error_state(raw) == expected


def _reference_bits(octets: bytes) -> tuple[str, ...]:
    padded = octets + bytes(2)
    return tuple(
        name for i, name in enumerate(ERROR_CONDITIONS) if (padded[i // 8] >> (7 - i % 8)) & 1
    )


@given(any_bytes | any_int | any_text | st.none())
def test_decode_error_state_is_an_ordered_subset(raw: bytes | int | str | None) -> None:
    result = decode_error_state(raw)
    positions = [ERROR_CONDITIONS.index(name) for name in result]
    assert positions == sorted(set(positions))


@given(any_bytes)
def test_decode_error_state_matches_the_bit_definition(octets: bytes) -> None:
    assert decode_error_state(octets) == _reference_bits(octets)


@given(st.integers(min_value=0, max_value=0xFFFF))
def test_decode_error_state_integer_is_its_shortest_octets(value: int) -> None:
    octets = value.to_bytes(1 if value < 256 else 2, "big")
    assert decode_error_state(value) == decode_error_state(octets)
    assert decode_error_state(octets.hex()) == decode_error_state(octets)


# --- decode_level -----------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "max_capacity", "expected"),
    [
        (40, 100, SupplyReading(40, 100, 0.4, "ok")),
        (100, 100, SupplyReading(100, 100, 1.0, "ok")),
        (11, 100, SupplyReading(11, 100, 0.11, "ok")),
        (10, 100, SupplyReading(10, 100, 0.1, "low")),  # at the threshold is low
        (1, 100, SupplyReading(1, 100, 0.01, "low")),
        (0, 100, SupplyReading(0, 100, 0.0, "empty")),
        (1, 1, SupplyReading(1, 1, 1.0, "ok")),
        (2000, 8000, SupplyReading(2000, 8000, 0.25, "ok")),
        # RFC 3805 sentinels: never a ratio, never a level
        (-1, 100, SupplyReading(None, 100, None, "unrestricted")),
        (-2, 100, SupplyReading(None, 100, None, "unknown")),
        (-3, 100, SupplyReading(None, 100, None, "some_remaining")),
        (-3, -2, SupplyReading(None, None, None, "some_remaining")),
        (-1, None, SupplyReading(None, None, None, "unrestricted")),
        (-2, 0, SupplyReading(None, None, None, "unknown")),
        # capacity unknown or unusable: level kept, no ratio
        (50, -1, SupplyReading(50, None, None, "some_remaining")),
        (50, -2, SupplyReading(50, None, None, "some_remaining")),
        (0, -2, SupplyReading(0, None, None, "empty")),
    ],
)
def test_decode_level(level: int | None, max_capacity: int | None, expected: SupplyReading) -> None:
    assert decode_level(level, max_capacity) == expected


@pytest.mark.parametrize(
    ("level", "max_capacity", "expected", "note_part"),
    [
        (-100, 100, SupplyReading(None, 100, None, "unknown"), "-100"),
        (-4, 100, SupplyReading(None, 100, None, "unknown"), "-4"),
        (50, 0, SupplyReading(50, None, None, "some_remaining"), "max capacity 0"),
        (50, -5, SupplyReading(50, None, None, "some_remaining"), "max capacity -5"),
        (0, -3, SupplyReading(0, None, None, "empty"), "max capacity -3"),
        (50, None, SupplyReading(50, None, None, "some_remaining"), "no max capacity"),
        (150, 100, SupplyReading(150, 100, 1.0, "ok"), "exceeds"),
        (None, 100, SupplyReading(None, 100, None, "unknown"), "no level"),
        (None, None, SupplyReading(None, None, None, "unknown"), "no level"),
    ],
)
def test_decode_level_notes_oddities(
    level: int | None, max_capacity: int | None, expected: SupplyReading, note_part: str
) -> None:
    reading = decode_level(level, max_capacity)
    assert reading.note is not None
    assert note_part in reading.note
    assert (reading.level, reading.max_capacity, reading.remaining_ratio, reading.state) == (
        expected.level,
        expected.max_capacity,
        expected.remaining_ratio,
        expected.state,
    )


@pytest.mark.parametrize(
    ("level", "max_capacity", "low_ratio", "state"),
    [
        (20, 100, 0.25, "low"),
        (30, 100, 0.25, "ok"),
        (1, 100, 0.0, "ok"),
        (0, 100, 0.0, "empty"),
        (100, 100, 1.0, "low"),
        (150, 100, 1.0, "low"),
        (50, 100, math.nan, "ok"),
    ],
)
def test_decode_level_low_ratio(
    level: int, max_capacity: int, low_ratio: float, state: SupplyState
) -> None:
    assert decode_level(level, max_capacity, low_ratio=low_ratio).state == state


def test_decode_level_huge_numbers_do_not_overflow() -> None:
    assert decode_level(10**400, 10**401).remaining_ratio == pytest.approx(0.1)
    over = decode_level(10**401, 10**400)
    assert over.remaining_ratio == 1.0
    assert over.note is not None


def test_supply_reading_is_frozen() -> None:
    reading = decode_level(1, 2)
    with pytest.raises(AttributeError):
        reading.level = 5  # type: ignore[misc]


@given(
    any_int | st.none(),
    any_int | st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_decode_level_invariants(
    level: int | None, max_capacity: int | None, low_ratio: float
) -> None:
    reading = decode_level(level, max_capacity, low_ratio=low_ratio)
    assert reading.state in get_args(SupplyState)
    assert reading.remaining_ratio is None or 0.0 <= reading.remaining_ratio <= 1.0
    assert reading.max_capacity is None or reading.max_capacity > 0
    assert reading.level is None or reading.level >= 0
    if level is None or level < 0:
        assert reading.level is None
        assert reading.remaining_ratio is None
    if level in (-1, -2, -3):
        assert reading.state == {-1: "unrestricted", -2: "unknown", -3: "some_remaining"}[level]
    if reading.remaining_ratio is not None:
        assert reading.level is not None
        assert reading.max_capacity is not None
    if level == 0:
        assert reading.state == "empty"


# --- colours ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("black", "black"),
        ("Black", "black"),
        ("BLACK", "black"),
        ("cyan", "cyan"),
        ("magenta", "magenta"),
        ("yellow", "yellow"),
        ("photo black", "photo_black"),
        ("Photo Black", "photo_black"),
        ("matte black", "matte_black"),
        ("light cyan", "light_cyan"),
        ("Light Magenta", "light_magenta"),
        ("light light black", "light_light_black"),
        ("gray", "gray"),
        ("grey", "gray"),
        ("Schwarz", "black"),
        ("black ink cartridge", "black"),
        ("tri-color ink cartridge", "tri_color"),
        ("K", "black"),
        ("Gold", "gold"),  # not in our list: kept, the device named it
        ("Fluorescent Pink", "fluorescent_pink"),
        ("Cyan/Magenta", "cyan_magenta"),
        ("other", None),
        ("unknown", None),
        ("Unknown", None),
        ("N/A", None),
        ("", None),
        ("   ", None),
        ("--", None),
        (None, None),
    ],
)
def test_colorant_name(value: str | None, expected: str | None) -> None:
    assert colorant_name(value) == expected


@pytest.mark.parametrize(
    ("descr", "expected"),
    [
        ("Black Toner", "black"),
        ("Black Toner Cartridge", "black"),
        ("Black Toner 2", "black"),
        ("Toner Cartridge K", "black"),
        ("Toner (K)", "black"),
        ("Cyan Cartridge HP CF411A", "cyan"),
        ("Schwarz", "black"),
        ("Noir", "black"),
        ("Toner negro", "black"),
        ("Tonerkartusche Gelb", "yellow"),
        ("Cartouche d'encre jaune", "yellow"),
        ("Magenta", "magenta"),
        ("Y", "yellow"),
        ("BK", "black"),
        ("TONER-Y", "yellow"),
        ("Toner Cartridge C", "cyan"),
        ("Toner M", "magenta"),
        ("Toner (Yellow)", "yellow"),
        ("Yellow Toner, PN 006R01510;SN4E0B8980E000048A", "yellow"),
        ("Magenta Ink Cartridge SJIC35P-M", "magenta"),
        ("Ink SJIC35P-C", "cyan"),
        ("Photo Black Ink", "photo_black"),
        ("Light Cyan", "light_cyan"),
        ("Ink LC", "light_cyan"),
        ("Drum Cartridge (Black)", "black"),
        ("tri-color ink cartridge HP unknown", "tri_color"),
        # no colour, or not a whole word
        ("Blackwell Fuser", None),
        ("Waste Toner Box", None),
        ("Drum Unit", None),
        ("Drum Cartridge (R1), PN 013R00662;SN5238EF80E000048E", None),
        ("TK-1162", None),
        ("PK-3010S", None),
        ("Maintenance Kit MK-3150", None),
        ("Toner S/N:CRUM-16021314488", None),
        ("Canon Cartridge 719/719H", None),
        ("Kit K2", None),
        # several colours: ambiguous
        ("Cyan/Magenta/Yellow Drum", None),
        ("Black and Yellow", None),
        ("", None),
        (None, None),
    ],
)
def test_color_from_description(descr: str | None, expected: str | None) -> None:
    assert color_from_description(descr) == expected


@pytest.mark.parametrize(
    ("colorant", "descr", "expected"),
    [
        ("black", "Cyan Toner", "black"),  # the colorant table wins
        ("gold", "Black Toner", "gold"),
        (None, "Cyan Toner", "cyan"),
        ("unknown", "Magenta Toner", "magenta"),
        ("", "Y", "yellow"),
        (None, "Drum Unit", None),
        (None, None, None),
    ],
)
def test_supply_color_precedence(
    colorant: str | None, descr: str | None, expected: str | None
) -> None:
    assert supply_color(colorant, descr) == expected


SNAKE = re.compile(r"^[^\W_]+(_[^\W_]+)*$")


@given(any_text | st.none(), any_text | st.none())
def test_colour_functions_are_safe_for_anything(value: str | None, descr: str | None) -> None:
    for result in (colorant_name(value), color_from_description(descr), supply_color(value, descr)):
        assert result is None or (SNAKE.match(result) and len(result) <= 64)


# --- IEEE 1284 device ID ----------------------------------------------------

HP_ID = (
    "MFG:HP;MDL:HP Color LaserJet MFP M477fdw;CMD:PJL,PCL,POSTSCRIPT;CLS:PRINTER;"
    "DES:HP Color LaserJet MFP M477fdw;SN:CNB1234567;"
)


def _prefixed(payload: bytes) -> bytes:
    return (len(payload) + 2).to_bytes(2, "big") + payload


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            HP_ID,
            {
                "MFG": "HP",
                "MDL": "HP Color LaserJet MFP M477fdw",
                "CMD": "PJL,PCL,POSTSCRIPT",
                "CLS": "PRINTER",
                "DES": "HP Color LaserJet MFP M477fdw",
                "SN": "CNB1234567",
            },
        ),
        ("MFG:Brother;MDL:HL-2270DW series", {"MFG": "Brother", "MDL": "HL-2270DW series"}),
        (" MFG : HP ; MDL: LaserJet 400 ;", {"MFG": "HP", "MDL": "LaserJet 400"}),
        ("mfg:hp;mdl:x;", {"MFG": "hp", "MDL": "x"}),
        ("COMMAND  SET:PCL;", {"COMMAND SET": "PCL"}),
        ("MFG:HP;MFG:Other;", {"MFG": "HP"}),  # first wins
        ("MFG:;MFG:HP;", {"MFG": "HP"}),  # first non-empty wins
        ("garbage;MFG:HP", {"MFG": "HP"}),
        (":value;MFG:HP", {"MFG": "HP"}),
        ("URL:http://printer/;", {"URL": "http://printer/"}),
        ("MFG:HP;\x00\x00", {"MFG": "HP"}),
        (b"MFG:HP;\x00\x00", {"MFG": "HP"}),
        (b"MFG:Soci\xe9t\xe9;", {"MFG": "Société"}),
        (b"MFG:Soci\xc3\xa9t\xc3\xa9;", {"MFG": "Société"}),
        (_prefixed(b"MFG:HP;MDL:LaserJet;"), {"MFG": "HP", "MDL": "LaserJet"}),
        (_prefixed(b"MFG:Brother;" + b"CMD:PJL;" * 7), {"MFG": "Brother", "CMD": "PJL"}),
        ("\x00MMFG:HP;", {"MFG": "HP"}),  # low byte of the prefix is a letter
        ("\x00MMDL:X;", {"MDL": "X"}),
        ("\x00\x2cMFG:HP;", {"MFG": "HP"}),
        ("\x00MFG:HP;", {"MFG": "HP"}),  # a lone NUL, not a full prefix
        ("\x01\x05MDL:X", {"MDL": "X"}),
        ("MFG:HP\r\n;MDL:X\n", {"MFG": "HP", "MDL": "X"}),
        (None, {}),
        ("", {}),
        (b"", {}),
        (";;;", {}),
    ],
)
def test_parse_device_id(raw: bytes | str | None, expected: dict[str, str]) -> None:
    assert parse_device_id(raw) == expected


def test_parse_device_id_kyocera_serial() -> None:
    fields = parse_device_id(
        "ID:ECOSYS P2040dw;MFG:Kyocera;CMD:PCLXL,PostScript Emulation,PCL5E,PJL;"
        "MDL:ECOSYS P2040dw;CLS:PRINTER;DES:Kyocera ECOSYS P2040dw;SER:VD21457943;"
    )
    assert device_id_manufacturer(fields) == "Kyocera"
    assert device_id_model(fields) == "ECOSYS P2040dw"
    assert device_id_serial(fields) == "VD21457943"


@pytest.mark.parametrize(
    ("fields", "manufacturer", "model", "serial"),
    [
        ({}, None, None, None),
        ({"MFG": "", "MDL": ""}, None, None, None),
        ({"MANUFACTURER": "Samsung", "MODEL": "ML-2850"}, "Samsung", "ML-2850", None),
        ({"MFG": "A", "MANUFACTURER": "B", "MDL": "C", "MODEL": "D"}, "A", "C", None),
        ({"MFG": "", "MANUFACTURER": "B"}, "B", None, None),
        ({"SN": "X1"}, None, None, "X1"),
        ({"SERN": "X2"}, None, None, "X2"),
        ({"SERIALNUMBER": "X3"}, None, None, "X3"),
    ],
)
def test_device_id_helpers(
    fields: dict[str, str], manufacturer: str | None, model: str | None, serial: str | None
) -> None:
    assert device_id_manufacturer(fields) == manufacturer
    assert device_id_model(fields) == model
    assert device_id_serial(fields) == serial


@given(any_bytes | any_text | st.none())
def test_parse_device_id_is_safe_for_anything(raw: bytes | str | None) -> None:
    fields = parse_device_id(raw)
    assert len(fields) <= 64
    for key, value in fields.items():
        assert key
        assert key == key.upper()
        assert key == key.strip()
        assert _is_clean(key)
        assert _is_clean(value)
        assert ";" not in key
        assert ":" not in key
    device_id_manufacturer(fields)
    device_id_model(fields)
    device_id_serial(fields)


@given(
    st.dictionaries(
        st.from_regex(r"[A-Z]{1,8}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9 ,.\-]{1,20}", fullmatch=True).map(str.strip).filter(bool),
        max_size=10,
    ),
    st.booleans(),
)
def test_parse_device_id_round_trips(fields: dict[str, str], prefixed: bool) -> None:
    payload = "".join(f"{k}:{v};" for k, v in fields.items()).encode()
    raw = _prefixed(payload) if prefixed else payload
    assert parse_device_id(raw) == fields


# --- ticks_to_seconds -------------------------------------------------------


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [
        (None, None),
        (0, 0.0),
        (1, 0.01),
        (100, 1.0),
        (185448527, 1854485.27),
        (2**32 - 1, 42949672.95),
        (2**64 - 1, (2**64 - 1) / 100),
        (-1, None),
        (2**64, None),
    ],
)
def test_ticks_to_seconds(ticks: int | None, expected: float | None) -> None:
    assert ticks_to_seconds(ticks) == expected


@given(any_int | st.none())
def test_ticks_to_seconds_is_safe_for_anything(ticks: int | None) -> None:
    seconds = ticks_to_seconds(ticks)
    assert seconds is None or (seconds >= 0 and math.isfinite(seconds))


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Büro 2".encode("utf-16"), "Büro 2"),  # the platform's order, with its BOM
        (b"\xff\xfe" + "Étage 3".encode("utf-16-le"), "Étage 3"),
        (b"\xfe\xff" + "Floor 3".encode("utf-16-be"), "Floor 3"),
        (b"\xff\xfe" + "Lobby".encode("utf-16-le") + b"\x00\x00\x00\x00", "Lobby"),
        (b"\xff\xfe" + "Odd".encode("utf-16-le") + b"x", "Odd"),  # a stray last byte
        (b"\xef\xbb\xbfLobby", "Lobby"),
        (b"\xff\xfe", None),
    ],
)
def test_byte_order_marks(raw: bytes, text: str | None) -> None:
    """A Samsung sysLocation in UTF-16 with a BOM showed as mojibake "ÿþ..."."""
    assert decode_text(raw) == text
