"""How a poll reached the device, against a real SNMP agent and real ICMP on loopback.

The three states a technician must tell apart before driving out: SNMP answered, SNMP
refused the credential, and SNMP silent while the host answers ping. (`host_down`, no
answer to either, needs a host that drops echo; loopback always answers, so that row is
proven in tests/unit/test_icmp.py on the state table.)
"""

from __future__ import annotations

import os

import pytest

from demo.simulator import Simulator, free_udp_port
from exporter.config import IcmpConfig, PollConfig
from exporter.metrics import ExporterState, render
from exporter.poller import Poller, PollTarget
from exporter.snmp import Credentials, community, usm
from exporter.store import SnapshotStore

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root here")

FAST = PollConfig(interval=5.0, timeout=0.3, retries=0, walk_timeout=5.0)


async def poll(host: str, port: int, creds: Credentials) -> Poller:
    poller = Poller(SnapshotStore(), FAST)
    poller.icmp = IcmpConfig(count=1, timeout=2.0)
    target = PollTarget(host, port, (creds,), f"{host}:{port}")
    poller.configure(FAST, [target])
    assert await poller.poll_once(target) is not None
    return poller


def reach_of(poller: Poller) -> tuple[str, int, int]:
    (entry,) = poller.store.entries()
    reach = entry.snapshot.reachability
    assert reach is not None
    return reach.state, reach.icmp_sent, reach.icmp_received


async def test_an_answering_printer_is_up_with_its_round_trip(snmp_agent: Simulator) -> None:
    poller = await poll(snmp_agent.host, snmp_agent.port, community("c", "color_mfp"))
    assert reach_of(poller) == ("up", 1, 1)
    (entry,) = poller.store.entries()
    body = render(ExporterState(snapshots=[entry.snapshot])).decode()
    target = entry.snapshot.target
    assert f'printer_reach_state{{state="up",target="{target}"}} 1.0' in body
    assert f'printer_reach_state{{state="host_down",target="{target}"}} 0.0' in body
    assert f'printer_icmp_up{{target="{target}"}} 1.0' in body
    assert f'printer_icmp_rtt_seconds{{target="{target}"}}' in body


async def test_a_silent_agent_on_a_live_host_is_snmp_silent() -> None:
    host = "127.0.0.1"
    port = free_udp_port([host])  # nothing listens there: the host answers ping only
    poller = await poll(host, port, community("c", "public"))
    assert reach_of(poller) == ("snmp_silent", 1, 1)
    (entry,) = poller.store.entries()
    body = render(ExporterState(snapshots=[entry.snapshot])).decode()
    assert f'printer_up{{target="{host}:{port}"}} 0.0' in body
    assert f'printer_reach_state{{state="snmp_silent",target="{host}:{port}"}} 1.0' in body


async def test_a_refused_credential_is_snmp_refused(snmp_agent: Simulator) -> None:
    wrong = usm(
        "bad",
        "shaaes",
        auth_protocol="SHA",
        auth_key="not-the-key",
        priv_protocol="AES",
        priv_key="shaaes-priv-key",
    )
    poller = await poll(snmp_agent.host, snmp_agent.port, wrong)
    assert reach_of(poller)[0] == "snmp_refused"


async def test_icmp_off_in_the_config_sends_no_echo_and_says_no_answer() -> None:
    host = "127.0.0.1"
    port = free_udp_port([host])
    poller = Poller(SnapshotStore(), FAST)
    poller.icmp = IcmpConfig(enabled=False)
    target = PollTarget(host, port, (community("c", "public"),), f"{host}:{port}")
    poller.configure(FAST, [target])
    await poller.poll_once(target)
    assert reach_of(poller) == ("no_answer", 0, 0)
    (entry,) = poller.store.entries()
    body = render(ExporterState(snapshots=[entry.snapshot])).decode()
    assert "printer_icmp_up{" not in body
