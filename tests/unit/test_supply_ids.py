"""Part numbers and cartridge serials: read from a vendor table or a description, never guessed."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

from exporter.device import read_device
from exporter.model import Supply
from exporter.profiles import ProfileError, load_database
from exporter.profiles.apply import apply_supply_ids, apply_vendor_read
from exporter.profiles.engine import SupplyIds, read_vendor
from exporter.profiles.model import SupplyQuirks
from exporter.readers.fetch import DeviceData
from exporter.readers.identity import read_identity
from exporter.readers.meters import read_counters
from exporter.readers.supplies import read_supplies
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.table import render

HEADER = 'schema: 1\nversion: "2026.1.1.1"\n'
PROFILE = """
profiles:
  - name: acme
    vendor: Lexmark
    match:
      - manufacturer: Lexmark
    supplies:
      part_number: '\\b(\\d{2}[A-Z]\\d[A-Z0-9]{3})\\b'
      tables:
        - walk: 1.3.6.1.4.1.641.99.1.1
          part_number: 3
          serial: 4
        - walk: 1.3.6.1.4.1.641.98.1.1
          match: description
          description: 2
          serial: 5
        - walk: 1.3.6.1.4.1.641.96.1.1
          match: reference
          reference: 2
          part_number: 6
        - walk: 1.3.6.1.4.1.641.97.1.1
          match: kind
          type: 3
          types: {6: toner, 7: opc}
          color: 4
          serial: 6
"""

# A hand-written device: three toners in the standard table, a vendor table keyed by the
# supply index (part number and serial), and a second keyed by description (serial only).
SNMPREC = """\
1.3.6.1.2.1.1.1.0|4|Lexmark CX725 version NH63.GM.N627 kernel
1.3.6.1.2.1.25.3.2.1.3.1|4|Lexmark CX725
1.3.6.1.2.1.43.5.1.1.17.1|4|SERIAL1
1.3.6.1.2.1.43.11.1.1.4.1.1|2|3
1.3.6.1.2.1.43.11.1.1.4.1.2|2|3
1.3.6.1.2.1.43.11.1.1.4.1.3|2|3
1.3.6.1.2.1.43.11.1.1.5.1.1|2|3
1.3.6.1.2.1.43.11.1.1.5.1.2|2|3
1.3.6.1.2.1.43.11.1.1.5.1.3|2|3
1.3.6.1.2.1.43.11.1.1.6.1.1|4|Black Cartridge 84C2HK0
1.3.6.1.2.1.43.11.1.1.6.1.2|4|Cyan Cartridge 84C2HC0
1.3.6.1.2.1.43.11.1.1.6.1.3|4|Magenta Cartridge
1.3.6.1.2.1.43.11.1.1.7.1.1|2|13
1.3.6.1.2.1.43.11.1.1.7.1.2|2|13
1.3.6.1.2.1.43.11.1.1.7.1.3|2|13
1.3.6.1.2.1.43.11.1.1.8.1.1|2|100
1.3.6.1.2.1.43.11.1.1.8.1.2|2|100
1.3.6.1.2.1.43.11.1.1.8.1.3|2|100
1.3.6.1.2.1.43.11.1.1.9.1.1|2|80
1.3.6.1.2.1.43.11.1.1.9.1.2|2|60
1.3.6.1.2.1.43.11.1.1.9.1.3|2|40
1.3.6.1.4.1.641.96.1.1.2.10|6|1.3.6.1.2.1.43.11.1.1.6.1.3
1.3.6.1.4.1.641.96.1.1.2.11|6|1.3.6.1.2.1.43.11.1.1.6.1.9
1.3.6.1.4.1.641.96.1.1.6.10|4|XPART3
1.3.6.1.4.1.641.96.1.1.6.11|4|NOSUCHROW
1.3.6.1.4.1.641.97.1.1.3.1.1|2|6
1.3.6.1.4.1.641.97.1.1.3.1.2|2|6
1.3.6.1.4.1.641.97.1.1.3.1.3|2|7
1.3.6.1.4.1.641.97.1.1.4.1.1|4|cyan
1.3.6.1.4.1.641.97.1.1.4.1.2|4|yellow
1.3.6.1.4.1.641.97.1.1.4.1.3|4|cyan
1.3.6.1.4.1.641.97.1.1.6.1.1|4|CAS7777CYN
1.3.6.1.4.1.641.97.1.1.6.1.2|4|CAS8888YEL
1.3.6.1.4.1.641.97.1.1.6.1.3|4|DRUM0001
1.3.6.1.4.1.641.98.1.1.2.7|4|Magenta Cartridge
1.3.6.1.4.1.641.98.1.1.5.7|4|CAS1234MAG
1.3.6.1.4.1.641.99.1.1.3.1|4|84C2HKE
1.3.6.1.4.1.641.99.1.1.3.3|4|%s
1.3.6.1.4.1.641.99.1.1.4.1|4|CAS0001BLK
"""


def write(tmp_path: Path, profile: str = PROFILE) -> tuple[Path, Path]:
    db = tmp_path / "db"
    db.mkdir()
    (db / "_database.yaml").write_text(HEADER)
    (db / "acme.yaml").write_text(textwrap.dedent(profile))
    rec = tmp_path / "device.snmprec"
    rec.write_text(SNMPREC % ("X" * 41))
    return db, rec


async def read(db: Path, rec: Path) -> tuple[Supply, ...]:
    database = load_database(base_dir=db)
    profile = database.get("acme")
    assert profile is not None
    data = DeviceData(MemoryClient(load_snmprec(rec)))
    identity = await read_identity(data)
    counters = await read_counters(data)
    supplies = await read_supplies(data)
    vendor = await read_vendor(data, profile, counters)
    return apply_vendor_read(identity, counters, supplies, vendor).supplies


async def test_table_by_index_description_and_pattern(tmp_path: Path) -> None:
    supplies = await read(*write(tmp_path))
    got = {s.index: (s.part_number, s.serial) for s in supplies}
    assert got == {
        # the vendor table's part number wins over the one in the description
        1: ("84C2HKE", "CAS0001BLK"),
        # the order number printed in the description; the serial joined by kind and
        # colour from a table with its own numbering (no yellow toner, no drum here)
        2: ("84C2HC0", "CAS7777CYN"),
        # an over-long part number is a wrong column, not data; the part number comes
        # from the table that points at the supply's row, the serial by description
        3: ("XPART3", "CAS1234MAG"),
    }


def test_a_description_shared_by_two_rows_names_neither() -> None:
    def toner(index: int) -> Supply:
        return Supply(index, "Toner", "toner", None, "consumed", "percent", 5, 10, 0.5, "ok")

    ids = (SupplyIds("description", ("Toner",), None, "S-1", "1.3.6.1.4.1.9.1.5.1"),)
    out, notes = apply_supply_ids((toner(1), toner(2)), SupplyQuirks(), ids)
    assert [s.serial for s in out] == [None, None]
    assert notes == []


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("{walk: 1.3.6.1.4.1.641.99.1.1}", "give a 'part_number' or a 'serial' column"),
        (
            "{walk: 1.3.6.1.4.1.641.99.1.1, serial: 4, match: colour}",
            "must be 'index', 'reference'",
        ),
        ("{walk: 1.3.6.1.4.1.641.99.1.1, serial: 4, match: description}", "needs 'description'"),
        ("{walk: 1.3.6.1.4.1.641.99.1.1, serial: 4, match: kind, type: 3}", "needs 'types'"),
        ("{walk: 1.3.6.1.4.1.641.99.1.1, serial: 4, types: {6: tonner}}", "supply type"),
        ("{walk: 1.3.6.1.4.1.641.99.1.1, serial: 0}", "must be a column number"),
        ("{walk: 1.3.6.1.4.1.641.99.1.1, serial: 4, colour: 2}", "colour"),
    ],
)
def test_bad_supply_tables_are_refused_with_their_path(
    tmp_path: Path, table: str, message: str
) -> None:
    profile = PROFILE.split("    supplies:")[0] + f"    supplies:\n      tables: [{table}]\n"
    db, _ = write(tmp_path, profile)
    with pytest.raises(ProfileError) as caught:
        load_database(base_dir=db)
    text = str(caught.value)
    assert "supplies.tables[0]" in text
    assert message in text


def test_a_bad_part_number_pattern_is_refused(tmp_path: Path) -> None:
    profile = PROFILE.replace("'\\b(\\d{2}[A-Z]\\d[A-Z0-9]{3})\\b'", "'(unclosed'")
    assert profile != PROFILE
    db, _ = write(tmp_path, profile)
    with pytest.raises(ProfileError, match=r"supplies\.part_number"):
        load_database(base_dir=db)


async def test_the_cli_table_shows_what_to_order(tmp_path: Path) -> None:
    _, rec = write(tmp_path)
    result = await read_device(MemoryClient(load_snmprec(rec)))
    supplies = (dataclasses.replace(result.snapshot.supplies[0], part_number="84C2HKE"),)
    text = render(dataclasses.replace(result.snapshot, supplies=supplies))
    line = next(t for t in text.splitlines() if "Black Cartridge" in t)
    assert line.endswith("part 84C2HKE")


def test_description_carries_part_and_serial_and_unknown_is_none() -> None:
    def row(index: int, description: str) -> Supply:
        return Supply(index, description, "toner", None, "consumed", "percent", 5, 10, 0.5, "ok")

    quirks = SupplyQuirks(part_number=re.compile(r", PN (\S+);"), serial=re.compile(r";SN(\S+)$"))
    rows = (
        row(1, "Black Toner, PN 006R01509;SN48178080E0000481"),
        row(2, "Fuser, PN unknown;SNunknown"),
        row(3, "Waste Toner Container"),
    )
    out, notes = apply_supply_ids(rows, quirks, ())
    assert [(s.part_number, s.serial) for s in out] == [
        ("006R01509", "48178080E0000481"),
        (None, None),
        (None, None),
    ]
    assert notes == [
        "supply 1: part number '006R01509' from its description",
        "supply 1: serial '48178080E0000481' from its description",
    ]
