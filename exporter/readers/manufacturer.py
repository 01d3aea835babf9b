"""Who made a printer and which model it is, read from what the device says about itself.

The facts (names, enterprise numbers, where the device ID lives) are `vendors.py`'s;
this module applies them to text and OIDs.

Pure functions, no SNMP. The identity reader feeds them what the
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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from exporter.readers.vendors import (
    COMMON_WORDS,
    ENTERPRISES,
    MAKER_NAMES,
    SERIES_NAMES,
    SERIES_PATTERNS,
    UNREGISTERED_ENTERPRISES,
    parent_manufacturer,
)

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
