"""Who made a printer, and what says a device is one: enterprise numbers, product
subtrees, the places of the IEEE 1284 device ID, maker and brand names, series names.

Pure functions and data, no SNMP. The identity reader feeds them what the
device says about itself and keeps the first answer, in this order:

1. **IEEE 1284 device ID, MFG** (`normalize_manufacturer`). The print engine's
   firmware writes it for drivers, so it names the engine's brand even when a
   third-party network card answers SNMP. The string lives in several places:
   PWG's ppmPrinterIEEE1284DeviceId (1.3.6.1.4.1.2699.1.2.1.2.1.1.3.x) and
   vendor copies (HP 1.3.6.1.4.1.11.2.3.9.1.1.7.0, which Brother and Zebra
   also fill; Brother 2435.2.3.9.1.1.7.0; Epson 1248.1.2.2.1.1.1.1.x;
   Kyocera 1347.40.1.1.1.8.x; Xerox 253.8.51.1.2.1.20.x; Samsung
   236.11.5.1.1.1.26.0; Zebra 10642.1.3.0): walk `DEVICE_ID_OIDS` in order.
   Zebra spells the keys MANUFACTURER/MODEL.
2. **hrDeviceDescr of the printer row** (`manufacturer_from_text`): written by
   the printer itself, usually "<maker> <model>".
3. **sysDescr** (`manufacturer_from_text`): often describes the network
   interface, not the printer ("HP ETHERNET MULTI-ENVIRONMENT" is a JetDirect,
   "Brother NC-8300h" a Brother print server, "EPSON Built-in ... Print
   Server"), but the interface is almost always the printer maker's own.
4. **sysObjectID enterprise** (`manufacturer_from_sys_object_id`), last:
   HP's JetDirect product OID 1.3.6.1.4.1.11.2.3.9.1 is reported by printers
   of other makers that emulate JetDirect, OEM firmware keeps the engine
   maker's number (a Toshiba e-STUDIO on Lexmark firmware reports 641), and
   some print servers report their own maker (NIC_ENTERPRISES).
   `best_manufacturer` applies this order.

Naming. One short canonical name per maker, as an MPS dealer writes it. A
company that was *renamed or merged* gets its current name: Fuji Xerox
became FUJIFILM Business Innovation in April 2021 (IANA lists 297 under that
name), kept the same enterprise number, MIB and product lines, and is
serviced as Fujifilm, so "FUJI XEROX" reads "Fujifilm". In the same way,
Konica, Minolta and QMS read "Konica Minolta", Mita and Kyocera Mita
"Kyocera", Tec and Toshiba TEC "Toshiba", Oki Data "OKI" and Matsushita
"Panasonic". The raw sysDescr stays in the snapshot for anyone who needs the
nameplate. An *OEM brand* that is sold alongside its maker's own (Savin,
Lanier, Gestetner, NRG, UTAX, TA Triumph-Adler, Copystar, Develop...) keeps
its name, since that is what is on the device and in the contract, and
`BRAND_PARENT` names the maker whose firmware, MIB and vendor profile it
shares.

Traps seen in real recordings (see docs/research/identity.md):
- A recording whose sysDescr is an HP JetDirect EX print server but whose
  sysObjectID is Kyocera's 1.3.6.1.4.1.1347.41: text beats the enterprise.
- A Brother MFC whose sysObjectID is HP's JetDirect OID 1.3.6.1.4.1.11.2.3.9.1.
- A Toshiba e-STUDIO on Lexmark firmware reporting Lexmark's 641 subtree.
- A Zebra whose sysObjectID is Extended Systems' 683 (the print-server maker)
  and which fills HP's 1284 OID.
- A TSC label printer whose sysObjectID uses 51966, which IANA assigns to
  another company (see UNREGISTERED_ENTERPRISES); its sysDescr names no
  maker, only the series "TTP244CE".
- A recording that mixes two devices: sysDescr "KONICA MINOLTA bizhub C3110",
  Konica Minolta's model OID "Develop ineo+ 280". Both are the same engine.
- "TA_UTAX Printing System": the underscore is a word break here, and the
  one firmware label serves both UTAX and TA Triumph-Adler; it reads "UTAX".
- A 1284 MDL that disagrees with hrDeviceDescr on the same Brother device.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

# --- canonical names ------------------------------------------------------------

HP: Final = "HP"
RICOH: Final = "Ricoh"
KYOCERA: Final = "Kyocera"
CANON: Final = "Canon"
XEROX: Final = "Xerox"
FUJIFILM: Final = "Fujifilm"
KONICA_MINOLTA: Final = "Konica Minolta"
SHARP: Final = "Sharp"
BROTHER: Final = "Brother"
LEXMARK: Final = "Lexmark"
EPSON: Final = "Epson"
SAMSUNG: Final = "Samsung"
OKI: Final = "OKI"
TOSHIBA: Final = "Toshiba"
DELL: Final = "Dell"
ZEBRA: Final = "Zebra"
PANASONIC: Final = "Panasonic"
MURATEC: Final = "Muratec"
OLIVETTI: Final = "Olivetti"
SINDOH: Final = "Sindoh"
PANTUM: Final = "Pantum"
RISO: Final = "Riso"
OCE: Final = "Océ"
INTERMEC: Final = "Intermec"
HONEYWELL: Final = "Honeywell"
PRINTRONIX: Final = "Printronix"
SATO: Final = "SATO"
CITIZEN: Final = "Citizen"
DATAMAX: Final = "Datamax"
BIXOLON: Final = "Bixolon"
ARGOX: Final = "Argox"
TSC: Final = "TSC"
# OEM brands
SAVIN: Final = "Savin"
LANIER: Final = "Lanier"
GESTETNER: Final = "Gestetner"
NRG: Final = "NRG"
NASHUATEC: Final = "Nashuatec"
REX_ROTARY: Final = "Rex-Rotary"
INFOTEC: Final = "Infotec"
UTAX: Final = "UTAX"
TRIUMPH_ADLER: Final = "TA Triumph-Adler"
COPYSTAR: Final = "Copystar"
DEVELOP: Final = "Develop"

# --- enterprise numbers -----------------------------------------------------------

ENTERPRISES: Mapping[int, str] = MappingProxyType(
    {
        # Every number checked against the IANA Private Enterprise Numbers
        # registry; the comment is the registrant as IANA lists it.
        11: HP,  # Hewlett-Packard (HP Inc. kept the printers and the number)
        186: TOSHIBA,  # Toshiba Corporation
        236: SAMSUNG,  # Samsung Electronics Co., LTD.
        253: XEROX,  # Xerox
        258: PANASONIC,  # Matsushita Electric Industrial Co., Ltd.
        279: OLIVETTI,  # Olivetti
        297: FUJIFILM,  # FUJIFILM Business Innovation Corp. (formerly Fuji Xerox)
        367: RICOH,  # RICOH Co. Ltd.
        480: KONICA_MINOLTA,  # QMS, Inc. (became Minolta-QMS, then Konica Minolta)
        641: LEXMARK,  # Lexmark International
        666: OKI,  # Oki Electric Industry Co., Ltd. (absorbed Oki Data in 2021)
        674: DELL,  # Dell Inc.
        1129: TOSHIBA,  # Tec Corporation (Toshiba TEC)
        1248: EPSON,  # SEIKO EPSON CORPORATION
        1347: KYOCERA,  # KYOCERA Corporation
        1552: OCE,  # Océ Technologies BV
        1602: CANON,  # CANON Inc.
        1963: INTERMEC,  # Intermec Technologies Corp.
        2001: OKI,  # Oki Data Corporation
        2364: KONICA_MINOLTA,  # Konica Corporation
        2385: SHARP,  # SHARP Corporation
        2435: BROTHER,  # Brother Industries, Ltd.
        2590: KONICA_MINOLTA,  # Minolta Co., Ltd.
        3793: LANIER,  # Lanier Worldwide, Inc.
        4206: KYOCERA,  # MITA Industrial Co., Ltd. (became Kyocera Mita)
        4322: MURATEC,  # Murata Machinery, Ltd.
        9514: KONICA_MINOLTA,  # Konica Business Technologies, Inc.
        10504: PRINTRONIX,  # Printronix, Inc.
        10642: ZEBRA,  # Zebra Technologies Corporation
        10917: DATAMAX,  # Datamax Coporation [sic]
        12911: OCE,  # Oce NV
        18334: KONICA_MINOLTA,  # KONICA MINOLTA HOLDINGS, INC.
        22163: RICOH,  # Ricoh Printing Systems, Ltd.
        24807: RISO,  # RISO KAGAKU CORPORATION
        25278: CANON,  # Canon Electronics Inc. (imageFORMULA network scanners)
        26270: OLIVETTI,  # Olivetti S.p.a
        27278: SINDOH,  # Sindoh Co., Ltd.
        28708: FUJIFILM,  # FUJIFILM Corporation
        33241: CITIZEN,  # CITIZEN SYSTEMS JAPAN CO., LTD.
        33550: BIXOLON,  # BIXOLON Co., Ltd.
        36149: ARGOX,  # Argox Information Co., Ltd.
        40093: PANTUM,  # Zhuhai Seine Technology Co., Ltd (Pantum's parent; Pantum MIB root)
        42406: SATO,  # SATO Corporation
        50919: KONICA_MINOLTA,  # KONICA MINOLTA, INC.
    }
)
"""Printer-relevant IANA private enterprise numbers -> canonical maker.

Left out on purpose: TSC (no registration found; its printers use 51966,
which IANA assigns to an unrelated company: see UNREGISTERED_ENTERPRISES),
Develop, UTAX, Triumph-Adler, Copystar, Savin, Gestetner and NRG (no numbers
of their own: they report the engine maker's), and 2699 (the Printer Working
Group, whose MIBs every maker implements).
"""

UNREGISTERED_ENTERPRISES: Mapping[int, str] = MappingProxyType(
    {
        51966: TSC,  # 0xCAFE; IANA assigns it to an unrelated company
    }
)
"""Numbers a maker's firmware uses without holding them, seen on real devices.

Consulted after ENTERPRISES. TSC label printers report 1.3.6.1.4.1.51966.x
(LibreNMS identifies TSC by that prefix alone, and a TTP-244CE recording
does so).
"""

NIC_ENTERPRISES: Mapping[int, str] = MappingProxyType(
    {
        244: "Lantronix",
        368: "Axis Communications",
        683: "Extended Systems",  # built ZebraNet and other OEM print servers
        1229: "SEH Computertechnik",
        1240: "Silex Technology",  # formerly XCD; print servers, Brother NCs carry its MIB
    }
)
"""Enterprises of print-server makers: a sysObjectID under these names the
network interface, never the printer behind it."""

DEVICE_ID_OIDS: tuple[tuple[int, ...], ...] = (
    (1, 3, 6, 1, 4, 1, 2699, 1, 2, 1, 2, 1, 1, 3),  # PWG ppmPrinterIEEE1284DeviceId
    (1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1, 1, 7),  # HP JetDirect MIB; Brother and Zebra fill it too
    (1, 3, 6, 1, 4, 1, 2435, 2, 3, 9, 1, 1, 7),  # Brother
    (1, 3, 6, 1, 4, 1, 1248, 1, 2, 2, 1, 1, 1, 1),  # Epson
    (1, 3, 6, 1, 4, 1, 1347, 40, 1, 1, 1, 8),  # Kyocera
    (1, 3, 6, 1, 4, 1, 253, 8, 51, 1, 2, 1, 20),  # Xerox
    (1, 3, 6, 1, 4, 1, 236, 11, 5, 1, 1, 1, 26),  # Samsung
    (1, 3, 6, 1, 4, 1, 10642, 1, 3),  # Zebra (keys MANUFACTURER/MODEL)
    (1, 3, 6, 1, 4, 1, 674, 10898, 100, 2, 1, 2, 1, 3),  # Dell (MODEL only, no MFG)
)
"""Subtrees that hold an IEEE 1284 device ID string, most standard first.

Walk each and take the first non-empty value. Only a few agents implement
the PWG Port Monitor MIB; many printers (every Brother in the corpus) have
their device ID only under a vendor OID.
"""

PRINTER_PRODUCT_SUBTREES: tuple[tuple[int, ...], ...] = (
    (1, 3, 6, 1, 4, 1, 11, 2, 3, 9),  # HP JetDirect / LaserJet / OfficeJet
    (1, 3, 6, 1, 4, 1, 2435, 2, 3, 9),  # Brother
    (1, 3, 6, 1, 4, 1, 236, 11, 5),  # Samsung printers
    (1, 3, 6, 1, 4, 1, 367, 1, 1),  # Ricoh
    (1, 3, 6, 1, 4, 1, 1347, 41),  # Kyocera
    (1, 3, 6, 1, 4, 1, 1248, 1, 2),  # Epson printers
    (1, 3, 6, 1, 4, 1, 253, 8, 62),  # Xerox
    (1, 3, 6, 1, 4, 1, 1602, 4),  # Canon
)
"""sysObjectID subtrees that name printer products: discovery counts an agent
under one as a printer even when it answers none of its standard questions
(hrDevicePrinter, the Printer-MIB, the PWG Port Monitor MIB).

Only product subtrees, never a whole enterprise: HP's and Dell's numbers also
cover switches and servers (an HP switch reports 11.2.3.7), and a sweep that
took an enterprise for a printer would put those on the printer list.
"""

BRAND_PARENT: Mapping[str, str] = MappingProxyType(
    {
        SAVIN: RICOH,
        LANIER: RICOH,
        GESTETNER: RICOH,
        NRG: RICOH,
        NASHUATEC: RICOH,
        REX_ROTARY: RICOH,
        INFOTEC: RICOH,
        UTAX: KYOCERA,
        TRIUMPH_ADLER: KYOCERA,
        COPYSTAR: KYOCERA,
        DEVELOP: KONICA_MINOLTA,
    }
)
"""OEM brand -> the maker whose engine, firmware and MIBs it uses.

Only single-source brands are here. Dell (Lexmark, Fuji Xerox, Samsung and
Kyocera engines) and Olivetti (Kyocera and Konica Minolta engines) depend on
the model, so a vendor profile has to match them by model or OID instead.
"""


def parent_manufacturer(name: str | None) -> str | None:
    """The engine maker behind a brand: 'Savin' -> 'Ricoh', 'Ricoh' -> 'Ricoh'."""
    if name is None:
        return None
    return BRAND_PARENT.get(name, name)


# --- names in text ------------------------------------------------------------------

MAKER_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        HP: ("HP", "Hewlett-Packard", "Hewlett Packard", "HP Inc"),
        RICOH: ("Ricoh",),
        KYOCERA: ("Kyocera", "Kyocera Mita", "Kyocera Document Solutions", "Mita"),
        CANON: ("Canon",),
        XEROX: ("Xerox",),
        FUJIFILM: (
            "Fujifilm",
            "Fuji Film",
            "Fuji Xerox",
            "Fuji-Xerox",
            "FujiXerox",
            "Fujifilm Business Innovation",
        ),
        KONICA_MINOLTA: (
            "Konica Minolta",
            "Konica-Minolta",
            "KonicaMinolta",
            "Konica",
            "Minolta",
            "Minolta-QMS",
            "QMS",
        ),
        SHARP: ("Sharp",),
        BROTHER: ("Brother",),
        LEXMARK: ("Lexmark",),
        EPSON: ("Epson", "Seiko Epson", "Seiko-Epson"),
        SAMSUNG: ("Samsung",),
        OKI: ("OKI", "Oki Data", "OkiData", "Oki Electric"),
        TOSHIBA: ("Toshiba", "Toshiba TEC", "Toshiba-TEC"),
        DELL: ("Dell",),
        ZEBRA: ("Zebra", "Zebra Technologies", "ZTC"),  # ZTC: "ZTC GK420d" in 1284 MODEL
        PANASONIC: ("Panasonic", "Matsushita"),
        MURATEC: ("Muratec", "Murata Machinery"),
        OLIVETTI: ("Olivetti",),
        SINDOH: ("Sindoh",),
        PANTUM: ("Pantum",),
        RISO: ("Riso",),
        OCE: ("Océ", "Oce"),
        INTERMEC: ("Intermec",),
        HONEYWELL: ("Honeywell",),
        PRINTRONIX: ("Printronix",),
        SATO: ("SATO",),
        CITIZEN: ("Citizen",),
        DATAMAX: ("Datamax", "Datamax-O'Neil"),
        BIXOLON: ("Bixolon",),
        ARGOX: ("Argox",),
        TSC: ("TSC", "TSC Auto ID"),
        SAVIN: ("Savin",),
        LANIER: ("Lanier",),
        GESTETNER: ("Gestetner",),
        NRG: ("NRG",),
        NASHUATEC: ("Nashuatec",),
        REX_ROTARY: ("Rex-Rotary", "Rex Rotary"),
        INFOTEC: ("Infotec",),
        UTAX: ("UTAX", "TA_UTAX"),
        TRIUMPH_ADLER: ("TA Triumph-Adler", "Triumph-Adler", "Triumph Adler"),
        COPYSTAR: ("Copystar",),
        DEVELOP: ("Develop",),
    }
)
"""Canonical maker -> the spellings of its name (matched case-insensitively)."""

SERIES_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        HP: (
            "LaserJet",
            "OfficeJet",
            "DeskJet",
            "DesignJet",
            "PageWide",
            "PhotoSmart",
            "ScanJet",
            "JetDirect",
            "ENVY",
        ),
        KONICA_MINOLTA: ("bizhub", "magicolor", "PagePro", "AccurioPress", "AccurioPrint"),
        DEVELOP: ("ineo",),
        CANON: (
            "imageRUNNER",
            "iR-ADV",
            "i-SENSYS",
            "imageCLASS",
            "imagePROGRAF",
            "imagePRESS",
            "imageFORMULA",
            "PIXMA",
            "MAXIFY",
        ),
        KYOCERA: ("ECOSYS", "TASKalfa"),
        XEROX: (
            "WorkCentre",
            "AltaLink",
            "VersaLink",
            "Phaser",
            "ColorQube",
            "PrimeLink",
            "DocuColor",
        ),
        FUJIFILM: ("ApeosPort", "ApeosPrint", "Apeos", "DocuCentre", "DocuPrint"),
        RICOH: ("Aficio",),
        TOSHIBA: ("e-STUDIO",),
        EPSON: ("WorkForce", "SureColor", "ColorWorks", "AcuLaser", "EcoTank", "EpsonNet"),
        LEXMARK: ("Optra",),
        OKI: ("OkiLAN", "OkiPage", "Microline"),
        ZEBRA: ("ZebraNet", "ZDesigner"),
        OLIVETTI: ("d-Copia", "d-Color"),
    }
)
"""Product lines whose name implies the maker when the maker's name is absent.

Xerox vs Fujifilm: WorkCentre, AltaLink, VersaLink, Phaser, ColorQube and
PrimeLink are Xerox's own lines; ApeosPort, Apeos, DocuCentre and DocuPrint
are Fuji Xerox/Fujifilm's (Xerox's 1990s DocuPrint N-series always carries
"Xerox" first, and the earliest name wins). "Develop ineo" is Develop.
"""

SERIES_PATTERNS: tuple[tuple[str, str], ...] = (
    # model-number shapes that only one maker uses
    (r"FS-C?\d{4}", KYOCERA),  # FS-1028MFP, FS-C5150DN
    (r"(?:ML|CLP|CLX|SCX)-\d{3,4}", SAMSUNG),  # ML-2850, CLX-3170, SCX-4828
    (r"SL-[CMKX]\d{3,4}", SAMSUNG),  # SL-M2020, SL-C430
    (r"MX-[A-Z]?\d{3,4}[A-Z]*", SHARP),  # MX-3570N, MX-C301W
    (r"BP-\d{2}[CM]\d{2}", SHARP),  # BP-50C26, BP-70M45
    (r"T[TD]P-?\d{3,4}", TSC),  # TTP-244CE, TTP244CE, TDP-247, TTP-2410M
)
"""(regex, maker) for model numbers that imply a maker; matched case-sensitively.

Zebra's kiosk printers are "TTP 2030" with a space, which the TSC shape
does not accept.
"""

COMMON_WORDS: frozenset[str] = frozenset(
    {
        BROTHER,
        CANON,
        SHARP,
        DELL,
        DEVELOP,
        CITIZEN,
        SAVIN,
        RISO,
        SATO,
        NRG,
        "Mita",
        "QMS",
        "ENVY",
        "Oce",
    }
)
"""Names that are also ordinary words: in free text they count only when not
written all in lower case ("Develop ineo" yes, "development" never, "develop" no)."""

_ALNUM = "0-9A-Za-z"
_MAX_SCAN = 4096
"""Only the first few KiB of a text are scanned; real sysDescr values are short."""


@dataclass(frozen=True, slots=True)
class _Name:
    pattern: re.Pattern[str]
    maker: str
    kind: int  # 0 maker or brand name, 1 series name, 2 model-number shape
    common_word: bool


def _compile_names() -> tuple[_Name, ...]:
    names: list[_Name] = []
    for maker, spellings in MAKER_NAMES.items():
        for spelling in spellings:
            body = re.escape(spelling).replace(r"\ ", r"[\s_-]+")
            names.append(
                _Name(
                    re.compile(rf"(?<![{_ALNUM}]){body}(?![{_ALNUM}])", re.IGNORECASE),
                    maker,
                    0,
                    spelling in COMMON_WORDS,
                )
            )
    for maker, series in SERIES_NAMES.items():
        for name in series:
            # A series name may run straight into digits: "e-STUDIO305CS".
            names.append(
                _Name(
                    re.compile(rf"(?<![{_ALNUM}]){re.escape(name)}(?![A-Za-z])", re.IGNORECASE),
                    maker,
                    1,
                    name in COMMON_WORDS,
                )
            )
    for regex, maker in SERIES_PATTERNS:
        # Suffix letters belong to the model: FS-1028MFP, TTP244CE, ML-2851ND.
        names.append(
            _Name(re.compile(rf"(?<![{_ALNUM}]){regex}[A-Za-z]*(?![{_ALNUM}])"), maker, 2, False)
        )
    return tuple(names)


_NAMES: Final = _compile_names()


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    maker: str
    kind: int


def _find(text: str, *, kinds: frozenset[int], strict_case: bool) -> _Hit | None:
    """The earliest name in `text`; at the same start the longest, then makers before series."""
    best: _Hit | None = None
    for name in _NAMES:
        if name.kind not in kinds:
            continue
        for match in name.pattern.finditer(text):
            if strict_case and name.common_word and match.group().islower():
                continue
            hit = _Hit(match.start(), match.end(), name.maker, name.kind)
            if best is None or (hit.start, -hit.end, hit.kind) < (best.start, -best.end, best.kind):
                best = hit
            break
    return best


def _clean(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(text[:_MAX_SCAN].replace("\x00", " ").split())


_MAKERS_ONLY: Final = frozenset({0})
_ANY_NAME: Final = frozenset({0, 1, 2})
_CORPORATE_PREFIX = re.compile(r"^(?:the\s+)", re.IGNORECASE)


def normalize_manufacturer(text: str | None) -> str | None:
    """A maker as written in 1284 MFG, an ENTITY-MIB field or a sysDescr prefix -> canonical.

    'HEWLETT-PACKARD' -> 'HP', 'KYOCERA Document Solutions Inc.' -> 'Kyocera',
    'FUJI XEROX' -> 'Fujifilm', 'TOSHIBA TEC' -> 'Toshiba'. The text must start
    with a maker or brand name (series names do not count here); anything
    else, including 'Generic' and 'Unknown', is None.
    """
    cleaned = _CORPORATE_PREFIX.sub("", _clean(text).strip(" \"'"))
    if not cleaned:
        return None
    hit = _find(cleaned, kinds=_MAKERS_ONLY, strict_case=False)
    if hit is None or hit.start != 0:
        return None
    return hit.maker


def manufacturer_from_text(text: str | None) -> str | None:
    """The first maker, brand or telling series name anywhere in free text.

    For sysDescr and hrDeviceDescr: 'RICOH Aficio MP C3002 2.20 / ...' ->
    'Ricoh', 'Canon iR-ADV C5535 /P' -> 'Canon', 'ECOSYS P2040dw' -> 'Kyocera',
    'TTP244CE Version: 7.02' -> 'TSC'. Names match on word boundaries, so
    'HP' inside 'HPB7246C' or 'Zebra' inside 'Zebrafish' do not count, and a
    name that is also an English word must not be all lower case.
    """
    cleaned = _clean(text)
    if not cleaned:
        return None
    hit = _find(cleaned, kinds=_ANY_NAME, strict_case=True)
    return hit.maker if hit else None


def enterprise_number(oid: str | tuple[int, ...] | None) -> int | None:
    """The arc after 1.3.6.1.4.1 ('1.3.6.1.4.1.367.1.1' -> 367), or None."""
    if oid is None:
        return None
    arcs: tuple[int, ...]
    if isinstance(oid, str):
        parts = oid.strip().lstrip(".").split(".")
        if not all(part.isdigit() and part.isascii() and len(part) <= 10 for part in parts):
            return None
        arcs = tuple(int(part) for part in parts)
    else:
        arcs = oid
    if len(arcs) < 7 or tuple(arcs[:6]) != (1, 3, 6, 1, 4, 1):
        return None
    number = arcs[6]
    return number if isinstance(number, int) and number >= 0 else None


def manufacturer_from_sys_object_id(oid: str | tuple[int, ...] | None) -> str | None:
    """sysObjectID -> maker by its enterprise number; None if unknown or a print-server maker.

    IANA registrations first, then UNREGISTERED_ENTERPRISES.

    Weak evidence: 1.3.6.1.4.1.11.2.3.9.1 is HP's JetDirect OID, which other
    makers' interfaces report too. Consult text first (see `best_manufacturer`).
    """
    number = enterprise_number(oid)
    if number is None:
        return None
    return ENTERPRISES.get(number) or UNREGISTERED_ENTERPRISES.get(number)


def best_manufacturer(
    *,
    device_id_mfg: str | None = None,
    hr_device_descrs: Iterable[str | None] = (),
    sys_descr: str | None = None,
    sys_object_id: str | tuple[int, ...] | None = None,
) -> str | None:
    """The maker by the precedence in this module's docstring.

    `hr_device_descrs` should hold the printer row's hrDeviceDescr first; the
    first one that names a maker wins.
    """
    found = normalize_manufacturer(device_id_mfg)
    if found:
        return found
    for descr in hr_device_descrs:
        found = manufacturer_from_text(descr)
        if found:
            return found
    return manufacturer_from_text(sys_descr) or manufacturer_from_sys_object_id(sys_object_id)


# --- model -------------------------------------------------------------------------

_NIC_DESCR = re.compile(
    r"print\s*server|scan\s*server|printing\s+system|multi-environment|jetdirect|"
    r"ethernet|network\s+interface|built-in|zebranet|okilan|^NC-\d",
    re.IGNORECASE,
)
"""Text that describes the network interface or firmware family, not a model."""
_JETDIRECT_PID = re.compile(r"(?:^|,)\s*PID:([^,;]+)")
_ATTACHED_TO = re.compile(r"\bAttached to\s+([A-Za-z0-9][A-Za-z0-9+-]*)")
_CUT = re.compile(
    r";|\s/\s|\s-\s|,|\s+/P\b"
    r"|\s+(?:version|firmware|kernel)\b"
    r"|\s+(?:ver\.?|rev\.?|OS|V)\s*[:.]?\s*\d"
    r"|\s+S/N\b",
    re.IGNORECASE,
)
_TRAILING_VERSION = re.compile(r"\s+v?\d+(?:\.\d+)+[a-z]?$", re.IGNORECASE)
_TRAILING_GENERIC = re.compile(
    r"(?:\s+(?:network|laser|colou?r|mono|multifunction))*\s+printer$", re.IGNORECASE
)


def strip_manufacturer_prefix(text: str | None, manufacturer: str | None = None) -> str | None:
    """'KONICA MINOLTA bizhub C3110' -> 'bizhub C3110'.

    The leading maker or brand name (of any length: 'FUJI XEROX', 'TOSHIBA
    TEC', 'TA_UTAX') is removed when it names `manufacturer` or its parent,
    or any maker when `manufacturer` is None. Text that starts with another
    maker's name is returned unchanged; empty text is None.
    """
    cleaned = _clean(text)
    if not cleaned:
        return None
    hit = _find(cleaned, kinds=_MAKERS_ONLY, strict_case=False)
    if hit is None or hit.start != 0:
        return cleaned
    if manufacturer is not None and parent_manufacturer(hit.maker) not in (
        manufacturer,
        parent_manufacturer(manufacturer),
    ):
        return cleaned
    rest = cleaned[hit.end :].lstrip(" _-:,")
    return rest or None


def _plausible_model(text: str) -> bool:
    return (
        2 <= len(text) <= 64
        and any(c.isdigit() for c in text)
        and any(c.isalpha() for c in text)
        and not _NIC_DESCR.search(text)
    )


def model_from_sys_descr(descr: str | None, manufacturer: str | None) -> str | None:
    """Best-effort model from sysDescr, for when 1284 MDL and hrDeviceDescr give none.

    'RICOH Aficio MP C3002 2.20 / RICOH Network Printer C model' -> 'Aficio MP C3002',
    'Xerox AltaLink C8045; SS 100.002...' -> 'AltaLink C8045',
    'Canon LBP6670 /P' -> 'LBP6670'. Conservative: None when the text describes
    a network interface ('HP ETHERNET MULTI-ENVIRONMENT,...', 'Brother
    NC-8300h, ...'), names a maker other than `manufacturer`, or leaves
    nothing with both letters and digits.
    """
    cleaned = _clean(descr)
    if not cleaned:
        return None
    named = manufacturer_from_text(cleaned)
    if (
        manufacturer is not None
        and named is not None
        and parent_manufacturer(named) != parent_manufacturer(manufacturer)
    ):
        return None

    pid = _JETDIRECT_PID.search(cleaned)
    if pid:
        # A JetDirect names the product it is in; users may overwrite it with
        # free text, so keep it only if it reads as a product of the maker.
        product = strip_manufacturer_prefix(pid.group(1).strip(), manufacturer)
        if (
            product
            and manufacturer_from_text(pid.group(1)) is not None
            and _plausible_model(product)
        ):
            return product
        return None
    attached = _ATTACHED_TO.search(cleaned)
    if attached:
        candidate = attached.group(1)
        return candidate if _plausible_model(candidate) else None

    head = _CUT.split(cleaned, maxsplit=1)[0].strip()
    head = _TRAILING_VERSION.sub("", head)
    head = _TRAILING_GENERIC.sub("", head).strip()
    model = strip_manufacturer_prefix(head, manufacturer)
    if not model or not _plausible_model(model):
        return None
    return model
