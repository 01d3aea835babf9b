"""EWS documents and selectors (pure), the profiles' `ews:` sections, and the merge rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.ews import EwsParseError, merge, parse, wanted
from exporter.model import Counter, Identity, Snapshot, Supply
from exporter.profiles import load_database
from exporter.profiles.loader import ProfileError
from exporter.profiles.model import EwsSpec

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ews"


def hp_page(name: str) -> bytes:
    return (FIXTURES / "hp" / name).read_bytes()


# --- documents ------------------------------------------------------------------------


def test_xml_paths_ignore_namespace_prefixes_and_take_predicates() -> None:
    doc = parse("xml", hp_page("ProductUsageDyn.xml"))
    assert doc.select("PrinterSubunit/TotalImpressions") == "20500"
    assert doc.select("PrinterSubunit/A4EquivalentImpressions/TotalImpressions") == "21000"
    selector = "PrinterSubunit/UsageByMedia[MediaSizeName='na_letter_8.5x11in']/TotalImpressions"
    assert doc.select(selector) == "1200"
    assert doc.select("PrinterSubunit/Missing") is None


@pytest.mark.parametrize(
    "body",
    [
        b"<a><b>1</a>",  # not well-formed
        b"",
        b"\x00\x01garbage",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<r>&b;</r>",  # entity expansion (billion laughs, small)
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    ],
)
def test_malformed_or_hostile_xml_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(EwsParseError):
        parse("xml", body)


def test_html_labels_read_the_element_after_the_label() -> None:
    doc = parse("html", (FIXTURES / "brother" / "information.html").read_bytes())
    assert doc.label("Page Counter") == "8210"  # not the <h3> heading that repeats it
    assert doc.label("Copy") == "1500"  # <dt>Copy<dd>1500 with nothing closed
    assert doc.label("serial no.") == "E12345T6789"  # case and spacing ignored
    assert doc.label("Memory Size") == "128Mbytes"
    assert doc.label("Toner") is None
    assert doc.select(".//div[@id='modelName']/h1") == "MFC-T1234DW series"


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><dl><dt>Page Counter<dd>12",  # never closed
        b"</dd></dt><dt>Page Counter</dt><dd>12</dd></p></table>",  # stray end tags
        b"<dl><dt>Page Counter</dt><dd>12</dd>" + b"<div>" * 5000,  # absurdly deep
        "<dt>Page Counter</dt><dd>12</dd><p>\u00e9\ud800</p>".encode("utf-8", "surrogatepass"),
    ],
)
def test_malformed_html_costs_at_most_the_page(body: bytes) -> None:
    try:
        doc = parse("html", body)
    except EwsParseError:
        return
    assert doc.label("Page Counter") == "12"


def test_json_and_csv_selectors() -> None:
    doc = parse("json", b'{"identity": {"serial_num": "X1"}, "trays": [{"level": 3}]}')
    assert doc.select("identity.serial_num") == "X1"
    assert doc.select("trays.0.level") == "3"
    assert doc.select("identity") is None
    assert doc.select("trays.9.level") is None
    with pytest.raises(EwsParseError):
        parse("json", b"[" * 100_000)
    csv = parse("csv", (FIXTURES / "brother" / "mnt_info.csv").read_bytes())
    assert csv.select("Page Counter") == "8210"
    assert csv.select("serial no.") == "E12345T6789"
    assert csv.select("Others") == "0"  # a repeated header: the first column
    assert csv.select("Nope") is None


# --- profiles --------------------------------------------------------------------------


def test_the_shipped_hp_and_brother_profiles_have_ews_pages() -> None:
    database = load_database()
    for name in ("hp", "brother", "brother_inkjet"):
        profile = database.get(name)
        assert profile is not None
        assert profile.ews is not None, name


def _database(tmp_path: Path, ews: Any) -> None:
    (tmp_path / "_database.yaml").write_text("schema: 1\nversion: '1'\n")
    profile = {"name": "x", "vendor": "HP", "match": [{"manufacturer": "HP"}], "ews": ews}
    (tmp_path / "x.yaml").write_text(yaml.safe_dump({"profiles": [profile]}))


@pytest.mark.parametrize(
    ("ews", "expected"),
    [
        ({"pages": []}, "profiles[0].ews.pages: an ews section needs at least one page"),
        (
            {"pages": [{"path": "http://evil/x", "format": "xml", "counters": []}]},
            "profiles[0].ews.pages[0].path: must be a path on the device",
        ),
        (
            {"pages": [{"path": "/x", "format": "pdf"}]},
            "profiles[0].ews.pages[0].format: must be one of xml, html, json, csv",
        ),
        (
            {
                "pages": [
                    {
                        "path": "/x",
                        "format": "xml",
                        "counters": [{"name": "total", "select": "a[["}],
                    }
                ]
            },
            "profiles[0].ews.pages[0].counters[0].select: not an ElementTree path",
        ),
        (
            {
                "pages": [
                    {"path": "/x", "format": "xml", "counters": [{"name": "pages", "select": "a"}]}
                ]
            },
            "profiles[0].ews.pages[0].counters[0].name: must be a vocabulary counter name",
        ),
        (
            {
                "pages": [
                    {"path": "/x", "format": "json", "counters": [{"name": "total", "label": "a"}]}
                ]
            },
            "'label' is for html",
        ),
        (
            {"pages": [{"path": "/x", "format": "xml", "identity": {"colour": "a"}}]},
            "unknown identity field 'colour'",
        ),
        (
            {
                "pages": [
                    {"path": "/x", "format": "xml", "supplies": [{"each": "I", "serial": "S"}]}
                ]
            },
            "supplies[0].color: is required",
        ),
        (
            {
                "pages": [
                    {
                        "path": "/x",
                        "format": "xml",
                        "counters": [{"name": "total", "select": "a", "oid": "1.3"}],
                    }
                ]
            },
            "counters[0].oid: unknown key",
        ),
    ],
)
def test_a_bad_ews_section_names_the_path_and_the_value(
    tmp_path: Path, ews: Any, expected: str
) -> None:
    _database(tmp_path, ews)
    with pytest.raises(ProfileError) as info:
        load_database(base_dir=tmp_path)
    assert any(expected in line for line in info.value.problems), info.value.problems


# --- merge: SNMP first ---------------------------------------------------------------


def _spec(name: str) -> EwsSpec:
    profile = load_database().get(name)
    assert profile is not None
    assert profile.ews is not None
    return profile.ews


def _supply(index: int, color: str, **changes: Any) -> Supply:
    return Supply(
        index,
        f"{color} toner",
        "toner",
        color,
        "consumed",
        "percent",
        50,
        100,
        0.5,
        "ok",
        **changes,
    )


def test_a_complete_read_wants_no_page() -> None:
    spec = _spec("brother")
    snap = Snapshot(
        "t",
        "now",
        0.0,
        True,
        identity=Identity(model="m", serial="s", firmware="f"),
        counters=tuple(
            Counter(c.name, 1, c.unit, "snmp") for page in spec.pages for c in page.counters
        ),
    )
    assert wanted(snap, spec) == ()


def test_merge_never_replaces_and_drops_a_part_meter_over_the_total() -> None:
    spec = _spec("hp")
    usage = spec.pages[0]
    body = hp_page("ProductUsageDyn.xml").replace(
        b"<dd:ColorImpressions>5500<", b"<dd:ColorImpressions>999999<"
    )
    snap = Snapshot(
        "t", "now", 0.0, True, counters=(Counter("total", 20400, "impressions", "1.3.6"),)
    )
    merged = merge(snap, [usage], {usage.path: parse("xml", body)})
    by_name = {c.name: c for c in merged.counters}
    assert by_name["total"].source == "1.3.6"  # SNMP's stays
    assert "color" not in by_name  # 999999 > the total: a wrong selector on this model
    assert any("color 999999" in w and "dropped" in w for w in merged.warnings)
    assert by_name["mono"].value == 15000


def test_a_counter_that_is_not_a_number_costs_only_itself() -> None:
    spec = _spec("hp")
    usage = spec.pages[0]
    body = hp_page("ProductUsageDyn.xml").replace(b">15000<", b">n/a<")
    merged = merge(Snapshot("t", "now", 0.0, True), [usage], {usage.path: parse("xml", body)})
    names = {c.name for c in merged.counters}
    assert "mono" not in names
    assert "total" in names
    assert any("'n/a' is not a meter; mono not read" in w for w in merged.warnings)


def test_cartridges_match_one_supply_each_by_colour_and_keep_known_values() -> None:
    spec = _spec("hp")
    page = spec.pages[1]
    supplies = (
        _supply(1, "black", part_number="SNMPPART"),
        _supply(2, "cyan"),
        _supply(3, "magenta"),
        _supply(4, "magenta"),  # two magentas: the page's cartridge names neither
    )
    snap = Snapshot("t", "now", 0.0, True, supplies=supplies)
    merged = merge(snap, [page], {page.path: parse("xml", hp_page("ConsumableConfigDyn.xml"))})
    black, cyan, magenta, magenta2 = merged.supplies
    assert (black.part_number, black.serial) == ("SNMPPART", "KSERIAL0001")
    assert (cyan.part_number, cyan.serial) == ("TESTC01A", "CSERIAL0001")
    assert magenta.serial is None
    assert magenta2.serial is None
    fields = [s.field for s in merged.sources]
    assert "supplies[1].part_number" not in fields  # SNMP's part number stays
    assert "supplies[1].serial" in fields
