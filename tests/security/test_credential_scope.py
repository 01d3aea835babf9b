"""Credentials go only where the operator allows (docs/config.md, "Where credentials go").

Each test replays one way a credential reached a device it was not meant for,
with a UDP listener on a loopback address standing in for that device: it
records every datagram and answers none. A credential "reached" the listener
when its community bytes are in a datagram the listener received.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Iterator

import pytest

from demo.simulator import free_udp_port
from exporter.config import Config, parse_config
from exporter.discovery import Found
from exporter.service import ProbeRefused, Service
from exporter.snmp import community

pytestmark = pytest.mark.integration

LISTENER = "127.3.0.10"
OTHER = "127.3.0.20"
SECRET = "secret-for-the-copiers-only"
PUBLIC = "public-for-the-office"


class Listener:
    """A UDP socket on loopback that keeps every datagram sent to it and never answers."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.setblocking(False)

    def received(self) -> list[bytes]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(65535))
            except BlockingIOError:
                return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def port() -> int:
    return free_udp_port((LISTENER, OTHER))


@pytest.fixture
def listener(port: int) -> Iterator[Listener]:
    sniff = Listener(LISTENER, port)
    yield sniff
    sniff.close()


def _config(port: int, extra: str = "") -> Config:
    return parse_config(
        f"""
credentials:
  - {{name: copiers, version: 2c, community: {SECRET}}}
  - {{name: office, version: 2c, community: {PUBLIC}}}
  - {{name: v3set, version: 3, username: fleet, auth_protocol: SHA, auth_key: authkey-123}}
poll: {{timeout: 200ms, retries: 0}}
{extra}
"""
    )


def _found(host: str, port: int, creds_name: str, config: Config) -> Found:
    (creds,) = config.credential_sets((creds_name,))
    return Found(
        address=f"{host}:{port}",
        host=host,
        port=port,
        credentials=creds,
        reason="test",
        sys_descr=None,
        sys_object_id=None,
    )


# --- the rule itself ------------------------------------------------------------------


def test_the_rule_in_one_place(port: int) -> None:
    config = _config(
        port,
        f"""
targets:
  - {{address: '{LISTENER}:{port}', credentials: [v3set]}}
discovery:
  port: {port}
  credentials: [office]
  ranges:
    - 127.3.0.0/28
    - {{range: 127.3.1.0/28, credentials: [copiers]}}
  exclude: [127.3.0.5]
""",
    )

    def names(host: str, at: int) -> list[str] | None:
        sets = config.credentials_allowed(host, at)
        return None if sets is None else [c.name for c in sets]

    assert names(LISTENER, port) == ["v3set"]  # configured: its own, even inside a range
    assert names("127.3.0.3", port) == ["office"]  # the range's default sets
    assert names("127.3.1.3", port) == ["copiers"]  # the range's own sets
    assert names("127.3.0.5", port) is None  # excluded
    assert names("127.3.0.3", 53) is None  # a range address on another port
    assert names(LISTENER, 161) is None  # a configured host on another port
    assert names("127.3.2.3", port) is None  # outside every range


def test_overlapping_ranges_with_other_sets_are_refused(port: int) -> None:
    with pytest.raises(ValueError, match=r"overlaps '127\.3\.0\.0/24' but allows other credential"):
        _config(
            port,
            """
discovery:
  credentials: [office]
  ranges: [127.3.0.0/24, {range: 127.3.0.16/28, credentials: [copiers]}]
""",
        )


def test_a_range_names_only_defined_sets(port: int) -> None:
    with pytest.raises(ValueError, match=r"ranges\[0\]\.credentials\[0\]: unknown credential"):
        _config(port, "discovery: {ranges: [{range: 127.3.0.0/28, credentials: [nope]}]}")


# --- the poller -------------------------------------------------------------------------


def test_discovery_never_downgrades_a_pinned_target(port: int) -> None:
    """A target pinned to v3 that a v2c sweep also finds keeps v3 only (was: replaced)."""
    config = _config(
        port,
        f"""
targets: [{{address: '{LISTENER}:{port}', credentials: [v3set]}}]
discovery: {{port: {port}, credentials: [office], ranges: [127.3.0.0/28]}}
""",
    )
    service = Service(config)
    service.discovery.found = {
        f"{LISTENER}:{port}": _found(LISTENER, port, "office", config),
        f"127.3.0.3:{port}": _found("127.3.0.3", port, "office", config),
    }
    service.refresh_targets()
    sets = {t.address: [c.name for c in t.credentials] for t in service.poller.targets}
    assert sets == {f"{LISTENER}:{port}": ["v3set"], f"127.3.0.3:{port}": ["office"]}


def test_a_reload_that_takes_a_set_from_a_range_stops_its_use(port: int) -> None:
    old = _config(
        port, f"discovery: {{port: {port}, credentials: [copiers, office], ranges: [127.3.0.0/28]}}"
    )
    service = Service(old)
    service.discovery.found = {f"127.3.0.3:{port}": _found("127.3.0.3", port, "copiers", old)}
    service.refresh_targets()
    assert [c.name for c in service.poller.targets[0].credentials] == ["copiers", "office"]
    new = _config(
        port, f"discovery: {{port: {port}, credentials: [office], ranges: [127.3.0.0/28]}}"
    )
    service._apply(new)
    assert [c.name for c in service.poller.targets[0].credentials] == ["office"]


def test_a_changed_community_is_used_at_once_not_the_one_the_sweep_found(port: int) -> None:
    config = _config(
        port, f"discovery: {{port: {port}, credentials: [office], ranges: [127.3.0.0/28]}}"
    )
    service = Service(config)
    stale = _found("127.3.0.3", port, "office", config)
    stale = dataclasses.replace(stale, credentials=community("office", "old-community"))
    service.discovery.found = {stale.address: stale}
    service.refresh_targets()
    (target,) = service.poller.targets
    (creds,) = target.credentials
    assert creds.community_string is not None
    assert creds.community_string.reveal() == PUBLIC


# --- /probe -------------------------------------------------------------------------------


async def test_probe_sends_a_target_only_its_own_sets(port: int, listener: Listener) -> None:
    """The attack: `/probe?target=<listener>&credentials=copiers` sent the copiers' secret."""
    config = _config(
        port,
        f"""
targets:
  - {{address: '{LISTENER}:{port}', credentials: [office]}}
  - {{address: '{OTHER}:{port}', credentials: [copiers]}}
""",
    )
    service = Service(config)
    with pytest.raises(ProbeRefused, match="'copiers' is not allowed"):
        await service.probe(f"{LISTENER}:{port}", {"credentials": "copiers"})
    await asyncio.sleep(0.05)
    assert listener.received() == []
    snap = await service.probe(f"{LISTENER}:{port}", {})
    assert not snap.reachable
    got = b"".join(listener.received())
    assert PUBLIC.encode() in got
    assert SECRET.encode() not in got


@pytest.mark.parametrize("other_port", [161, 53, 1])
async def test_probe_refuses_other_ports_of_a_range(
    port: int, listener: Listener, other_port: int
) -> None:
    config = _config(
        port, f"discovery: {{port: {port}, credentials: [office], ranges: [127.3.0.0/28]}}"
    )
    service = Service(config)
    with pytest.raises(ProbeRefused, match="not a configured target"):
        await service.probe(f"{LISTENER}:{other_port}", {})
    snap = await service.probe(LISTENER, {})  # no port: the discovery port
    assert not snap.reachable
    got = b"".join(listener.received())
    assert PUBLIC.encode() in got
    assert SECRET.encode() not in got


async def test_probe_of_a_range_address_uses_the_range_sets(port: int, listener: Listener) -> None:
    config = _config(
        port,
        f"""
discovery:
  port: {port}
  credentials: [copiers]
  ranges: [{{range: 127.3.0.0/28, credentials: [office]}}, 127.3.1.0/28]
""",
    )
    service = Service(config)
    with pytest.raises(ProbeRefused, match="'copiers' is not allowed"):
        await service.probe(LISTENER, {"credentials": "copiers"})
    await service.probe(LISTENER, {"credentials": "office"})
    got = b"".join(listener.received())
    assert PUBLIC.encode() in got
    assert SECRET.encode() not in got


# --- the sweep ------------------------------------------------------------------------------


async def test_a_sweep_sends_each_range_only_its_own_sets(port: int, listener: Listener) -> None:
    other = Listener(OTHER, port)
    try:
        config = _config(
            port,
            f"""
discovery:
  port: {port}
  timeout: 200ms
  retries: 0
  credentials: [office]
  ranges: ['{LISTENER}', {{range: '{OTHER}', credentials: [copiers]}}]
""",
        )
        service = Service(config)
        result = await service.discovery.sweep_once()
        assert result.probed == 2
        office_range = b"".join(listener.received())
        copier_range = b"".join(other.received())
    finally:
        other.close()
    assert PUBLIC.encode() in office_range
    assert SECRET.encode() not in office_range
    assert SECRET.encode() in copier_range
    assert PUBLIC.encode() not in copier_range
