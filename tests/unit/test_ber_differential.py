"""Differential tests: the lean BER codec against pysnmp + pyasn1, the reference implementation.

The lean codec replaces pysnmp on the poll path, so "correct" means "what
pysnmp would have given the readers". Hypothesis builds varbind lists of
every SNMP type; pysnmp's own message classes and pyasn1's BER encoder turn
them into packets; our decoder must then return exactly what pyasn1's decoder
plus `exporter.snmp.client._to_python` return (with the absent kinds told
apart by pysnmp's classes). The other way round, our requests must decode in
pyasn1 to the PDU we meant. Both encoders must also agree byte for byte.

Known, intended differences are only on packets pysnmp refuses: we read an
INTEGER beyond 32 bits, a Counter32 sent without its leading 0x00, and an
IpAddress of the wrong size (as bytes). `test_mutations_agree_when_both_accept`
therefore compares only packets that both decoders accept.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api, rfc1905
from pysnmp.proto.api import v1, v2c

from exporter.snmp.ber import (
    GET,
    GET_BULK,
    GET_NEXT,
    RESPONSE,
    VERSION_1,
    VERSION_2C,
    Absent,
    BerError,
    Message,
    VarBindValue,
    decode_message,
    decode_response,
)
from exporter.snmp.ber_encode import encode_request
from exporter.snmp.client import _to_python
from exporter.snmp.types import Oid

EXAMPLES = int(os.environ.get("BER_FUZZ_EXAMPLES", "200"))
"""A few hundred keep the suite fast; BER_FUZZ_EXAMPLES=20000 is a real fuzzing run."""

_ABSENT_CLASSES = (
    (rfc1905.NoSuchObject, Absent.NO_SUCH_OBJECT),
    (rfc1905.NoSuchInstance, Absent.NO_SUCH_INSTANCE),
    (rfc1905.EndOfMibView, Absent.END_OF_MIB_VIEW),
    (univ.Null, Absent.NULL),  # after the exceptions: pyasn1 derives them from Null
)


def reference_value(value: Any) -> VarBindValue:
    """What the readers got from pysnmp, with the absent kinds kept apart."""
    for cls, absent in _ABSENT_CLASSES:
        if isinstance(value, cls):
            return absent
    converted = _to_python(value)
    assert converted is not None, f"pysnmp value without a mapping: {value!r}"
    return converted


def reference_decode(packet: bytes) -> Message:
    """pyasn1 decodes, pysnmp's API reads the fields: the reference `decode_message`."""
    module = v1 if api.decodeMessageVersion(packet) == api.SNMP_VERSION_1 else v2c
    message, rest = decoder.decode(packet, asn1Spec=module.Message())
    assert not rest
    pdu = module.apiMessage.get_pdu(message)
    # error-status/index or non-repeaters/max-repetitions, as on the wire (pysnmp's
    # get_error_index clamps an out-of-range index, which is policy, not decoding)
    status, index = int(pdu.getComponentByPosition(1)), int(pdu.getComponentByPosition(2))
    return Message(
        version=int(module.apiMessage.get_version(message)),
        community=bytes(module.apiMessage.get_community(message)),
        pdu_type=pdu.tagSet[0].tagFormat | pdu.tagSet[0].tagClass | pdu.tagSet[0].tagId,
        request_id=int(module.apiPDU.get_request_id(pdu)),
        error_status=status,
        error_index=index,
        varbinds=[
            (tuple(oid), reference_value(value)) for oid, value in module.apiPDU.get_varbinds(pdu)
        ],
    )


# --- strategies: pysnmp values, for v2c and the v1 subset ----------------------------------

u32 = st.integers(0, 2**32 - 1)


@st.composite
def oids(draw: st.DrawFn) -> Oid:
    top = draw(st.integers(0, 2))
    second = draw(st.integers(0, 39) if top < 2 else st.one_of(st.integers(0, 200), u32))
    return (top, second, *draw(st.lists(st.one_of(st.integers(0, 300), u32), max_size=16)))


V2C_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.builds(v2c.Integer, st.integers(-(2**31), 2**31 - 1)),
    st.builds(v2c.OctetString, st.binary(max_size=64)),
    st.builds(v2c.Bits, st.binary(max_size=4)),
    st.builds(v2c.IpAddress, st.binary(min_size=4, max_size=4)),
    st.builds(v2c.Counter32, u32),
    st.builds(v2c.Gauge32, u32),
    st.builds(v2c.Unsigned32, u32),
    st.builds(v2c.TimeTicks, u32),
    st.builds(v2c.Counter64, st.integers(0, 2**64 - 1)),
    st.builds(v2c.Opaque, st.binary(max_size=16)),
    st.builds(v2c.ObjectIdentifier, oids()),
    st.just(v2c.Null("")),
    st.just(v2c.NoSuchObject("")),
    st.just(v2c.NoSuchInstance("")),
    st.just(v2c.EndOfMibView("")),
)

V1_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.builds(v1.Integer, st.integers(-(2**63), 2**63 - 1)),
    st.builds(v1.OctetString, st.binary(max_size=64)),
    st.builds(v1.IpAddress, st.binary(min_size=4, max_size=4)),
    st.builds(v1.Counter, u32),
    st.builds(v1.Gauge, u32),
    st.builds(v1.TimeTicks, u32),
    st.builds(v1.Opaque, st.binary(max_size=16)),
    st.builds(v1.ObjectIdentifier, oids()),
    st.just(v1.Null("")),
)


def pysnmp_response(
    version: int, community: bytes, request_id: int, status: int, index: int, varbinds: Any
) -> bytes:
    module = v1 if version == VERSION_1 else v2c
    pdu = module.GetResponsePDU()
    module.apiPDU.set_defaults(pdu)
    module.apiPDU.set_request_id(pdu, request_id)
    module.apiPDU.set_error_status(pdu, status)
    module.apiPDU.set_error_index(pdu, index)
    module.apiPDU.set_varbinds(pdu, varbinds)
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, community)
    module.apiMessage.set_pdu(message, pdu)
    packet: bytes = encoder.encode(message)
    return packet


responses = st.one_of(
    st.tuples(st.just(VERSION_2C), st.lists(st.tuples(oids(), V2C_VALUES), max_size=16)),
    st.tuples(st.just(VERSION_1), st.lists(st.tuples(oids(), V1_VALUES), max_size=16)),
)


@settings(max_examples=EXAMPLES)
@given(
    response=responses,
    community=st.binary(max_size=32),
    request_id=st.integers(-(2**31), 2**31 - 1),
    status=st.integers(0, 18),
    index=st.integers(0, 25),
)
def test_responses_decode_like_pysnmp(
    response: tuple[int, list[tuple[Oid, Any]]],
    community: bytes,
    request_id: int,
    status: int,
    index: int,
) -> None:
    version, varbinds = response
    if version == VERSION_1:
        status %= 6  # v1 defines error-status 0..5
    packet = pysnmp_response(version, community, request_id, status, index, varbinds)

    ours = decode_response(packet)

    assert ours == reference_decode(packet)
    assert ours.pdu_type == RESPONSE
    for (_, value), (_, original) in zip(ours.varbinds, varbinds, strict=True):
        if isinstance(original, v2c.IpAddress | v1.IpAddress):
            assert str(value) == original.prettyPrint()  # an IPv4Address, not 4 bytes


@st.composite
def requests(draw: st.DrawFn) -> tuple[int, int, int, list[Oid]]:
    version = draw(st.sampled_from([VERSION_1, VERSION_2C]))
    kinds = [GET, GET_NEXT] if version == VERSION_1 else [GET, GET_NEXT, GET_BULK]
    pdu_type = draw(st.sampled_from(kinds))
    max_repetitions = draw(st.integers(0, 200)) if pdu_type == GET_BULK else 0
    return version, pdu_type, max_repetitions, draw(st.lists(oids(), min_size=1, max_size=8))


def pysnmp_request(
    version: int, community: bytes, pdu_type: int, request_id: int, max_rep: int, oids: list[Oid]
) -> bytes:
    module = v1 if version == VERSION_1 else v2c
    cls = {GET: module.GetRequestPDU, GET_NEXT: module.GetNextRequestPDU}.get(pdu_type)
    pdu = cls() if cls is not None else v2c.GetBulkRequestPDU()
    pdu_api = v2c.apiBulkPDU if pdu_type == GET_BULK else module.apiPDU
    pdu_api.set_defaults(pdu)
    pdu_api.set_request_id(pdu, request_id)
    if pdu_type == GET_BULK:
        v2c.apiBulkPDU.set_max_repetitions(pdu, max_rep)
    pdu_api.set_varbinds(pdu, [(oid, module.Null("")) for oid in oids])
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, community)
    module.apiMessage.set_pdu(message, pdu)
    packet: bytes = encoder.encode(message)
    return packet


@settings(max_examples=EXAMPLES)
@given(
    request=requests(),
    community=st.binary(max_size=32),
    request_id=st.integers(-(2**31), 2**31 - 1),
)
def test_requests_decode_in_pysnmp_as_meant(
    request: tuple[int, int, int, list[Oid]], community: bytes, request_id: int
) -> None:
    version, pdu_type, max_rep, request_oids = request
    packet = encode_request(
        version, community, pdu_type, request_id, request_oids, max_repetitions=max_rep
    )

    assert reference_decode(packet) == Message(
        version,
        community,
        pdu_type,
        request_id,
        0,
        max_rep,
        [(oid, Absent.NULL) for oid in request_oids],
    )
    reference = pysnmp_request(version, community, pdu_type, request_id, max_rep, request_oids)
    if request_id >= 0:  # pyasn1 spends an extra octet on -128, -32768, ...: X.690 does not
        assert packet == reference


@settings(max_examples=EXAMPLES)
@given(
    response=responses,
    data=st.data(),
)
def test_mutations_agree_when_both_accept(
    response: tuple[int, list[tuple[Oid, Any]]], data: st.DataObject
) -> None:
    """Damaged packets: whatever both decoders accept, they must read the same way."""
    version, varbinds = response
    packet = bytearray(pysnmp_response(version, b"public", 1234, 0, 0, varbinds))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(packet) - 1))
        packet[position] = data.draw(st.integers(0, 255))
    try:
        ours = decode_message(bytes(packet))
    except BerError:
        return
    reference = None
    with contextlib.suppress(Exception):  # pyasn1 raises many kinds; any means "refused"
        reference = reference_decode(bytes(packet))
    if reference is not None:
        assert ours == reference


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (v2c.Integer(-(2**31)), -(2**31)),
        (v2c.Counter64(2**64 - 1), 2**64 - 1),
        (v2c.Gauge32(2**31), 2**31),
        (v2c.OctetString(b""), b""),
        (v2c.ObjectIdentifier((2, 999, 2**32 - 1)), (2, 999, 2**32 - 1)),
        (v2c.EndOfMibView(""), Absent.END_OF_MIB_VIEW),
    ],
)
def test_reference_edges(value: Any, expected: VarBindValue) -> None:
    """The edges hypothesis may not reach in a short run, pinned against pysnmp."""
    packet = pysnmp_response(VERSION_2C, b"c", 1, 0, 0, [((1, 3, 6), value)])
    assert decode_response(packet).varbinds == [((1, 3, 6), expected)]
    assert reference_decode(packet).varbinds == [((1, 3, 6), expected)]
