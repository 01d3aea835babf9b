"""Brother's packed maintenance and counter strings: a pure decoder.

Brother printers publish most of their service data not as SNMP objects but
as OCTET STRINGs of packed records under 1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5
(BROTHER-MIB brInfo*):

| OID (.0) | name | holds |
|---|---|---|
| 5.5.8  | brInfoMaintenance | remaining life of toner, drum, belt, fuser... in 0.01 % |
| 5.5.10 | brInfoCounter | page counters: total, mono, colour, duplex |
| 5.5.11 | brInfoNextCare | pages left until each part needs replacing |
| 5.5.18, 20, 21 | coverage, replace counts, jam counts | (short layout) |

Record layout, as documented by saper-2's reverse engineering
(github.com/saper-2/BRN-Printer-sCounters-Info) and read the same way by
bieniu/brother (the library Home Assistant uses):

- **Layout "brother"** (5.5.8, 5.5.10, 5.5.11): `code, 0x01, length, value[length]`.
  Almost always `length` is 4 and the value a big-endian unsigned number.
  Older models put two bytes there, `current, maximum` (maximum is 0x14, so
  the level moves in 5 % steps); a few put one byte (a status or a coarse level).
- **Layout "brother_short"** (5.5.18, 20, 21): `code, length, value[length]`.
- A record code of 0xFF ends the data (every blob ends with one or four 0xFF).
  Some firmware also pads with runs of three 0xFF, even inside a value; they
  carry no data and are dropped before decoding. A real value never contains
  0xFFFFFF (16.7 million pages).

Written from those public descriptions; no code is shared with either project.
Anything that does not fit (a length that runs past the end, more records than
any printer has) ends decoding with what was read so far and a note: the
decoder never raises, whatever bytes it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Layout = Literal["brother", "brother_short"]

_PAD: Final = b"\xff\xff\xff"
_END: Final = 0xFF
_MAX_RECORDS: Final = 256
_MAX_VALUE_BYTES: Final = 8
_MAX_INPUT: Final = 8192


@dataclass(frozen=True, slots=True)
class Record:
    code: int
    data: bytes
    offset: int
    """Position of the record in the blob after padding was removed (for diagnostics)."""

    @property
    def value(self) -> int:
        """The value as a big-endian unsigned number (0 for an empty value)."""
        return int.from_bytes(self.data, "big") if self.data else 0

    @property
    def percent(self) -> int | None:
        """The value as a whole percentage, or None when this record cannot be one.

        - 4 bytes: hundredths of a percent (9700 is 97 %), rounded as Python
          rounds, the way bieniu/brother does; above 100 % is not a level.
        - 2 bytes: `current, maximum` (legacy models), as current/maximum.
        - anything else (a 1-byte status, for example) is not a percentage.
        """
        if len(self.data) == 4:
            pct = round(self.value / 100)
            return pct if 0 <= pct <= 100 else None
        if len(self.data) == 2:
            current, maximum = self.data[0], self.data[1]
            if maximum > 0 and current <= maximum:
                return round(current / maximum * 100)
        return None


@dataclass(frozen=True, slots=True)
class Decoded:
    records: tuple[Record, ...]
    complete: bool
    """True when the data ended cleanly (end marker or exact end of input)."""
    note: str | None = None

    def by_code(self) -> dict[int, Record]:
        """Records by code; a repeated code keeps the later record, as the device lists them."""
        return {record.code: record for record in self.records}


def strip_padding(raw: bytes) -> bytes:
    """Drop every run of three 0xFF, left to right (the filler Brother firmware inserts)."""
    return raw.replace(_PAD, b"")


def decode_records(raw: bytes, layout: Layout = "brother") -> Decoded:
    """Split one packed OCTET STRING into records. Never raises."""
    if not isinstance(raw, bytes | bytearray):
        return Decoded((), False, "not an OCTET STRING")
    data = strip_padding(bytes(raw[:_MAX_INPUT]))
    header = 3 if layout == "brother" else 2
    records: list[Record] = []
    pos = 0
    while pos < len(data):
        code = data[pos]
        if code == _END:
            return Decoded(tuple(records), True)
        if len(records) >= _MAX_RECORDS:
            return Decoded(tuple(records), False, f"more than {_MAX_RECORDS} records")
        if pos + header > len(data):
            return Decoded(tuple(records), False, f"truncated record header at byte {pos}")
        length = data[pos + header - 1]
        if length > _MAX_VALUE_BYTES:
            return Decoded(tuple(records), False, f"record length {length} at byte {pos}")
        end = pos + header + length
        if end > len(data):
            return Decoded(tuple(records), False, f"record at byte {pos} runs past the end")
        records.append(Record(code, data[pos + header : end], pos))
        pos = end
    return Decoded(tuple(records), True)
