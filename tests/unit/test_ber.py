"""The lean BER codec against hand-checked bytes, its edge cases, and hypothesis.

The byte strings here were worked out by hand from X.690 and RFC 3416 (the
comments show the layout), not produced by the code under test, so an
encoder and decoder that agree on a mistake still fail.
"""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.snmp.ber import (
    COUNTER32,
    COUNTER64,
    GAUGE32,
    GET,
    GET_BULK,
    GET_NEXT,
    INTEGER,
    IP_ADDRESS,
    OCTET_STRING,
    OPAQUE,
    RESPONSE,
    TIMETICKS,
    VERSION_1,
    VERSION_2C,
    Absent,
    BerError,
    Message,
    VarBindValue,
    decode_header,
    decode_message,
    decode_response,
)
from exporter.snmp.ber_encode import (
    RequestTemplate,
    encode_integer,
    encode_length,
    encode_message,
    encode_oid,
    encode_request,
    encode_value,
)
from exporter.snmp.errors import SnmpProtocolError
from exporter.snmp.types import Oid

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)

# snmpget -v2c -c public 1.3.6.1.2.1.1.1.0, request-id 0x12345678
GET_SYS_DESCR = bytes.fromhex(
    "3029"  # Message SEQUENCE, 41 octets
    "020101"  # version 1 = v2c
    "04067075626c6963"  # community "public"
    "a01c"  # GetRequest-PDU, 28 octets
    "020412345678"  # request-id
    "020100"  # error-status 0
    "020100"  # error-index 0
    "300e"  # variable-bindings, 14 octets
    "300c"  # VarBind, 12 octets
    "06082b06010201010100"  # 1.3.6.1.2.1.1.1.0
    "0500"  # NULL
)

# The answer: sysDescr "HP", sysUpTime 0x80000000 ticks, sysObjectID 1.3.6.1.4.1.11.2.3.9.1
RESPONSE_PACKET = bytes.fromhex(
    "3051"  # Message SEQUENCE, 81 octets
    "020101"  # v2c
    "04067075626c6963"  # "public"
    "a244"  # Response-PDU, 68 octets
    "020412345678"  # request-id
    "020100"
    "020100"
    "3036"  # variable-bindings, 54 octets
    "300e06082b0601020101010004024850"  # sysDescr.0 = "HP"
    "301106082b0601020101030043050080000000"  # sysUpTime.0 = TimeTicks 2**31
    "301106082b0601020101020006052b06010401"  # sysObjectID.0 = 1.3.6.1.4.1
)


def test_encodes_a_get_request_byte_for_byte() -> None:
    assert encode_request(VERSION_2C, b"public", GET, 0x12345678, [SYS_DESCR]) == GET_SYS_DESCR


def test_encodes_getnext_and_getbulk() -> None:
    getnext = encode_request(VERSION_1, b"public", GET_NEXT, 0x12345678, [SYS_DESCR])
    # the same bytes but version 0 and the GetNextRequest-PDU tag
    v1_head = bytes.fromhex("3029020100") + GET_SYS_DESCR[5:13]
    assert getnext == v1_head + b"\xa1" + GET_SYS_DESCR[14:]
    bulk = encode_request(
        VERSION_2C, b"public", GET_BULK, 0x12345678, [SYS_DESCR], max_repetitions=25
    )
    # non-repeaters 0, max-repetitions 25 sit where error-status and error-index do
    bulk_header = bytes.fromhex("a51c020412345678020100020119")
    assert bulk == GET_SYS_DESCR[:13] + bulk_header + GET_SYS_DESCR[-16:]


def test_decodes_a_response() -> None:
    message = decode_response(RESPONSE_PACKET)

    assert message == Message(
        version=VERSION_2C,
        community=b"public",
        pdu_type=RESPONSE,
        request_id=0x12345678,
        error_status=0,
        error_index=0,
        varbinds=[
            (SYS_DESCR, b"HP"),
            ((1, 3, 6, 1, 2, 1, 1, 3, 0), 2**31),
            ((1, 3, 6, 1, 2, 1, 1, 2, 0), (1, 3, 6, 1, 4, 1)),
        ],
    )
    assert decode_header(RESPONSE_PACKET) == (VERSION_2C, b"public", RESPONSE, 0x12345678)


def test_decode_response_refuses_other_pdus() -> None:
    assert decode_message(GET_SYS_DESCR).varbinds == [(SYS_DESCR, Absent.NULL)]
    with pytest.raises(BerError, match="expected a Response-PDU"):
        decode_response(GET_SYS_DESCR)


def test_ber_error_is_a_protocol_error() -> None:
    assert issubclass(BerError, SnmpProtocolError)


def _response_with(value_tlv: bytes, oid: Oid = SYS_DESCR) -> bytes:
    return encode_message(VERSION_2C, b"c", RESPONSE, 7, 0, 0, [(oid, value_tlv)])


def _value(value_tlv: bytes) -> VarBindValue:
    (_, value), *_ = decode_response(_response_with(value_tlv)).varbinds
    return value


@pytest.mark.parametrize(
    ("tlv", "expected"),
    [
        # INTEGER: signed, minimal or not
        ("020100", 0),
        ("02017f", 127),
        ("02020080", 128),
        ("020180", -128),
        ("0201ff", -1),
        ("0202ff7f", -129),
        ("020480000000", -(2**31)),
        ("02047fffffff", 2**31 - 1),
        ("02090000000000000000ff", 255),  # nine octets is the most we read
        ("020900ffffffffffffffff", 2**64 - 1),  # agents that put a Counter64 in an INTEGER
        # Counter32, Gauge32, TimeTicks: unsigned 32-bit
        ("410100", 0),
        ("41050080000000", 2**31),
        ("410480000000", 2**31),  # top bit set without the 0x00: read as unsigned
        ("4104ffffffff", 2**32 - 1),
        ("420500ffffffff", 2**32 - 1),
        ("4301ff", 2**32 - 1),  # reads as -1: taken modulo 2**32 like the 4-octet case
        # Counter64
        ("46090000000000000000ff", 255),
        ("460900ffffffffffffffff", 2**64 - 1),
        ("4608ffffffffffffffff", 2**64 - 1),
        ("46050100000000", 2**32),
        # strings
        ("0400", b""),
        ("0403000102", b"\x00\x01\x02"),
        ("4403010203", b"\x01\x02\x03"),  # Opaque
        ("4004c0a80001", IPv4Address("192.168.0.1")),  # parse-only
        ("4003c0a800", b"\xc0\xa8\x00"),  # not 4 octets: kept as bytes
        # OBJECT IDENTIFIER values: first octet split into two arcs
        ("06012b", (1, 3)),
        ("060100", (0, 0)),
        ("060127", (0, 39)),
        ("060128", (1, 0)),
        ("06014f", (1, 39)),
        ("060150", (2, 0)),
        ("06028837", (2, 999)),  # 999 + 80 = 0x437 -> 0x88 0x37
        ("06037f8100", (2, 47, 128)),  # arcs >= 40 under 2, and > 127 later
        ("06072b06010401950b", (1, 3, 6, 1, 4, 1, 2699)),
        ("06062b8fffffff7f", (1, 3, 2**32 - 1)),
        # no value
        ("0500", Absent.NULL),
        ("8000", Absent.NO_SUCH_OBJECT),
        ("8100", Absent.NO_SUCH_INSTANCE),
        ("8200", Absent.END_OF_MIB_VIEW),
    ],
)
def test_value_mapping(tlv: str, expected: VarBindValue) -> None:
    assert _value(bytes.fromhex(tlv)) == expected
    assert type(_value(bytes.fromhex(tlv))) is type(expected)


@pytest.mark.parametrize(
    ("tlv", "reason"),
    [
        ("0200", "INTEGER of 0 octets"),
        ("020a00000000000000000001", "INTEGER of 10 octets"),
        ("41050100000000", "out of range"),  # 2**32 in a Counter32
        ("4105ff00000000", "out of range"),
        ("4609010000000000000000", "out of range"),  # 2**64 in a Counter64
        ("0600", "empty OBJECT IDENTIFIER"),
        ("06032b8001", "leading 0x80"),
        ("06022b86", "ends inside"),
        ("06062b9080808000", "larger than"),  # 2**32 as an arc
        ("050100", "must be empty"),
        ("800100", "must be empty"),
        ("4500", "unsupported value tag 0x45"),  # NsapAddress
        ("4700", "unsupported value tag 0x47"),
        ("3000", "unsupported value tag 0x30"),  # constructed where a primitive belongs
        ("a000", "unsupported value tag 0xa0"),
    ],
)
def test_value_rejections(tlv: str, reason: str) -> None:
    with pytest.raises(BerError, match=reason):
        _value(bytes.fromhex(tlv))


def test_oid_of_more_than_128_arcs_is_rejected() -> None:
    body = bytes([0x2B]) + bytes(127)  # 1.3 and 127 zeros: 129 arcs
    with pytest.raises(BerError, match="129 sub-identifiers"):
        _value(b"\x06\x81\x80" + body)
    assert len(_value(b"\x06\x7f" + body[:127])) == 128  # type: ignore[arg-type]


def test_long_form_lengths_are_accepted_even_when_not_minimal() -> None:
    # net-snmp writes every SEQUENCE length in the two-octet long form
    packet = bytes.fromhex(
        "3082002c"  # Message, two-octet long form
        "020101"
        "04067075626c6963"
        "a282001d"  # Response-PDU, two-octet long form
        "020412345678020100020100"
        "30810e"  # variable-bindings, one-octet long form for 14
        "300c06082b06010201010100"
        "0500"
    )
    message = decode_message(packet)
    assert message.varbinds == [(SYS_DESCR, Absent.NULL)]


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        ("3080" + GET_SYS_DESCR[2:].hex() + "0000", "indefinite length"),
        ("3085000000002b", "too long"),
        ("302a" + GET_SYS_DESCR[2:].hex(), "past the end"),
        (GET_SYS_DESCR.hex() + "00", "1 octets after the message"),
        ("3028" + GET_SYS_DESCR[2:-1].hex(), "runs past|exactly"),
        ("3000", "truncated"),
        ("", "index out of range|truncated"),
        ("0400", "not a SEQUENCE"),
        ("3003020103", "not an SNMPv1/v2c message"),  # SNMPv3
        ("30070201010400a400", "unsupported PDU tag 0xa4"),  # v1 Trap-PDU
    ],
)
def test_message_rejections(packet: str, reason: str) -> None:
    with pytest.raises(BerError, match=reason):
        decode_message(bytes.fromhex(packet))


def test_memoryview_and_bytearray_input() -> None:
    assert decode_response(memoryview(RESPONSE_PACKET)) == decode_response(RESPONSE_PACKET)
    assert decode_response(bytearray(RESPONSE_PACKET)) == decode_response(RESPONSE_PACKET)


@pytest.mark.parametrize(
    ("n", "encoded"),
    [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"), (65535, "82ffff")],
)
def test_encode_length(n: int, encoded: str) -> None:
    assert encode_length(n).hex() == encoded


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "020100"), (127, "02017f"), (128, "02020080"), (-128, "020180"), (-129, "0202ff7f")],
)
def test_encode_integer_is_minimal(value: int, encoded: str) -> None:
    assert encode_integer(value).hex() == encoded


@pytest.mark.parametrize(
    ("value", "tag", "encoded"),
    [
        (2**32 - 1, COUNTER32, "410500ffffffff"),
        (2**31, GAUGE32, "42050080000000"),
        (0, TIMETICKS, "430100"),
        (2**64 - 1, COUNTER64, "460900ffffffffffffffff"),
        (b"", OPAQUE, "4400"),
        (IPv4Address("10.0.0.1"), None, "40040a000001"),  # parse-only
        ((2, 999), None, "06028837"),
        (Absent.END_OF_MIB_VIEW, None, "8200"),
    ],
)
def test_encode_value(value: VarBindValue, tag: int | None, encoded: str) -> None:
    assert encode_value(value, tag).hex() == encoded


@pytest.mark.parametrize(
    "oid",
    [(1,), (3, 1), (1, 40), (1, 3, -1), (1, 3, 2**32), tuple(range(2, 131))],
)
def test_encode_oid_rejects(oid: Oid) -> None:
    with pytest.raises(ValueError, match=r"OID|arcs"):
        encode_oid(oid)


def test_encoder_refuses_what_snmp_does_not_have() -> None:
    with pytest.raises(ValueError, match="GETBULK does not exist in SNMPv1"):
        RequestTemplate(VERSION_1, b"c", GET_BULK, [SYS_DESCR], max_repetitions=5)
    with pytest.raises(ValueError, match="GETBULK only"):
        RequestTemplate(VERSION_2C, b"c", GET, [SYS_DESCR], max_repetitions=5)
    with pytest.raises(ValueError, match="unsigned 32-bit"):
        encode_value(-1, COUNTER32)
    with pytest.raises(ValueError, match="request-id"):
        RequestTemplate(VERSION_2C, b"c", GET, [SYS_DESCR]).encode(2**31)


# --- hypothesis ----------------------------------------------------------------------------

arcs = st.integers(0, 2**32 - 1)
small_arcs = st.integers(0, 300)


@st.composite
def oids(draw: st.DrawFn) -> Oid:
    top = draw(st.integers(0, 2))
    second = draw(st.integers(0, 39) if top < 2 else st.integers(0, 2**32 - 1))
    rest = draw(st.lists(st.one_of(small_arcs, arcs), max_size=20))
    return (top, second, *rest)


typed_values: st.SearchStrategy[tuple[VarBindValue, int | None]] = st.one_of(
    st.tuples(st.integers(-(2**63), 2**64 - 1), st.just(INTEGER)),
    st.tuples(st.integers(0, 2**32 - 1), st.sampled_from([COUNTER32, GAUGE32, TIMETICKS])),
    st.tuples(st.integers(0, 2**64 - 1), st.just(COUNTER64)),
    st.tuples(st.binary(max_size=300), st.sampled_from([OCTET_STRING, OPAQUE])),
    st.tuples(st.binary(max_size=8).filter(lambda b: len(b) != 4), st.just(IP_ADDRESS)),
    st.tuples(st.builds(IPv4Address, st.integers(0, 2**32 - 1)), st.none()),
    st.tuples(oids(), st.none()),
    st.tuples(st.sampled_from(list(Absent)), st.none()),
)


@given(
    version=st.sampled_from([VERSION_1, VERSION_2C]),
    community=st.binary(max_size=40),
    request_id=st.integers(-(2**31), 2**31 - 1),
    status=st.integers(0, 18),
    index=st.integers(0, 2**31 - 1),
    varbinds=st.lists(st.tuples(oids(), typed_values), max_size=30),
)
def test_response_round_trip(
    version: int,
    community: bytes,
    request_id: int,
    status: int,
    index: int,
    varbinds: list[tuple[Oid, tuple[VarBindValue, int | None]]],
) -> None:
    packet = encode_message(
        version,
        community,
        RESPONSE,
        request_id,
        status,
        index,
        [(oid, encode_value(value, tag)) for oid, (value, tag) in varbinds],
    )
    message = decode_response(packet)
    assert message == (
        version,
        community,
        RESPONSE,
        request_id,
        status,
        index,
        [(oid, value) for oid, (value, _) in varbinds],
    )


@given(
    version=st.sampled_from([VERSION_1, VERSION_2C]),
    pdu_type=st.sampled_from([GET, GET_NEXT, GET_BULK]),
    community=st.binary(max_size=40),
    request_id=st.integers(-(2**31), 2**31 - 1),
    max_repetitions=st.integers(0, 2**31 - 1),
    request_oids=st.lists(oids(), min_size=1, max_size=20),
)
def test_request_round_trip_and_template_equals_general_encoder(
    version: int,
    pdu_type: int,
    community: bytes,
    request_id: int,
    max_repetitions: int,
    request_oids: list[Oid],
) -> None:
    if pdu_type == GET_BULK and version == VERSION_1:
        version = VERSION_2C
    bulk = max_repetitions if pdu_type == GET_BULK else 0
    packet = encode_request(
        version, community, pdu_type, request_id, request_oids, max_repetitions=bulk
    )
    nulls = [(oid, b"\x05\x00") for oid in request_oids]
    assert packet == encode_message(version, community, pdu_type, request_id, 0, bulk, nulls)
    assert decode_message(packet) == (
        version,
        community,
        pdu_type,
        request_id,
        0,
        bulk,
        [(oid, Absent.NULL) for oid in request_oids],
    )


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_ber_error(data: bytes) -> None:
    with contextlib.suppress(BerError):
        decode_message(data)
    with contextlib.suppress(BerError):
        decode_header(data)


@settings(max_examples=300)
@given(
    st.data(),
    st.lists(st.tuples(oids(), typed_values), min_size=1, max_size=8),
)
def test_mutated_messages_raise_only_ber_error(
    data: st.DataObject, varbinds: list[tuple[Oid, tuple[VarBindValue, int | None]]]
) -> None:
    """Random bytes die at the first octet; damage to a real message reaches every branch."""
    packet = bytearray(
        encode_message(
            VERSION_2C,
            b"public",
            RESPONSE,
            1,
            0,
            0,
            [(oid, encode_value(value, tag)) for oid, (value, tag) in varbinds],
        )
    )
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(packet) - 1))
        action = data.draw(st.sampled_from(["set", "cut", "insert"]))
        if action == "set":
            packet[position] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del packet[position:]
            if not packet:
                break
        else:
            packet.insert(position, data.draw(st.integers(0, 255)))
    with contextlib.suppress(BerError):
        decode_message(bytes(packet))
