"""BER encoding of SNMPv1/v2c messages: requests for the lean client, any PDU for tests.

Why a template: a request differs from its retries and from the same request
to another host only in the request-id, and a discovery sweep sends one GET
to thousands of hosts. `RequestTemplate` encodes everything once and splices
the request-id in: request-ids in [2**23, 2**31) always take exactly four
content octets, so the message lengths do not depend on the id and the hot
path is two concatenations. Other ids still encode correctly, just slower.

Everything here is minimal-length BER (DER-like lengths and integers), which
every agent accepts. Invalid input (an arc out of range, GETBULK in v1) is a
caller bug and raises `ValueError`, not `BerError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Final

from exporter.snmp.ber import (
    COUNTER32,
    COUNTER64,
    GAUGE32,
    GET,
    GET_BULK,
    GET_NEXT,
    INTEGER,
    IP_ADDRESS,
    MAX_ARC,
    MAX_OID_ARCS,
    OBJECT_IDENTIFIER,
    OCTET_STRING,
    OPAQUE,
    SEQUENCE,
    TIMETICKS,
    TRAP_V1,
    VERSION_1,
    VERSION_2C,
    Absent,
    VarBindValue,
)
from exporter.snmp.types import Oid

FAST_REQUEST_ID_MIN: Final = 1 << 23
"""Request-ids from here up to 2**31-1 encode in exactly four octets: the template's fast path."""
REQUEST_ID_MAX: Final = (1 << 31) - 1

NULL_VALUE: Final = b"\x05\x00"
_UNSIGNED_BITS: Final = {COUNTER32: 32, GAUGE32: 32, TIMETICKS: 32, COUNTER64: 64}
_SHORT_LENGTHS: Final = tuple(bytes((n,)) for n in range(0x80))


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return _SHORT_LENGTHS[n]
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if len(body) > 4:
        raise ValueError(f"length {n} does not fit in 4 octets")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + encode_length(len(body)) + body


def encode_integer(value: int, tag: int = INTEGER) -> bytes:
    """A signed INTEGER (or any INTEGER-encoded tag) in the fewest octets."""
    size = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return bytes((tag, size)) + value.to_bytes(size, "big", signed=True)


def encode_unsigned(value: int, tag: int) -> bytes:
    """Counter32, Gauge32, TimeTicks or Counter64: range-checked, with the 0x00 a top bit needs."""
    bits = _UNSIGNED_BITS[tag]
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{value} is not an unsigned {bits}-bit value")
    return encode_integer(value, tag)


def oid_body(oid: Oid) -> bytes:
    """The contents octets of an OBJECT IDENTIFIER: the first two arcs share one sub-identifier."""
    if not 2 <= len(oid) <= MAX_OID_ARCS:
        raise ValueError(f"an OID has 2 to {MAX_OID_ARCS} arcs. Got: {len(oid)}")
    top, second = oid[0], oid[1]
    if top not in (0, 1, 2) or second < 0 or (top < 2 and second >= 40):
        raise ValueError(f"bad first arcs {top}.{second}")
    rest = oid[2:]
    if rest and (min(rest) < 0 or max(rest) > MAX_ARC):
        raise ValueError(f"OID arcs must be 0..{MAX_ARC}: {oid}")
    first = top * 40 + second
    if second > MAX_ARC or first > MAX_ARC + 80:
        raise ValueError(f"OID arcs must be 0..{MAX_ARC}: {oid}")
    if first < 0x80 and (not rest or max(rest) < 0x80):
        return bytes((first, *rest))
    body = bytearray()
    for arc in (first, *rest):
        if arc < 0x80:
            body.append(arc)
            continue
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return bytes(body)


def encode_oid(oid: Oid) -> bytes:
    return tlv(OBJECT_IDENTIFIER, oid_body(oid))


def encode_value(value: VarBindValue, tag: int | None = None) -> bytes:
    """One value TLV. The tag is inferred from the Python type unless given.

    int -> INTEGER, bytes -> OCTET STRING, tuple -> OBJECT IDENTIFIER,
    IPv4Address -> IpAddress, Absent -> its own tag. Pass COUNTER32, GAUGE32,
    TIMETICKS or COUNTER64 for unsigned ints, OPAQUE or IP_ADDRESS for bytes.
    """
    if isinstance(value, Absent):
        return bytes((value.value, 0))
    if isinstance(value, bool):
        raise ValueError("bool is not an SNMP value")
    if isinstance(value, int):
        if tag is None or tag == INTEGER:
            return encode_integer(value)
        return encode_unsigned(value, tag)
    if isinstance(value, bytes):
        if tag not in (None, OCTET_STRING, OPAQUE, IP_ADDRESS):
            raise ValueError(f"bytes cannot be encoded with tag 0x{tag:02x}")
        return tlv(tag or OCTET_STRING, value)
    if isinstance(value, IPv4Address):
        return tlv(IP_ADDRESS, value.packed)
    return encode_oid(value)


def encode_varbinds(varbinds: Iterable[tuple[Oid, bytes]]) -> bytes:
    """The variable-bindings SEQUENCE from (OID, already encoded value TLV) pairs."""
    items = b"".join(tlv(SEQUENCE, encode_oid(oid) + value) for oid, value in varbinds)
    return tlv(SEQUENCE, items)


def encode_message(
    version: int,
    community: bytes,
    pdu_type: int,
    request_id: int,
    error_status: int,
    error_index: int,
    varbinds: Iterable[tuple[Oid, bytes]],
) -> bytes:
    """Any standard-layout v1/v2c message; varbind values are encoded TLVs (see `encode_value`).

    For GETBULK pass non-repeaters and max-repetitions as error_status and error_index.
    """
    _check_header(version, pdu_type)
    body = (
        encode_integer(request_id)
        + encode_integer(error_status)
        + encode_integer(error_index)
        + encode_varbinds(varbinds)
    )
    return tlv(SEQUENCE, _message_head(version, community) + tlv(pdu_type, body))


class RequestTemplate:
    """A GET, GETNEXT or GETBULK request encoded once, ready for any request-id.

    Built once per walk step too, so construction is kept to a few bytes
    operations: the message head is cached per (version, community).
    """

    __slots__ = ("_head", "_pdu_type", "_prefix", "_tail", "version")

    def __init__(
        self,
        version: int,
        community: bytes,
        pdu_type: int,
        oids: Sequence[Oid],
        *,
        non_repeaters: int = 0,
        max_repetitions: int = 0,
    ) -> None:
        if pdu_type not in (GET, GET_NEXT, GET_BULK):
            raise ValueError(f"not a request PDU tag: 0x{pdu_type:02x}")
        if pdu_type == GET_BULK:
            if version == VERSION_1:
                raise ValueError("GETBULK does not exist in SNMPv1")
            if not (
                0 <= non_repeaters <= REQUEST_ID_MAX and 0 <= max_repetitions <= REQUEST_ID_MAX
            ):
                raise ValueError("non-repeaters and max-repetitions must be 0..2**31-1")
        elif non_repeaters or max_repetitions:
            raise ValueError("non-repeaters and max-repetitions belong to GETBULK only")
        self.version = version
        self._head = _message_head(version, community)
        self._pdu_type = pdu_type
        self._tail = tail = (
            encode_integer(non_repeaters) + encode_integer(max_repetitions) + _null_varbinds(oids)
        )
        pdu_length = 6 + len(tail)  # request-id: tag, length 4, four octets
        pdu_head = bytes((pdu_type,)) + encode_length(pdu_length)
        message_length = len(self._head) + len(pdu_head) + pdu_length
        self._prefix = b"".join(
            (b"\x30", encode_length(message_length), self._head, pdu_head, b"\x02\x04")
        )

    def encode(self, request_id: int) -> bytes:
        if FAST_REQUEST_ID_MIN <= request_id <= REQUEST_ID_MAX:
            return self._prefix + request_id.to_bytes(4, "big") + self._tail
        if not -(1 << 31) <= request_id <= REQUEST_ID_MAX:
            raise ValueError(f"request-id {request_id} is not a 32-bit signed integer")
        pdu = tlv(self._pdu_type, encode_integer(request_id) + self._tail)
        return tlv(SEQUENCE, self._head + pdu)


def _null_varbinds(oids: Sequence[Oid]) -> bytes:
    """The variable-bindings of a request: each OID with a NULL value."""
    items = []
    for oid in oids:
        body = oid_body(oid)
        if len(body) < 124:  # the VarBind (body + 4 octets) still has a one-octet length
            items.append(b"\x30%c\x06%c%b\x05\x00" % (len(body) + 4, len(body), body))
        else:
            items.append(tlv(SEQUENCE, tlv(OBJECT_IDENTIFIER, body) + NULL_VALUE))
    return tlv(SEQUENCE, b"".join(items))


def encode_request(
    version: int,
    community: bytes,
    pdu_type: int,
    request_id: int,
    oids: Sequence[Oid],
    *,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """One GET, GETNEXT or GETBULK request, every varbind value NULL."""
    template = RequestTemplate(
        version,
        community,
        pdu_type,
        oids,
        non_repeaters=non_repeaters,
        max_repetitions=max_repetitions,
    )
    return template.encode(request_id)


def _check_header(version: int, pdu_type: int) -> None:
    if version not in (VERSION_1, VERSION_2C):
        raise ValueError(f"wire version must be 0 (v1) or 1 (v2c). Got: {version}")
    if not 0xA0 <= pdu_type <= 0xA8:
        raise ValueError(f"not a PDU tag: 0x{pdu_type:02x}")
    if pdu_type == TRAP_V1:
        raise ValueError("the v1 Trap-PDU has its own layout and is not supported")
    if pdu_type == GET_BULK and version == VERSION_1:
        raise ValueError("GETBULK does not exist in SNMPv1")


@lru_cache(maxsize=256)
def _message_head(version: int, community: bytes) -> bytes:
    _check_header(version, GET)
    return encode_integer(version) + tlv(OCTET_STRING, community)
