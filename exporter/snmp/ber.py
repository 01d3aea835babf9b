"""A lean BER decoder for SNMPv1/v2c messages: the hot path of every poll.

Why hand-written: pysnmp spends 17-20 ms of CPU per printer poll, about 80 % of
it in pyasn1 decoding GETBULK responses, because pyasn1 builds a schema-driven
object tree for every value. A v1/v2c message is a fixed, shallow shape:

    Message ::= SEQUENCE { version INTEGER, community OCTET STRING, PDU }
    PDU     ::= [tag] { request-id, error-status, error-index, SEQUENCE OF VarBind }
    VarBind ::= SEQUENCE { name OBJECT IDENTIFIER, value <one primitive TLV> }

so a single function can walk it with integer offsets into one `bytes`, and
turn each value straight into the plain Python that `exporter.snmp.types`
documents. pysnmp stays the reference: tests/unit/test_ber_differential.py
checks that both decode the same packets to the same values, and SNMPv3 (with
its security machinery) stays with pysnmp altogether.

Safety, because the input is whatever arrives on a UDP socket:
- every length is checked against its enclosing TLV before use, so nothing is
  read past the buffer, and every TLV must exactly fill its parent;
- the indefinite length form (0x80) and lengths of more than 4 octets are rejected;
- nesting is bounded by construction: the decoder follows the fixed shape above
  and never recurses, and a constructed value where a primitive belongs is rejected;
- INTEGER-like values longer than 9 octets and OID sub-identifiers past
  2**32 are rejected before any arithmetic, so a hostile packet cannot make us
  build huge ints;
- the only exception that leaves `decode_message` is `BerError`.

Values (tags per RFC 1157 / RFC 3416):

    0x02 INTEGER                         -> int, signed (not range-checked to 32 bits:
                                             some agents put 64-bit counters there)
    0x41 Counter32 0x42 Gauge32/Unsigned32 0x43 TimeTicks
                                         -> int, unsigned 32-bit; a 4-octet encoding
                                             with the top bit set (a common agent bug:
                                             no leading 0x00) is read modulo 2**32
    0x46 Counter64                       -> int, unsigned 64-bit, same rule
    0x04 OCTET STRING (and BITS), 0x44 Opaque -> bytes
    0x06 OBJECT IDENTIFIER               -> tuple[int, ...]
    0x40 IpAddress                       -> IPv4Address (4 octets), else bytes
    0x05 NULL, 0x80 noSuchObject, 0x81 noSuchInstance, 0x82 endOfMibView
                                         -> the `Absent` members, so a caller can
                                             tell "no such OID" from "end of the MIB"
"""

from __future__ import annotations

from enum import Enum
from ipaddress import IPv4Address
from typing import Final, NamedTuple, TypeAlias

from exporter.snmp.errors import SnmpProtocolError
from exporter.snmp.types import Oid, SnmpValue

# Message versions as they appear on the wire (not as users write them).
VERSION_1: Final = 0
VERSION_2C: Final = 1

# PDU tags (context-specific, constructed).
GET: Final = 0xA0
GET_NEXT: Final = 0xA1
RESPONSE: Final = 0xA2
SET: Final = 0xA3
TRAP_V1: Final = 0xA4
GET_BULK: Final = 0xA5
INFORM: Final = 0xA6
TRAP_V2: Final = 0xA7
REPORT: Final = 0xA8

# Value tags.
INTEGER: Final = 0x02
OCTET_STRING: Final = 0x04
NULL: Final = 0x05
OBJECT_IDENTIFIER: Final = 0x06
SEQUENCE: Final = 0x30
IP_ADDRESS: Final = 0x40
COUNTER32: Final = 0x41
GAUGE32: Final = 0x42
TIMETICKS: Final = 0x43
OPAQUE: Final = 0x44
COUNTER64: Final = 0x46
NO_SUCH_OBJECT: Final = 0x80
NO_SUCH_INSTANCE: Final = 0x81
END_OF_MIB_VIEW: Final = 0x82

MAX_OID_ARCS: Final = 128
"""RFC 2578 §7.1.3: at most 128 sub-identifiers (net-snmp's MAX_OID_LEN too)."""

MAX_ARC: Final = 0xFFFFFFFF
"""Each sub-identifier is an unsigned 32-bit number in SNMP."""

_MAX_FIRST_SUBID: Final = MAX_ARC + 80  # 2.(2**32-1) packs into one sub-identifier
_MAX_INT_OCTETS: Final = 9  # Counter64 needs 8 octets plus a leading 0x00
_STANDARD_PDUS: Final = frozenset({GET, GET_NEXT, RESPONSE, SET, GET_BULK, INFORM, TRAP_V2, REPORT})


class BerError(SnmpProtocolError):
    """The bytes are not a well-formed SNMPv1/v2c message we accept."""


class Absent(Enum):
    """A varbind that carries no value, kept apart by kind.

    `NULL` is what a request carries and what a v1 agent may answer; the other
    three are the SNMPv2 exceptions. A walk must stop at `END_OF_MIB_VIEW` but
    only skip `NO_SUCH_*`, so one shared `None` would not do.
    """

    NULL = 0x05
    NO_SUCH_OBJECT = 0x80
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


VarBindValue: TypeAlias = SnmpValue | Absent
VarBinds: TypeAlias = list[tuple[Oid, VarBindValue]]

_ABSENT: Final = {
    NULL: Absent.NULL,
    NO_SUCH_OBJECT: Absent.NO_SUCH_OBJECT,
    NO_SUCH_INSTANCE: Absent.NO_SUCH_INSTANCE,
    END_OF_MIB_VIEW: Absent.END_OF_MIB_VIEW,
}
_STRING_TAGS: Final = frozenset({OCTET_STRING, OPAQUE})
_UNSIGNED_BITS: Final = {COUNTER32: 32, GAUGE32: 32, TIMETICKS: 32, COUNTER64: 64}


class Message(NamedTuple):
    """One decoded v1/v2c message.

    For GETBULK, `error_status` and `error_index` hold non-repeaters and
    max-repetitions: the wire puts them in the same place, and naming them
    twice would cost a branch on the hot path.
    """

    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: VarBinds


def decode_response(data: bytes | bytearray | memoryview) -> Message:
    """Decode a Response-PDU message; any other PDU type is a `BerError`."""
    message = decode_message(data)
    if message.pdu_type != RESPONSE:
        raise BerError(f"expected a Response-PDU, got PDU tag 0x{message.pdu_type:02x}")
    return message


def decode_message(data: bytes | bytearray | memoryview) -> Message:
    """Decode any v1/v2c message with the standard PDU layout (not a v1 Trap-PDU)."""
    buf = data if type(data) is bytes else bytes(data)
    try:
        return _decode(buf)
    except BerError:
        raise
    except (IndexError, ValueError) as exc:  # a read past the end the checks did not foresee
        raise BerError(f"malformed message: {exc}") from None


def decode_header(data: bytes | bytearray | memoryview) -> tuple[int, bytes, int, int]:
    """(version, community, pdu_type, request_id) without the varbinds.

    For the transport's error path: when a message fails to decode, this says
    whether it was the answer to a request we are waiting for.
    """
    buf = data if type(data) is bytes else bytes(data)
    try:
        version, community, pdu_type, pos, end = _head(buf)
        tag, pos, stop = _tlv(buf, pos, end)
        if tag != INTEGER:
            raise BerError("request-id is not an INTEGER")
        return version, community, pdu_type, _signed(buf, pos, stop)
    except BerError:
        raise
    except (IndexError, ValueError) as exc:
        raise BerError(f"malformed message: {exc}") from None


def _length(buf: bytes, pos: int, limit: int) -> tuple[int, int]:
    """(content start, content end) for the length octets at `pos`, checked against `limit`."""
    first = buf[pos]
    if first < 0x80:
        start = pos + 1
        end = start + first
    else:
        width = first & 0x7F
        if width == 0:
            raise BerError("indefinite length is not allowed in SNMP")
        if width > 4:
            raise BerError(f"length of {width} octets is too long")
        start = pos + 1 + width
        if start > limit:
            raise BerError("length octets run past the end")
        end = start + int.from_bytes(buf[pos + 1 : start], "big")
    if end > limit:
        raise BerError("length runs past the end of its container")
    return start, end


def _tlv(buf: bytes, pos: int, limit: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `pos`."""
    if pos + 2 > limit:
        raise BerError("truncated TLV")
    start, end = _length(buf, pos + 1, limit)
    return buf[pos], start, end


def _signed(buf: bytes, start: int, end: int) -> int:
    n = end - start
    if n == 0 or n > _MAX_INT_OCTETS:
        raise BerError(f"INTEGER of {n} octets")
    return int.from_bytes(buf[start:end], "big", signed=True)


def _head(buf: bytes) -> tuple[int, bytes, int, int, int]:
    """Parse up to the PDU contents: (version, community, pdu_type, pos, pdu end)."""
    size = len(buf)
    tag, pos, end = _tlv(buf, 0, size)
    if tag != SEQUENCE:
        raise BerError(f"message is not a SEQUENCE (tag 0x{tag:02x})")
    if end != size:
        raise BerError(f"{size - end} octets after the message")
    tag, start, stop = _tlv(buf, pos, end)
    if tag != INTEGER:
        raise BerError("version is not an INTEGER")
    version = _signed(buf, start, stop)
    if version not in (VERSION_1, VERSION_2C):
        raise BerError(f"not an SNMPv1/v2c message (version {version})")
    tag, start, stop = _tlv(buf, stop, end)
    if tag != OCTET_STRING:
        raise BerError("community is not an OCTET STRING")
    community = buf[start:stop]
    pdu_type, start, stop = _tlv(buf, stop, end)
    if pdu_type not in _STANDARD_PDUS:
        raise BerError(f"unsupported PDU tag 0x{pdu_type:02x}")
    if stop != end:
        raise BerError("octets after the PDU")
    return version, community, pdu_type, start, stop


def _decode(buf: bytes) -> Message:
    version, community, pdu_type, pos, end = _head(buf)
    fields = []
    for _ in range(3):
        tag, start, pos = _tlv(buf, pos, end)
        if tag != INTEGER:
            raise BerError("PDU header field is not an INTEGER")
        fields.append(_signed(buf, start, pos))
    tag, pos, vend = _tlv(buf, pos, end)
    if tag != SEQUENCE:
        raise BerError("variable-bindings is not a SEQUENCE")
    if vend != end:
        raise BerError("octets after the variable-bindings")
    varbinds: VarBinds = []
    append = varbinds.append
    from_bytes = int.from_bytes
    absent = _ABSENT
    while pos < vend:
        # VarBind SEQUENCE. Short lengths are decoded inline: this loop runs
        # once per value, and a helper call per TLV would cost a third of it.
        if buf[pos] != SEQUENCE or pos + 2 > vend:
            raise BerError("varbind is not a SEQUENCE")
        n = buf[pos + 1]
        if n < 0x80:
            pos += 2
            vbend = pos + n
            if vbend > vend:
                raise BerError("varbind runs past the end")
        else:
            pos, vbend = _length(buf, pos + 1, vend)
        # name
        if buf[pos] != OBJECT_IDENTIFIER or pos + 2 > vbend:
            raise BerError("varbind name is not an OBJECT IDENTIFIER")
        n = buf[pos + 1]
        if n < 0x80:
            pos += 2
            stop = pos + n
            if stop > vbend:
                raise BerError("OID runs past the end")
        else:
            pos, stop = _length(buf, pos + 1, vbend)
        body = buf[pos:stop]
        if stop > pos and buf[pos] == 43 and body.isascii():  # 1.3.*, arcs < 128: inline
            oid: Oid = (1, 3, *body[1:])
            if stop - pos > 127:
                _check_arcs(oid)
        else:
            oid = _oid(body)
        # value
        if stop + 2 > vbend:
            raise BerError("varbind has no value")
        tag = buf[stop]
        n = buf[stop + 1]
        if n < 0x80:
            pos = stop + 2
            stop = pos + n
        else:
            pos, stop = _length(buf, stop + 1, vbend)
        if stop != vbend:
            raise BerError("varbind is not exactly a name and a value")
        if tag == INTEGER:
            if not 0 < stop - pos <= _MAX_INT_OCTETS:
                raise BerError(f"INTEGER of {stop - pos} octets")
            append((oid, from_bytes(buf[pos:stop], "big", signed=True)))
        elif tag in _STRING_TAGS:
            append((oid, buf[pos:stop]))
        elif tag in _UNSIGNED_BITS:
            append((oid, _unsigned(buf, pos, stop, _UNSIGNED_BITS[tag])))
        elif tag == OBJECT_IDENTIFIER:
            append((oid, _oid(buf[pos:stop])))
        elif tag in absent:
            if stop != pos:
                raise BerError(f"tag 0x{tag:02x} must be empty")
            append((oid, absent[tag]))
        elif tag == IP_ADDRESS:
            raw = buf[pos:stop]
            append((oid, IPv4Address(raw) if len(raw) == 4 else raw))
        else:
            raise BerError(f"unsupported value tag 0x{tag:02x}")
        pos = vbend
    return Message(version, community, pdu_type, fields[0], fields[1], fields[2], varbinds)


def _unsigned(buf: bytes, start: int, end: int, bits: int) -> int:
    """An unsigned value; 2**bits is added to a negative reading (agents that drop the 0x00)."""
    value = _signed(buf, start, end)
    if value < 0:
        if value < -(1 << (bits - 1)):
            raise BerError(f"unsigned {bits}-bit value out of range")
        return value + (1 << bits)
    if value >> bits:
        raise BerError(f"unsigned {bits}-bit value out of range")
    return value


def _oid(body: bytes) -> Oid:
    """OID contents -> arcs. Printer OIDs are mostly arcs below 128: one octet each, no loop."""
    if not body:
        raise BerError("empty OBJECT IDENTIFIER")
    if body.isascii():  # every octet < 0x80: each one is a whole sub-identifier
        first = body[0]
        if first == 43:  # 1.3, nearly every OID an agent returns
            oid: Oid = (1, 3, *body[1:])
        elif first < 80:
            oid = (first // 40, first % 40, *body[1:])
        else:
            oid = (2, first - 80, *body[1:])
    else:
        oid = _oid_slow(body)
    return _check_arcs(oid)


def _check_arcs(oid: Oid) -> Oid:
    if len(oid) > MAX_OID_ARCS:
        raise BerError(f"OID of {len(oid)} sub-identifiers (at most {MAX_OID_ARCS})")
    return oid


def _oid_slow(body: bytes) -> Oid:
    arcs: list[int] = []
    value = 0
    limit = _MAX_FIRST_SUBID
    for octet in body:
        if value == 0 and octet == 0x80:
            raise BerError("OID sub-identifier with a leading 0x80 octet")
        value = (value << 7) | (octet & 0x7F)
        if value > limit:
            raise BerError("OID sub-identifier larger than 2**32-1")
        if octet < 0x80:
            arcs.append(value)
            value = 0
            limit = MAX_ARC
    if body[-1] & 0x80:
        raise BerError("OID ends inside a sub-identifier")
    first = arcs[0]
    if first < 80:
        return (first // 40, first % 40, *arcs[1:])
    return (2, first - 80, *arcs[1:])
