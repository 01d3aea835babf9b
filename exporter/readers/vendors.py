"""Vendor facts: who made a printer, and what says a device is one.

Enterprise numbers, printer product subtrees, the places of the IEEE 1284 device ID,
maker and brand names, series names: data and one lookup (`parent_manufacturer`), no
SNMP and no import from the exporter, so every layer may read it. How these are
applied to what a device says is `readers/manufacturer.py`; what each maker's MIB holds
beyond identity is the profile database (exporter/profiles/).

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
"""

from __future__ import annotations

from collections.abc import Mapping
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
