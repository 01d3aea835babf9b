"""The poller and discovery against real agents: snmpsim on 127.x addresses."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest

from demo.simulator import Simulator, free_udp_port
from exporter.cli import main as cli_main
from exporter.config import PollConfig, parse_config
from exporter.discovery import Discovery, sweep
from exporter.poller import Poller, PollTarget
from exporter.service import ProbeRefused, Service
from exporter.snmp import community
from exporter.store import SnapshotStore
from tests.oracle import FIXTURES

pytestmark = pytest.mark.integration

FAST = PollConfig(
    interval=30.0, jitter=0.0, timeout=1.0, retries=1, concurrency=4, walk_timeout=10.0
)
"""Generous timeouts: snmpsim shares two cores with the test run, and a slow answer is not
what these tests are about."""
HOSTS = ("127.1.0.10", "127.1.0.20", "127.1.0.30")


@pytest.fixture(scope="module")
def fleet() -> Iterator[Simulator]:
    port = free_udp_port(HOSTS)
    with Simulator(FIXTURES, [(h, port) for h in HOSTS]) as sim:
        yield sim


def _target(host: str, port: int, name: str) -> PollTarget:
    return PollTarget(
        host, port, (community("wrong", "nope"), community(name, name)), f"{host}:{port}"
    )


async def test_a_cycle_polls_every_target_and_fills_the_store(fleet: Simulator) -> None:
    port = fleet.endpoints[0][1]
    store = SnapshotStore()
    poller = Poller(store, FAST)
    names = ("color_mfp", "mono_printer", "sentinels")
    poller.configure(FAST, [_target(h, port, n) for h, n in zip(HOSTS, names, strict=True)])
    await poller.cycle()
    entries = store.entries()
    assert [e.snapshot.target for e in entries] == [f"{h}:{port}" for h in HOSTS]
    assert [e.snapshot.error for e in entries] == [None, None, None]
    assert entries[0].snapshot.identity.serial == "CNB9Q7K2M4"
    assert all(e.traffic.packets_sent > 0 for e in entries)
    assert poller.cycles_total == 1
    assert poller.first_cycle_done.is_set()


async def test_a_device_that_goes_away_keeps_up_0_and_its_last_success(tmp_path: Path) -> None:
    port = free_udp_port(("127.1.1.10",))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mono_printer.snmprec").write_bytes(
        (FIXTURES / "mono_printer.snmprec").read_bytes()
    )
    store = SnapshotStore()
    poller = Poller(store, FAST)
    poller.configure(FAST, [_target("127.1.1.10", port, "mono_printer")])
    with Simulator(tmp_path / "data", [("127.1.1.10", port)]):
        await poller.cycle()
    first = store.entries()[0]
    assert first.snapshot.reachable
    await poller.cycle()  # the agent is gone now
    second = store.entries()[0]
    assert not second.snapshot.reachable
    assert second.snapshot.error is not None
    assert second.last_success == first.last_success
    assert second.last_good is not None
    assert second.last_good.identity.model == first.snapshot.identity.model


async def test_configure_drops_devices_that_left_the_poll_set(fleet: Simulator) -> None:
    port = fleet.endpoints[0][1]
    store = SnapshotStore()
    poller = Poller(store, FAST)
    poller.configure(
        FAST, [_target(HOSTS[0], port, "color_mfp"), _target(HOSTS[1], port, "mono_printer")]
    )
    await poller.cycle()
    assert len(store) == 2
    poller.configure(FAST, [_target(HOSTS[1], port, "mono_printer")])
    assert [e.snapshot.target for e in store.entries()] == [f"{HOSTS[1]}:{port}"]


async def test_run_stops_when_asked(fleet: Simulator) -> None:
    port = fleet.endpoints[0][1]
    store = SnapshotStore()
    poller = Poller(store, FAST)
    poller.configure(FAST, [_target(HOSTS[0], port, "color_mfp")])
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    await asyncio.wait_for(poller.first_cycle_done.wait(), timeout=60)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert poller.cycles_total >= 1


async def test_sweep_finds_exactly_the_printers(fleet: Simulator) -> None:
    port = fleet.endpoints[0][1]
    result = await sweep(
        ip_network("127.1.0.0/24").hosts(),
        port,
        [community("a", "nope"), community("b", "color_mfp")],
        rate=5000,
        timeout=0.3,
        retries=0,
    )
    assert sorted(f.host for f in result.found) == list(HOSTS)
    assert result.probed == 254
    assert result.packets_sent == 254 * 2 - 0  # every address, both communities, one try
    assert all(f.credentials.name == "b" for f in result.found)
    assert all(f.reason == "hrDeviceType is hrDevicePrinter" for f in result.found)


async def test_discovery_from_config_excludes_and_counts(fleet: Simulator) -> None:
    port = fleet.endpoints[0][1]
    config = parse_config(
        f"""
credentials:
  - {{name: fleet, version: 2c, community: color_mfp}}
discovery:
  ranges: ['127.1.0.0/27']
  exclude: ['127.1.0.20']
  port: {port}
  rate: 5000
  timeout: 300ms
  retries: 0
"""
    )
    discovery = Discovery(config.discovery, config)
    result = await discovery.sweep_once()
    assert sorted(f.host for f in result.found) == ["127.1.0.10", "127.1.0.30"]
    assert result.probed == 29  # 30 hosts in a /27, one excluded
    assert discovery.stats.sweeps_total == 1
    assert discovery.stats.devices_found == 2
    assert discovery.stats.packets_sent_total == 29
    targets = discovery.poll_targets()
    assert [t.address for t in sorted(targets, key=lambda t: t.address)] == [
        f"127.1.0.10:{port}",
        f"127.1.0.30:{port}",
    ]


async def test_the_service_polls_what_discovery_finds(fleet: Simulator) -> None:
    """Discovery feeds the poll set: a range in the config becomes polled printers."""
    port = fleet.endpoints[0][1]
    config = parse_config(
        f"""
credentials:
  - {{name: fleet, version: 2c, community: color_mfp}}
discovery: {{ranges: ['127.1.0.0/27'], port: {port}, rate: 5000, timeout: 300ms, retries: 0}}
poll: {{interval: 30s, timeout: 1s, retries: 1}}
"""
    )
    service = Service(config)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))

    async def polled() -> list[str]:
        while True:
            reached = [e.snapshot.target for e in service.entries() if e.snapshot.reachable]
            if len(reached) == len(HOSTS):
                return reached
            await asyncio.sleep(0.2)

    try:
        reached = await asyncio.wait_for(polled(), timeout=60)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    assert sorted(reached) == [f"{h}:{port}" for h in HOSTS]
    assert service.state().discovery.devices_found == len(HOSTS)


async def test_service_probe_reads_only_what_the_config_allows(fleet: Simulator) -> None:
    port = fleet.endpoints[0][1]
    config = parse_config(
        f"""
credentials:
  - {{name: fleet, version: 2c, community: color_mfp}}
targets: ['{HOSTS[0]}:{port}']
discovery: {{ranges: ['127.1.0.16/29'], port: {port}}}
poll: {{timeout: 1s}}
"""
    )
    service = Service(config)
    snap = await service.probe(f"{HOSTS[0]}:{port}", {})
    assert snap.reachable
    assert snap.identity.serial == "CNB9Q7K2M4"
    in_range = await service.probe(f"{HOSTS[1]}:{port}", {"credentials": "fleet"})
    assert in_range.target == f"{HOSTS[1]}:{port}"
    with pytest.raises(ProbeRefused, match="not a configured target"):
        await service.probe(f"{HOSTS[2]}:{port}", {})
    with pytest.raises(ProbeRefused, match="credential set 'other' is not allowed"):
        await service.probe(f"{HOSTS[0]}:{port}", {"credentials": "other"})
    with pytest.raises(ProbeRefused, match="port must be 1-65535"):
        await service.probe("127.1.0.10:99999", {})


async def test_a_reload_that_adds_a_range_sweeps_it_at_once(fleet: Simulator) -> None:
    """Discovery slept out its whole interval (an hour by default) before a new range."""
    port = fleet.endpoints[0][1]
    creds = "credentials: [{name: c, version: 2c, community: color_mfp}]\n"
    service = Service(parse_config(f"{creds}discovery: {{port: {port}}}"))
    stop = asyncio.Event()
    found = asyncio.Event()
    task = asyncio.create_task(service.discovery.run(stop, found.set))
    try:
        await asyncio.sleep(0.1)
        assert service.discovery.stats.sweeps_total == 0
        config = parse_config(
            f"{creds}discovery: {{port: {port}, ranges: ['{HOSTS[0]}'], interval: 1h}}"
        )
        service.discovery.configure(config.discovery, config)
        await asyncio.wait_for(found.wait(), timeout=30)
        assert list(service.discovery.found) == [f"{HOSTS[0]}:{port}"]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


def test_discover_prints_a_table_a_person_can_read(
    fleet: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    port = fleet.endpoints[0][1]
    args = ["discover", f"{HOSTS[0]}", "--port", str(port), "--community", "color_mfp"]
    assert cli_main([*args, "--timeout", "1"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["TARGET", "MODEL", "CREDENTIAL", "SET", "WHY", "A", "PRINTER"]
    assert lines[1].startswith(f"{HOSTS[0]}:{port}")
    assert "HP Color LaserJet" in lines[1]  # the model, not the whole sysDescr
    assert "community-1" in lines[1]
    assert "1 address in" in captured.err
    assert "1 printer\n" in captured.err or captured.err.rstrip().endswith("1 printer")
    assert cli_main([*args, "--timeout", "1", "--output", "json"]) == 0
    (found,) = json.loads(capsys.readouterr().out)
    assert found["credential_set"] == "community-1"
    assert "color_mfp" not in json.dumps(found)  # the set's name, never the community


@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root here")
def test_discover_icmp_lists_who_answers_ping_but_not_snmp(
    fleet: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Off unless asked; with --icmp, the addresses that stayed silent on SNMP are pinged
    (loopback answers) and listed apart from the printers."""
    port = fleet.endpoints[0][1]
    silent = ("127.1.0.11", "127.1.0.12")  # nothing listens there
    args = ["discover", HOSTS[0], *silent, "--port", str(port), "--community", "color_mfp"]
    assert cli_main([*args, "--timeout", "1"]) == 0
    plain = capsys.readouterr().out
    assert "ICMP" not in plain
    assert cli_main([*args, "--timeout", "1", "--icmp"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith(f"{HOSTS[0]}:{port}")  # the printer, as before
    assert "2 hosts answer ICMP echo but not SNMP:" in out
    assert [line.strip() for line in out.splitlines()[-2:]] == list(silent)
    assert cli_main([*args, "--timeout", "1", "--icmp", "--output", "json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert [d["target"] for d in docs] == [f"{HOSTS[0]}:{port}", *silent]
    assert docs[1]["reason"] == "answers ICMP echo but not SNMP"
