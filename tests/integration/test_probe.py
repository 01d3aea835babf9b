"""`probe` and the readers over real SNMP: snmpsim on 127.0.0.1 serving tests/fixtures."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.simulator import Simulator, V3User
from exporter.cli import main as cli_main
from exporter.device import read_device
from exporter.snmp import (
    CredentialMemory,
    SnmpAuthError,
    SnmpOptions,
    SnmpTimeout,
    community,
    connect,
    usm,
)
from tests.fixtures.huge import write_huge_agent
from tests.oracle import load_oracle, mismatches

pytestmark = pytest.mark.integration

FAST = SnmpOptions(timeout=0.3, retries=0)


def _usm(user: V3User, context: str = "") -> object:
    return usm(
        user.name,
        user.name,
        auth_protocol=user.auth_protocol,
        auth_key=user.auth_key,
        priv_protocol=user.priv_protocol,
        priv_key=user.priv_key,
        context_name=context,
    )


@pytest.mark.parametrize("name", ["color_mfp", "mono_printer", "sentinels", "broken_agent"])
@pytest.mark.parametrize("version", [1, 2])
async def test_fixture_over_snmp_matches_its_oracle(
    snmp_agent: Simulator, name: str, version: int
) -> None:
    creds = community("test", name, version=1 if version == 1 else 2)
    client = await connect(snmp_agent.host, snmp_agent.port, [creds])
    snap = (await read_device(client)).snapshot
    assert mismatches(load_oracle(name), snap.to_json()) == []


async def test_walk_that_goes_backwards_is_stopped_and_kept(snmp_agent: Simulator) -> None:
    client = await connect(snmp_agent.host, snmp_agent.port, [community("t", "broken_agent")])
    walk = await client.walk((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9))
    assert walk.stopped == "non_increasing"
    assert [oid[-1] for oid, _ in walk.rows] == [1, 3]
    snap = (await read_device(client)).snapshot
    assert any("not greater than the previous one" in w for w in snap.warnings)
    assert snap.reachable
    assert snap.error is None


@pytest.mark.parametrize("user_name", ["noauth", "md5des", "shaaes", "sha256aes", "sha512aes256"])
@pytest.mark.parametrize("context", ["", "snmpv3"])
async def test_snmpv3_users_read_the_device(
    snmp_agent: Simulator, user_name: str, context: str
) -> None:
    creds = _usm(snmp_agent.v3_user(user_name), context)
    client = await connect(snmp_agent.host, snmp_agent.port, [creds])  # type: ignore[list-item]
    snap = (await read_device(client)).snapshot
    assert mismatches(load_oracle("snmpv3"), snap.to_json()) == []


async def test_snmpv3_wrong_key_is_an_auth_error(snmp_agent: Simulator) -> None:
    creds = usm(
        "bad",
        "shaaes",
        auth_protocol="SHA",
        auth_key="not-the-key",
        priv_protocol="AES",
        priv_key="shaaes-priv-key",
    )
    with pytest.raises(SnmpAuthError, match="shaaes"):
        await connect(snmp_agent.host, snmp_agent.port, [creds], FAST)


async def test_snmpv3_unknown_user_is_an_auth_error(snmp_agent: Simulator) -> None:
    with pytest.raises(SnmpAuthError):
        await connect(snmp_agent.host, snmp_agent.port, [usm("x", "nobody")], FAST)


async def test_credential_sets_are_tried_in_order_and_remembered(snmp_agent: Simulator) -> None:
    memory = CredentialMemory()
    sets = [community("wrong", "nope"), community("right", "mono_printer")]
    client = await connect(snmp_agent.host, snmp_agent.port, sets, FAST, memory)
    assert client.credentials_name == "right"
    assert memory.order(client.target, sets)[0].name == "right"


async def test_wrong_community_times_out_naming_the_sets(snmp_agent: Simulator) -> None:
    sets = [community("a", "nope"), community("b", "nada")]
    with pytest.raises(SnmpTimeout, match=r"no answer with any credential set \(a, b\)"):
        await connect(snmp_agent.host, snmp_agent.port, sets, FAST)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def huge_agent(tmp_path: Path) -> Iterator[Simulator]:
    write_huge_agent(tmp_path / "huge.snmprec", 3000)
    with Simulator(tmp_path, start_timeout=60) as sim:
        yield sim


async def test_huge_table_is_bounded_by_rows(huge_agent: Simulator) -> None:
    options = SnmpOptions(max_rows=400, max_repetitions=50)
    client = await connect(huge_agent.host, huge_agent.port, [community("h", "huge")], options)
    walk = await client.walk((1, 3, 6, 1, 2, 1, 43, 18, 1, 1))
    assert walk.stopped == "max_rows"
    assert len(walk.rows) == 400
    snap = (await read_device(client)).snapshot
    assert any("row limit" in w for w in snap.warnings)
    assert 0 < len(snap.alerts) <= 128


async def test_huge_table_is_bounded_by_time(huge_agent: Simulator) -> None:
    options = SnmpOptions(walk_timeout=0.05, max_repetitions=5)
    client = await connect(huge_agent.host, huge_agent.port, [community("h", "huge")], options)
    walk = await client.walk((1, 3, 6, 1, 2, 1, 43, 18, 1, 1))
    assert walk.stopped == "deadline"
    assert 0 < len(walk.rows) < 3000 * 8


def test_probe_json_prints_exactly_one_document(
    snmp_agent: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(
        ["probe", f"127.0.0.1:{snmp_agent.port}", "--community", "color_mfp", "--output", "json"]
    )
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)  # raises if there is anything but one document
    assert doc["schema"] == "printer-snapshot/1"
    assert mismatches(load_oracle("color_mfp"), doc) == []


def test_probe_table_shows_bars_alerts_and_panel(
    snmp_agent: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["probe", f"127.0.0.1:{snmp_agent.port}", "--community", "sentinels"]) == 0
    out = capsys.readouterr().out
    assert "Lexmark CX725" in out
    assert "[   some remaining   ]" in out
    assert "Paper jam in Tray 2" in out
    assert "| Close front door" in out


def test_probe_snmpv3_takes_keys_from_the_environment(
    snmp_agent: Simulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = snmp_agent.v3_user("sha256aes")
    monkeypatch.setenv("PRINTER_EXPORTER_AUTH_KEY", user.auth_key or "")
    monkeypatch.setenv("PRINTER_EXPORTER_PRIV_KEY", user.priv_key or "")
    code = cli_main(
        [
            "probe",
            f"127.0.0.1:{snmp_agent.port}",
            "--snmp.version",
            "3",
            "--username",
            "sha256aes",
            "--auth-protocol",
            "SHA256",
            "--priv-protocol",
            "AES",
            "--output",
            "json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["identity"]["manufacturer"] == "Brother"


def test_probe_unreachable_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_udp_port()
    code = cli_main(["probe", f"127.0.0.1:{port}", "--timeout", "0.2", "--retries", "0"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: ")
    assert f"127.0.0.1:{port}" in captured.err


def test_probe_auth_failure_is_one_line_and_exit_1(
    snmp_agent: Simulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRINTER_EXPORTER_AUTH_KEY", "wrong-key-here")
    code = cli_main(
        [
            "probe",
            f"127.0.0.1:{snmp_agent.port}",
            "--snmp.version",
            "3",
            "--username",
            "sha256aes",
            "--auth-protocol",
            "SHA256",
            "--timeout",
            "0.5",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.count("\n") == 1
    assert "error:" in captured.err
