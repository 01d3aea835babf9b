"""Maker, brand and model from what a printer says about itself (exporter.readers.vendors)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.readers.manufacturer import (
    best_manufacturer,
    enterprise_number,
    manufacturer_from_sys_object_id,
    manufacturer_from_text,
    model_from_sys_descr,
    normalize_manufacturer,
    strip_manufacturer_prefix,
)
from exporter.readers.vendors import (
    BRAND_PARENT,
    DEVICE_ID_OIDS,
    ENTERPRISES,
    MAKER_NAMES,
    NIC_ENTERPRISES,
    PRINTER_PRODUCT_SUBTREES,
    SERIES_NAMES,
    UNREGISTERED_ENTERPRISES,
    parent_manufacturer,
)

# --- data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "maker"),
    [
        (11, "HP"),
        (236, "Samsung"),
        (253, "Xerox"),
        (297, "Fujifilm"),
        (367, "Ricoh"),
        (641, "Lexmark"),
        (674, "Dell"),
        (1129, "Toshiba"),
        (1248, "Epson"),
        (1347, "Kyocera"),
        (1602, "Canon"),
        (2001, "OKI"),
        (2385, "Sharp"),
        (2435, "Brother"),
        (2590, "Konica Minolta"),
        (18334, "Konica Minolta"),
        (10642, "Zebra"),
        (40093, "Pantum"),
    ],
)
def test_enterprise_numbers(number: int, maker: str) -> None:
    assert ENTERPRISES[number] == maker


def test_no_enterprise_for_print_server_makers_or_unregistered_numbers() -> None:
    # Print-server makers name the NIC, not the printer; 51966 is not TSC's;
    # 2699 is the Printer Working Group.
    for number in (*NIC_ENTERPRISES, 51966, 2699):
        assert number not in ENTERPRISES


def test_every_name_is_canonical() -> None:
    makers = set(MAKER_NAMES)
    assert set(ENTERPRISES.values()) <= makers
    assert set(UNREGISTERED_ENTERPRISES.values()) <= makers
    assert not set(UNREGISTERED_ENTERPRISES) & set(ENTERPRISES)
    assert set(SERIES_NAMES) <= makers
    assert set(BRAND_PARENT) <= makers
    assert set(BRAND_PARENT.values()) <= makers
    # A parent is a maker in its own right, never another OEM brand.
    assert not set(BRAND_PARENT.values()) & set(BRAND_PARENT)


def test_device_id_oids_start_with_the_standard_and_are_distinct() -> None:
    assert DEVICE_ID_OIDS[0] == (1, 3, 6, 1, 4, 1, 2699, 1, 2, 1, 2, 1, 1, 3)
    assert len(set(DEVICE_ID_OIDS)) == len(DEVICE_ID_OIDS)
    assert all(oid[:6] == (1, 3, 6, 1, 4, 1) for oid in DEVICE_ID_OIDS)


def test_printer_product_subtrees_are_products_of_printer_makers() -> None:
    """Never a whole enterprise (HP's 11 is also switches); always a maker we know."""
    assert len(set(PRINTER_PRODUCT_SUBTREES)) == len(PRINTER_PRODUCT_SUBTREES)
    for subtree in PRINTER_PRODUCT_SUBTREES:
        assert subtree[:6] == (1, 3, 6, 1, 4, 1)
        assert len(subtree) > 7, f"{subtree} is a whole enterprise"
        assert ENTERPRISES.get(subtree[6]) is not None
        assert subtree[6] not in NIC_ENTERPRISES


def test_vendors_is_a_leaf_module() -> None:
    """Vendor knowledge sits at the bottom: vendors.py imports nothing from the exporter,
    so every layer (discovery, readers, profiles) can read it."""
    source = Path(__file__).resolve().parents[2] / "exporter" / "readers" / "vendors.py"
    tree = ast.parse(source.read_text())
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):  # a relative import is one of ours
            imported.append("exporter" if node.level else node.module or "")
    assert imported, "the walk found no import at all"
    assert [name for name in imported if name.split(".")[0] == "exporter"] == []


@pytest.mark.parametrize(
    ("brand", "parent"),
    [
        ("Savin", "Ricoh"),
        ("Lanier", "Ricoh"),
        ("Gestetner", "Ricoh"),
        ("NRG", "Ricoh"),
        ("UTAX", "Kyocera"),
        ("TA Triumph-Adler", "Kyocera"),
        ("Copystar", "Kyocera"),
        ("Develop", "Konica Minolta"),
        ("Ricoh", "Ricoh"),
        ("Dell", "Dell"),
    ],
)
def test_parent_manufacturer(brand: str, parent: str) -> None:
    assert parent_manufacturer(brand) == parent


def test_parent_of_nothing() -> None:
    assert parent_manufacturer(None) is None


# --- normalize_manufacturer ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "maker"),
    [
        ("Hewlett-Packard", "HP"),
        ("HEWLETT-PACKARD", "HP"),
        ("Hewlett Packard", "HP"),
        ("HP", "HP"),
        ("hp", "HP"),
        ("HP Inc.", "HP"),
        ("KYOCERA Document Solutions Inc.", "Kyocera"),
        ("KYOCERA MITA", "Kyocera"),
        ("Kyocera", "Kyocera"),
        ("FUJI XEROX", "Fujifilm"),
        ("Fuji Xerox Co., Ltd.", "Fujifilm"),
        ("FUJIFILM", "Fujifilm"),
        ("FUJIFILM Business Innovation Corp.", "Fujifilm"),
        ("Konica Minolta", "Konica Minolta"),
        ("KONICA MINOLTA", "Konica Minolta"),
        ("Minolta", "Konica Minolta"),
        ("Brother Industries", "Brother"),
        ("brother", "Brother"),
        ("EPSON", "Epson"),
        ("Seiko Epson Corporation", "Epson"),
        ("Samsung Electronics", "Samsung"),
        ("OKI DATA", "OKI"),
        ("OKIDATA", "OKI"),
        ("TOSHIBA TEC", "Toshiba"),
        ("Toshiba TEC", "Toshiba"),
        ("Dell", "Dell"),
        ("Lexmark International", "Lexmark"),
        ("SHARP", "Sharp"),
        ("RICOH", "Ricoh"),
        ("Ricoh Company, Ltd.", "Ricoh"),
        ("Canon Inc", "Canon"),
        ("Canon Inc.", "Canon"),
        ("Xerox Corporation", "Xerox"),
        ("The Xerox Corporation", "Xerox"),
        ("Zebra Technologies", "Zebra"),
        ("LANIER", "Lanier"),
        ("Savin", "Savin"),
        ("Develop", "Develop"),
        ("TA Triumph-Adler", "TA Triumph-Adler"),
        ("Triumph Adler", "TA Triumph-Adler"),
        ("UTAX", "UTAX"),
        ("  Pantum  ", "Pantum"),
        ('"Lexmark"', "Lexmark"),
    ],
)
def test_normalize_manufacturer(text: str, maker: str) -> None:
    assert normalize_manufacturer(text) == maker


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "Generic",
        "Unknown",
        "TEC",
        "Fuji",
        "LaserJet",  # a series, not a maker
        "bizhub",
        "Network Printer by HP",  # the maker must come first
        "HPE-like",
        "Zebras",
    ],
)
def test_normalize_manufacturer_unknown(text: str | None) -> None:
    assert normalize_manufacturer(text) is None


# --- manufacturer_from_text -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "maker"),
    [
        ("RICOH Aficio MP C3002 2.20 / RICOH Network Printer C model", "Ricoh"),
        ("HP ETHERNET MULTI-ENVIRONMENT,ROM J.sp.00,JETDIRECT EX", "HP"),
        ("KYOCERA Document Solutions Printing System", "Kyocera"),
        ("Brother NC-8300w, Firmware Ver.1.04", "Brother"),
        ("Canon iR-ADV C5535 /P", "Canon"),
        ("Xerox AltaLink C8045; SS 100.002.057", "Xerox"),
        ("SHARP MX-3570N", "Sharp"),
        ("Dell Color Laser 3110cn", "Dell"),
        ("Lexmark CX725", "Lexmark"),
        ("TOSHIBA e-STUDIO", "Toshiba"),
        ("TOSHIBA TEC B-EV4", "Toshiba"),
        ("EPSON AL-CX11", "Epson"),
        ("Samsung SCX-4x28", "Samsung"),
        ("OKI MC342", "OKI"),
        ("Develop ineo+ 280", "Develop"),
        ("KONICA MINOLTA bizhub C3110", "Konica Minolta"),
        ("FUJI XEROX DocuPrint CM305 df", "Fujifilm"),  # not Xerox: the earliest name wins
        ("FUJIFILM Apeos C5570", "Fujifilm"),
        ("LANIER MP C3501/LD635C 2.01", "Lanier"),
        ("Gestetner MPC2500 1.71 / Gestetner Network Printer", "Gestetner"),
        ("TA_UTAX Printing System", "UTAX"),  # underscore is a word break
        ("Printer made by Lexmark", "Lexmark"),
        # series names alone
        ("HP LaserJet 400", "HP"),
        ("Color LaserJet Pro M252dw", "HP"),
        ("OfficeJet Pro 8720", "HP"),
        ("DeskJet 2630", "HP"),
        ("ENVY 6000 All-in-One Printer series", "HP"),
        ("bizhub C258", "Konica Minolta"),
        ("ineo 224e", "Develop"),
        ("imageRUNNER ADVANCE C5535i", "Canon"),
        ("i-SENSYS MF643Cdw", "Canon"),
        ("iR-ADV C3530", "Canon"),
        ("ECOSYS P2040dw", "Kyocera"),
        ("TASKalfa 3252ci", "Kyocera"),
        ("WorkCentre 7845", "Xerox"),
        ("VersaLink C405", "Xerox"),
        ("Phaser 6510", "Xerox"),
        ("ApeosPort-VI C4471", "Fujifilm"),
        ("DocuCentre-V 3065", "Fujifilm"),
        ("Aficio SP C231SF", "Ricoh"),
        ("e-STUDIO305CS", "Toshiba"),  # series runs straight into digits
        ("WorkForce Pro WF-C5790", "Epson"),
        ("SureColor SC-T3405", "Epson"),
        ("ColorWorks CW-C6500Au", "Epson"),
        ("ZebraNet Wired PS", "Zebra"),
        ("ZTC GK420d", "Zebra"),
        # model-number shapes
        ("FS-1028MFP", "Kyocera"),
        ("FS-C5150DN", "Kyocera"),
        ("ML-2851ND", "Samsung"),
        ("CLX-3170 Series", "Samsung"),
        ("SL-M2020W", "Samsung"),
        ("MX-C301W", "Sharp"),
        ("TTP244CE Version: 7.02 EZD", "TSC"),
        ("TTP-2410M Pro", "TSC"),
    ],
)
def test_manufacturer_from_text(text: str, maker: str) -> None:
    assert manufacturer_from_text(text) == maker


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "Linux printserver 4.19",
        "Generic 28C-1",
        "P-4532DN",
        "DS-860",
        "Zebrafish",  # "Zebra" must stand alone
        "HPB7246C",  # "HP" inside a word
        "NPI3C2AF4HP",
        "SHPX",
        "development board",  # "Develop" as an English word
        "we develop drivers",  # lower-case common word is not the brand
        "a sharp image",
        "canon law",
        "envy",
        "Modell 5",  # "dell" inside a word
        "Axis 5600+ Network Print Server",  # a print-server maker is not a printer maker
        "SEH PS1103",
    ],
)
def test_manufacturer_from_text_none(text: str | None) -> None:
    assert manufacturer_from_text(text) is None


def test_zebra_kiosk_is_not_tsc() -> None:
    assert manufacturer_from_text("TTP 2030") is None
    assert manufacturer_from_text("Zebra TTP 2030") == "Zebra"


def test_earliest_name_wins() -> None:
    assert manufacturer_from_text("Brother MFC-9970CDW via HP JetDirect") == "Brother"
    assert manufacturer_from_text("JetDirect in a Brother") == "HP"


def test_only_the_start_of_a_long_text_is_searched() -> None:
    assert manufacturer_from_text("x " * 5000 + "Ricoh") is None


# --- sysObjectID -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("oid", "maker"),
    [
        ("1.3.6.1.4.1.367.1.1", "Ricoh"),
        (".1.3.6.1.4.1.2435.2.3.9.1", "Brother"),
        ("1.3.6.1.4.1.11.2.3.9.1", "HP"),
        ("1.3.6.1.4.1.11.1", "HP"),
        ("1.3.6.1.4.1.1347.41", "Kyocera"),
        ("1.3.6.1.4.1.18334.1.1.1.2.1.117.2.2", "Konica Minolta"),
        ("1.3.6.1.4.1.297.1.11.93.1.35.34.7.1", "Fujifilm"),
        ("1.3.6.1.4.1.1129.1.2.1", "Toshiba"),
        ("1.3.6.1.4.1.641", "Lexmark"),
        (" 1.3.6.1.4.1.10642.1.1 ", "Zebra"),
        ((1, 3, 6, 1, 4, 1, 253, 8, 62), "Xerox"),
        ((1, 3, 6, 1, 4, 1, 2001), "OKI"),
        ("1.3.6.1.4.1.51966.2.6", "TSC"),  # used by TSC firmware, not registered to TSC
    ],
)
def test_manufacturer_from_sys_object_id(oid: str | tuple[int, ...], maker: str) -> None:
    assert manufacturer_from_sys_object_id(oid) == maker


@pytest.mark.parametrize(
    "oid",
    [
        None,
        "",
        "0.0",
        "1.3.6.1.4.1",
        "1.3.6.1.2.1.1.2.0",
        "1.3.6.1.4.1.683.6.0",  # Extended Systems print server
        "1.3.6.1.4.1.99999999",
        "1.3.6.1.4.1.abc",
        "1.3.6..1.4.1.11",
        "iso.3.6.1.4.1.11",
        "1.3.6.1.4.1.١١",  # non-ASCII digits
        (1, 3, 6, 1, 4),
        (),
    ],
)
def test_manufacturer_from_sys_object_id_none(oid: str | tuple[int, ...] | None) -> None:
    assert manufacturer_from_sys_object_id(oid) is None


@pytest.mark.parametrize(
    ("oid", "number"),
    [("1.3.6.1.4.1.367.1.1", 367), ((1, 3, 6, 1, 4, 1, 0), 0), ("1.3.6.1.2.1", None)],
)
def test_enterprise_number(oid: str | tuple[int, ...], number: int | None) -> None:
    assert enterprise_number(oid) == number


# --- precedence --------------------------------------------------------------------------


def test_best_manufacturer_prefers_1284_then_hr_then_sys_descr_then_oid() -> None:
    assert (
        best_manufacturer(
            device_id_mfg="Brother",
            hr_device_descrs=["Lexmark X"],
            sys_descr="HP ETHERNET MULTI-ENVIRONMENT",
            sys_object_id="1.3.6.1.4.1.11.2.3.9.1",
        )
        == "Brother"
    )
    assert (
        best_manufacturer(
            device_id_mfg="Generic",
            hr_device_descrs=[None, "Brother MFC-7820N"],
            sys_descr="HP ETHERNET MULTI-ENVIRONMENT",
            sys_object_id="1.3.6.1.4.1.11.2.3.9.1",
        )
        == "Brother"
    )
    # A JetDirect sysDescr beats a sysObjectID that names another maker.
    assert (
        best_manufacturer(
            sys_descr="HP ETHERNET MULTI-ENVIRONMENT,ROM J.sp.00,JETDIRECT EX",
            sys_object_id="1.3.6.1.4.1.1347.41",
        )
        == "HP"
    )
    # OEM firmware: the enterprise is the engine maker's, the text is the brand's.
    assert (
        best_manufacturer(
            sys_descr="TOSHIBA e-STUDIO305CS version NH63.GM.N639",
            sys_object_id="1.3.6.1.4.1.641.2.71107164",
        )
        == "Toshiba"
    )
    assert best_manufacturer(sys_object_id="1.3.6.1.4.1.11.1") == "HP"
    assert best_manufacturer() is None


# --- model -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("descr", "maker", "model"),
    [
        (
            "RICOH Aficio MP C3002 2.20 / RICOH Network Printer C model / RICOH Network Scanner",
            "Ricoh",
            "Aficio MP C3002",
        ),
        ("RICOH IM C3000 1.09 / RICOH Network Printer C model", "Ricoh", "IM C3000"),
        ("Savin C3502 3.01 / Savin Network Printer C model", "Savin", "C3502"),
        ("NRG SP 4210N 1.05 / NRG Network Printer C model", "NRG", "SP 4210N"),
        ("Xerox AltaLink C8045; SS 100.002.057.09608, NC 100.002", "Xerox", "AltaLink C8045"),
        ("Xerox WorkCentre 7845 v1; SS 073.040.075", "Xerox", "WorkCentre 7845"),
        ("Xerox Color 570;System 55.40.61,ESS1.208.6", "Xerox", "Color 570"),
        ("FUJI XEROX ApeosPort-VI C4471;ESS1.0.217,IOT 52.54.1", "Fujifilm", "ApeosPort-VI C4471"),
        ("FUJIFILM Apeos C7580", "Fujifilm", "Apeos C7580"),
        ("Canon LBP6670 /P", "Canon", "LBP6670"),
        ("Canon iR-ADV C5535 /P", "Canon", "iR-ADV C5535"),
        ("Dell B3460dn Laser Printer version NH5.CY.N543 kernel 3.0.0", "Dell", "B3460dn"),
        ("Lexmark CX725de version CXTPC.230.037 kernel 4.11.12", "Lexmark", "CX725de"),
        ("TOSHIBA e-STUDIO305CS version NH63.GM.N639 kernel 3.0.0", "Toshiba", "e-STUDIO305CS"),
        ("TOSHIBA TEC B-EV4", "Toshiba", "B-EV4"),
        (
            "Samsung ML-2850 Series OS 1.01.15.47 02-10-2010;Engine 1.01.25",
            "Samsung",
            "ML-2850 Series",
        ),
        ("Samsung CLX-3170 Series;V1.00.01.64 Sep-27-2010", "Samsung", "CLX-3170 Series"),
        ("SHARP MX-3570N", "Sharp", "MX-3570N"),
        ("KONICA MINOLTA bizhub C3110", "Konica Minolta", "bizhub C3110"),
        ("Develop ineo  280", "Develop", "ineo 280"),
        ("Develop ineo  280", "Konica Minolta", "ineo 280"),  # same engine maker
        ("TTP244CE Version: 7.02 EZD", "TSC", "TTP244CE"),
        (
            "OKI OkiLAN 8500e Rev.01.23 10/100BASE Ethernet PrintServer: Attached to MC342 Rev.2",
            "OKI",
            "MC342",
        ),
        (
            "HP ETHERNET MULTI-ENVIRONMENT,SN:XX0000,FN:1F31B6C,SVCID:1,PID:HP LaserJet MFP M130nw",
            "HP",
            "LaserJet MFP M130nw",
        ),
        ("Canon LBP6670 /P", None, "LBP6670"),
        ("Xerox DocuPrint N2125 Network Laser Printer - 2.12-02 ", "Xerox", "DocuPrint N2125"),
        ("Xerox Phaser 6180MFP-D; Net 11.74,ESS 200802151717", "Xerox", "Phaser 6180MFP-D"),
        ("Lexmark T622 version 54.30.06 kernel 2.4.0-test6 All-N-1", "Lexmark", "T622"),
        ("Dell Laser Printer M5200 version 55.10.14", "Dell", "Laser Printer M5200"),
        ("EPSON AL-C3900", "Epson", "AL-C3900"),
    ],
)
def test_model_from_sys_descr(descr: str, maker: str | None, model: str) -> None:
    assert model_from_sys_descr(descr, maker) == model


@pytest.mark.parametrize(
    ("descr", "maker"),
    [
        (None, "HP"),
        ("", None),
        ("HP ETHERNET MULTI-ENVIRONMENT,ROM J.sp.00,JETDIRECT EX,JD28 EEPROM 5.58", "HP"),
        # a user-set name in the JetDirect PID field, not a product
        ("HP ETHERNET MULTI-ENVIRONMENT,SN:XX0,FN:1,SVCID:2,PID:Purchasing Color Laser", "HP"),
        ("HP ETHERNET MULTI-ENVIRONMENT,SN:XX0,PID:Room 101", "HP"),
        ("Brother NC-8300h, Firmware Ver.1.14  (14.11.06),MID 8C5-F01,FID 2", "Brother"),
        ("KYOCERA Document Solutions Printing System", "Kyocera"),
        ("KYOCERA MITA Printing System", "Kyocera"),
        ("TA_UTAX Printing System", "UTAX"),
        ("EPSON Built-in 10Base-T/100Base-TX Print Server", "Epson"),
        ("EPSON 10/100/1000 Ethernet USB Ext. Scan Server", "Epson"),
        ("ZebraNet Wired PS", "Zebra"),
        ("Zebra Wired", "Zebra"),
        ("Samsung C", "Samsung"),
        ("Dell Color Laser", "Dell"),
        ("Canon MF", "Canon"),
        # describes another maker's device: do not guess
        ("HP ETHERNET MULTI-ENVIRONMENT", "Brother"),
        ("Lexmark MS810 version LW80", "Toshiba"),
        ("Linux printserver 4.19", None),
        ("x" * 200 + "1", None),
    ],
)
def test_model_from_sys_descr_none(descr: str | None, maker: str | None) -> None:
    assert model_from_sys_descr(descr, maker) is None


@pytest.mark.parametrize(
    ("text", "maker", "rest"),
    [
        ("KONICA MINOLTA bizhub C3110", "Konica Minolta", "bizhub C3110"),
        ("KONICA MINOLTA bizhub C3110", None, "bizhub C3110"),
        ("FUJI XEROX DocuPrint CM305 df", "Fujifilm", "DocuPrint CM305 df"),
        ("TOSHIBA TEC B-SX5T", "Toshiba", "B-SX5T"),
        ("HP LaserJet MFP M129-M134", "HP", "LaserJet MFP M129-M134"),
        ("Hewlett-Packard Color LaserJet M452nw", "HP", "Color LaserJet M452nw"),
        ("ZTC TLP 2824 Plus", "Zebra", "TLP 2824 Plus"),
        ("Develop ineo+ 280", "Konica Minolta", "ineo+ 280"),
        ("ECOSYS P2040dw", "Kyocera", "ECOSYS P2040dw"),  # no maker name to strip
        ("Brother MFC-7820N", "HP", "Brother MFC-7820N"),  # another maker: unchanged
        ("RICOH", "Ricoh", None),
        ("", "Ricoh", None),
        (None, None, None),
    ],
)
def test_strip_manufacturer_prefix(text: str | None, maker: str | None, rest: str | None) -> None:
    assert strip_manufacturer_prefix(text, maker) == rest


# --- robustness --------------------------------------------------------------------------


@given(st.text(max_size=300), st.one_of(st.none(), st.sampled_from(sorted(MAKER_NAMES))))
def test_text_functions_never_raise(text: str, maker: str | None) -> None:
    for found in (normalize_manufacturer(text), manufacturer_from_text(text)):
        assert found is None or found in MAKER_NAMES
    model = model_from_sys_descr(text, maker)
    assert model is None or (model and model == model.strip())
    strip_manufacturer_prefix(text, maker)


@given(
    st.one_of(
        st.none(),
        st.text(max_size=80),
        st.from_regex(r"\A\.?1\.3\.6\.1\.4\.1(\.[0-9]{1,12}){0,6}\Z"),
        st.lists(st.integers(min_value=0, max_value=2**32), max_size=12).map(tuple),
    )
)
def test_sys_object_id_never_raises(oid: str | tuple[int, ...] | None) -> None:
    found = manufacturer_from_sys_object_id(oid)
    assert found is None or found in MAKER_NAMES
    number = enterprise_number(oid)
    assert number is None or number >= 0
