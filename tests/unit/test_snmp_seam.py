"""The SNMP seam's pure parts: OIDs, credentials, secrets, walk bookkeeping, snmprec parsing."""

from __future__ import annotations

import pickle
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.type import univ

from exporter.secret import Secret
from exporter.snmp import CredentialError, CredentialMemory, community, parse_oid, usm
from exporter.snmp.ber import Absent, VarBindValue
from exporter.snmp.client import SnmpOptions, _to_python, _varbind_value
from exporter.snmp.memory import MemoryClient, load_snmprec, parse_snmprec_line
from exporter.snmp.types import Oid, SnmpValue, Walk, format_oid, is_under
from exporter.snmp.walking import extend_walk


@pytest.mark.parametrize(
    ("text", "oid"),
    [
        ("1.3.6.1", (1, 3, 6, 1)),
        (".1.3.6.1.2.1.1.1.0", (1, 3, 6, 1, 2, 1, 1, 1, 0)),
        (" 1.3 ", (1, 3)),
    ],
)
def test_parse_oid(text: str, oid: tuple[int, ...]) -> None:
    assert parse_oid(text) == oid
    assert format_oid(oid) == text.strip().lstrip(".")


@pytest.mark.parametrize("bad", ["", ".", "1.3.x", "1..3", "1.-3"])
def test_parse_oid_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="OID"):
        parse_oid(bad)


def test_is_under() -> None:
    assert is_under((1, 3, 6, 1, 2), (1, 3, 6))
    assert not is_under((1, 3, 7), (1, 3, 6))
    assert not is_under((1, 3), (1, 3, 6))


def test_secret_never_prints() -> None:
    s = Secret("hunter22")
    assert "hunter22" not in repr(s)
    assert "hunter22" not in str(s)
    assert "hunter22" not in f"{s}"
    assert "hunter22" not in repr(community("lab", "hunter22"))
    assert s.reveal() == "hunter22"
    assert s == Secret("hunter22")
    assert s != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_usm_levels_follow_keys() -> None:
    assert usm("a", "u").security_level == "noAuthNoPriv"
    assert usm("a", "u", auth_protocol="sha", auth_key="12345678").security_level == "authNoPriv"
    creds = usm(
        "a",
        "u",
        auth_protocol="SHA-256",
        auth_key="12345678",
        priv_protocol="aes",
        priv_key="abcdefgh",
    )
    assert (creds.security_level, creds.auth_protocol, creds.priv_protocol) == (
        "authPriv",
        "SHA256",
        "AES",
    )
    assert "12345678" not in repr(creds)
    assert "abcdefgh" not in creds.describe()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"auth_protocol": "SHA", "auth_key": "short"}, "auth_key must be at least 8"),
        ({"auth_protocol": "ROT13", "auth_key": "12345678"}, "auth_protocol must be one of"),
        ({"priv_protocol": "AES", "priv_key": "12345678"}, "needs an auth_protocol"),
        ({"auth_key": "12345678"}, "auth_key given without its protocol"),
    ],
)
def test_usm_errors_name_the_field(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(CredentialError, match=message):
        usm("office", "monitor", **kwargs)


def test_empty_community_is_refused() -> None:
    with pytest.raises(CredentialError, match="'lab'"):
        community("lab", "")


def test_options_validate() -> None:
    with pytest.raises(ValueError, match="max_repetitions"):
        SnmpOptions(max_repetitions=0)
    with pytest.raises(ValueError, match="timeout"):
        SnmpOptions(timeout=0)


def test_credential_memory_puts_the_last_good_set_first() -> None:
    sets = [community("a", "x"), community("b", "y"), community("c", "z")]
    memory = CredentialMemory()
    assert [c.name for c in memory.order("t:161", sets)] == ["a", "b", "c"]
    memory.remember("t:161", sets[2])
    assert [c.name for c in memory.order("t:161", sets)] == ["c", "a", "b"]
    assert [c.name for c in memory.order("other:161", sets)] == ["a", "b", "c"]


ROOT = (1, 3, 6, 1, 2, 1, 43, 11)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (univ.Integer(-3), -3),
        (univ.OctetString(b"\xe9t\xe9"), b"\xe9t\xe9"),
        (univ.ObjectIdentifier("1.3.6.1.4.1.11"), (1, 3, 6, 1, 4, 1, 11)),
        (univ.Null(""), None),
    ],
)
def test_to_python_maps_pyasn1_base_types(value: object, expected: object) -> None:
    """Responses decoded without MIB lookup carry pyasn1 base types, not SNMP subclasses."""
    assert _to_python(value) == expected


def test_extend_stops_at_end_of_subtree() -> None:
    rows: list[tuple[Oid, SnmpValue]] = []
    done, stopped, last = extend_walk(
        rows,
        [((*ROOT, 1), 5), ((*ROOT, 2), 6), ((1, 3, 6, 1, 2, 1, 44), 7)],
        ROOT,
        ROOT,
        100,
    )
    assert (done, stopped, last) == (True, None, (*ROOT, 2))
    assert [v for _, v in rows] == [5, 6]


def test_extend_detects_non_increasing_oids() -> None:
    rows: list[tuple[Oid, SnmpValue]] = []
    done, stopped, _ = extend_walk(rows, [((*ROOT, 5), 1), ((*ROOT, 3), 2)], ROOT, ROOT, 100)
    assert (done, stopped) == (True, "non_increasing")
    assert len(rows) == 1


def test_extend_stops_at_row_limit() -> None:
    rows: list[tuple[Oid, SnmpValue]] = []
    varbinds: list[tuple[Oid, VarBindValue]] = [((*ROOT, i), i) for i in range(1, 10)]
    done, stopped, _ = extend_walk(rows, varbinds, ROOT, ROOT, 4)
    assert (done, stopped, len(rows)) == (True, "max_rows", 4)


def test_extend_skips_no_such_and_ends_at_end_of_mib_view() -> None:
    rows: list[tuple[Oid, SnmpValue]] = []
    varbinds: list[tuple[Oid, VarBindValue]] = [
        ((*ROOT, 1), Absent.NO_SUCH_INSTANCE),
        ((*ROOT, 2), 6),
        ((*ROOT, 3), Absent.END_OF_MIB_VIEW),
    ]
    done, stopped, last = extend_walk(rows, varbinds, ROOT, ROOT, 100)
    assert (done, stopped, last, rows) == (True, None, (*ROOT, 2), [((*ROOT, 2), 6)])


def test_extend_with_an_empty_response_finishes() -> None:
    assert extend_walk([], [], ROOT, ROOT, 5)[0] is True


def test_pysnmp_values_reach_the_shared_loop_as_values_or_absent() -> None:
    """(endOfMibView and noSuch* come through the v3 walks against snmpsim, in
    tests/integration/test_probe.py; only exporter/snmp may import pysnmp's types.)"""
    assert _varbind_value(univ.Null("")) is Absent.NULL
    assert _varbind_value(univ.Integer(5)) == 5


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1.3.6.1.2.1.1.1.0|4|HP LaserJet", ((1, 3, 6, 1, 2, 1, 1, 1, 0), b"HP LaserJet")),
        ("1.3.6.1.2.1.1.1.0|4x|e9", ((1, 3, 6, 1, 2, 1, 1, 1, 0), b"\xe9")),
        (
            "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11",
            ((1, 3, 6, 1, 2, 1, 1, 2, 0), (1, 3, 6, 1, 4, 1, 11)),
        ),
        ("1.3.6.1.2.1.1.3.0|67|12345", ((1, 3, 6, 1, 2, 1, 1, 3, 0), 12345)),
        ("1.3.6.1.2.1.43.11.1.1.9.1.1|2|-3", ((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1), -3)),
        (
            "1.3.6.1.2.1.4.20.1.1.127.0.0.1|64|127.0.0.1",
            ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 127, 0, 0, 1), IPv4Address("127.0.0.1")),
        ),
        ("1.3|70|18446744073709551615", ((1, 3), 2**64 - 1)),
        ("garbage", None),
        ("1.3|2|notanumber", None),
        ("1.3|4:numeric|x", None),
    ],
)
def test_parse_snmprec_line(line: str, expected: object) -> None:
    assert parse_snmprec_line(line) == expected


@given(st.text(max_size=200))
def test_parse_snmprec_line_never_raises(line: str) -> None:
    parse_snmprec_line(line)


async def test_memory_client_walks_in_order_and_bounds_rows(tmp_path: Path) -> None:
    path = tmp_path / "x.snmprec"
    path.write_text(
        "1.3.6.1.2.1.1.1.0|4|descr\n1.3.6.1.2.1.43.11.1.1.9.1.2|2|50\n"
        "1.3.6.1.2.1.43.11.1.1.9.1.1|2|40\n1.3.6.1.2.1.44.1|2|1\n"
    )
    client = MemoryClient(load_snmprec(path), max_rows=1)
    walk = await client.walk((1, 3, 6, 1, 2, 1, 43))
    assert walk == Walk(
        (1, 3, 6, 1, 2, 1, 43), (((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1), 40),), "max_rows"
    )
    assert await client.get([(1, 3, 6, 1, 2, 1, 1, 1, 0), (9, 9)]) == {
        (1, 3, 6, 1, 2, 1, 1, 1, 0): b"descr"
    }
