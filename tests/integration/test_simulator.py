"""The simulator is the ground every integration test stands on, so it is tested first.

These tests talk to snmpsim only with the hand-built packets in
`demo.simulator` (no pysnmp here), plus net-snmp's `snmpget` for SNMPv3 when
it is installed. Every packet goes to 127.0.0.0/8.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from demo.simulator import (
    SYS_OBJECT_ID,
    Simulator,
    SimulatorError,
    V3User,
    discover_engine_id,
    require_loopback,
    snmp_get,
)
from tests.conftest import FIXTURES, V3_COMMUNITY, V3_USERS, fixture_communities
from tests.fixtures.huge import write_huge_agent

pytestmark = pytest.mark.integration

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SUPPLY_LEVEL = "1.3.6.1.2.1.43.11.1.1.9"


def expected(community: str) -> dict[str, object]:
    doc: dict[str, object] = json.loads((FIXTURES / f"{community}.expected.json").read_text())
    return doc


def identity(community: str) -> dict[str, object]:
    section = expected(community)["identity"]
    assert isinstance(section, dict)
    return section


def test_every_fixture_has_an_oracle() -> None:
    communities = fixture_communities()
    assert {"color_mfp", "mono_printer", "sentinels", "broken_agent", "snmpv3"} <= set(communities)
    for community in communities:
        assert expected(community)["community"] == community


@pytest.mark.parametrize("community", fixture_communities())
def test_answers_get_on_each_community(snmp_agent: Simulator, community: str) -> None:
    response = snmp_get(snmp_agent.host, snmp_agent.port, community, SYS_OBJECT_ID)

    assert response is not None
    assert response.error_status == 0
    (varbind,) = response.varbinds
    assert varbind.oid == SYS_OBJECT_ID
    assert varbind.value == identity(community)["sys_object_id"]


def test_hex_values_come_back_as_raw_octets(snmp_agent: Simulator) -> None:
    response = snmp_get(snmp_agent.host, snmp_agent.port, "broken_agent", SYS_DESCR)

    assert response is not None
    raw = response.varbinds[0].value
    assert isinstance(raw, bytes)
    assert b"r\xe9seau" in raw  # Latin-1, not valid UTF-8: served byte for byte


def test_missing_oid_is_no_such_instance(snmp_agent: Simulator) -> None:
    response = snmp_get(snmp_agent.host, snmp_agent.port, "color_mfp", "1.3.6.1.2.1.1.99.0")

    assert response is not None
    assert response.varbinds[0].tag == 0x81


def test_unknown_community_is_dropped_silently(snmp_agent: Simulator) -> None:
    assert snmp_get(snmp_agent.host, snmp_agent.port, "no-such-community", timeout=0.5) is None


def test_broken_agent_walks_supply_levels_out_of_order(snmp_agent: Simulator) -> None:
    """snmpsim answers GETNEXT with the next line in file order; the fixture relies on it."""
    seen: list[str] = []
    oid = SUPPLY_LEVEL
    for _ in range(10):
        response = snmp_get(snmp_agent.host, snmp_agent.port, "broken_agent", oid, get_next=True)
        assert response is not None
        oid = response.varbinds[0].oid
        if not oid.startswith(SUPPLY_LEVEL + "."):
            break
        seen.append(oid.removeprefix(SUPPLY_LEVEL + "."))

    assert seen == ["1.1", "1.3", "1.2", "1.4"]


def test_engine_discovery_names_this_simulator(snmp_agent: Simulator) -> None:
    assert discover_engine_id(snmp_agent.host, snmp_agent.port) == snmp_agent.engine_id


@pytest.mark.parametrize(
    "host", ["10.0.0.1", "192.168.1.20", "0.0.0.0", "8.8.8.8", "128.0.0.1", "localhost", "::1"]
)
def test_refuses_non_loopback(host: str) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        Simulator(FIXTURES, [(host, None)])
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        require_loopback(host)
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        snmp_get(host, 161, "public", timeout=0.1)


def test_rejects_bad_v3_users() -> None:
    with pytest.raises(ValueError, match="8 characters"):
        V3User("short", "SHA", "tiny")
    with pytest.raises(ValueError, match="needs authentication"):
        V3User("privonly", "none", None, "AES", "privkey123")
    with pytest.raises(ValueError, match="bad auth key"):
        V3User("equals", "SHA", "key=with=equals")


def test_stop_ends_the_process_and_cleans_up() -> None:
    sim = Simulator(FIXTURES, [("127.0.0.2", 0), ("127.0.0.3", None)])
    sim.start()
    pid = sim.pid
    assert pid is not None
    workdir = sim.workdir
    assert workdir is not None
    assert workdir.is_dir()
    assert len({port for _, port in sim.endpoints}) == 2
    for host, port in sim.endpoints:
        assert snmp_get(host, port, "mono_printer") is not None

    sim.stop()
    sim.stop()  # idempotent

    assert not sim.running
    assert not workdir.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.endpoints


def test_a_dead_agent_reports_its_log(tmp_path: Path) -> None:
    (tmp_path / "bad.snmprec").write_text("1.3.6.1.2.1.1.1.0|4|fine\nnot a record\n")

    with pytest.raises(SimulatorError, match="broken record"):
        Simulator(tmp_path, start_timeout=20).start()


def test_a_port_held_by_another_agent_is_detected(snmp_agent: Simulator) -> None:
    with pytest.raises(SimulatorError, match="another agent"):
        Simulator(FIXTURES, [(snmp_agent.host, snmp_agent.port)], start_timeout=10).start()


def test_huge_agent_is_served(tmp_path: Path) -> None:
    write_huge_agent(tmp_path / "huge.snmprec", 300)

    with Simulator(tmp_path, log_level="error") as sim:
        response = snmp_get(sim.host, sim.port, "huge", "1.3.6.1.2.1.43.18.1.1.8.1.300")
        after = snmp_get(sim.host, sim.port, "huge", "1.3.6.1.2.1.43.18.1.1.9.1.300", get_next=True)

    assert response is not None
    assert response.varbinds[0].value == b"Alert 300"
    assert after is not None
    assert after.varbinds[0].tag == 0x82  # endOfMibView: the alert time column is the last line


_NET_SNMP_AUTH = {"MD5": "MD5", "SHA": "SHA", "SHA256": "SHA-256", "SHA512": "SHA-512"}
_NET_SNMP_PRIV = {"DES": "DES", "AES": "AES", "AES256": "AES-256"}


def _snmpget_v3(agent: Simulator, user: V3User, context: str) -> subprocess.CompletedProcess[str]:
    args = ["snmpget", "-v3", "-l", user.security_level, "-u", user.name, "-n", context]
    if user.auth_key is not None:
        args += ["-a", _NET_SNMP_AUTH[user.auth_protocol], "-A", user.auth_key]
    if user.priv_key is not None:
        args += ["-x", _NET_SNMP_PRIV[user.priv_protocol], "-X", user.priv_key]
    args += ["-On", "-Ovq", "-r", "0", "-t", "2", f"{agent.host}:{agent.port}", SYS_OBJECT_ID]
    return subprocess.run(args, capture_output=True, text=True, timeout=15, check=False)


@pytest.mark.skipif(shutil.which("snmpget") is None, reason="net-snmp snmpget not installed")
@pytest.mark.parametrize("user", V3_USERS, ids=lambda u: u.name)
@pytest.mark.parametrize("context", [V3_COMMUNITY, ""], ids=["named", "empty"])
def test_v3_users_are_served(snmp_agent: Simulator, user: V3User, context: str) -> None:
    result = _snmpget_v3(snmp_agent, user, context)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().lstrip(".") == identity(V3_COMMUNITY)["sys_object_id"]


@pytest.mark.skipif(shutil.which("snmpget") is None, reason="net-snmp snmpget not installed")
def test_v3_wrong_key_is_refused(snmp_agent: Simulator) -> None:
    user = snmp_agent.v3_user("shaaes")
    wrong = V3User(user.name, user.auth_protocol, "not-the-key", user.priv_protocol, user.priv_key)

    result = _snmpget_v3(snmp_agent, wrong, V3_COMMUNITY)

    assert result.returncode != 0
