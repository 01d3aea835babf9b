"""Shared pytest fixtures: one real SNMP agent (snmpsim) on loopback for the whole session.

Why one per session: snmpsim takes about a second to start and index the
recordings, and every integration test can share it because the agent is
read-only. Each `tests/fixtures/<name>.snmprec` answers SNMPv1/v2c on community
`<name>` and SNMPv3 on context name `<name>`; `snmpv3.snmprec` also answers
SNMPv3 in the empty context, the way real printers do.

The fixture yields the `Simulator` itself: `.host`, `.port`, `.endpoints`,
`.engine_id`, `.v3_users` (the table below) and `.v3_user(name)`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import exporter.icmp
from demo.simulator import Simulator, V3User

settings.register_profile(
    "machine-independent",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("machine-independent")
"""No property test may depend on the machine's speed: a busy 2-core CI machine makes
Hypothesis's deadlines and slow-generation health checks fail tests that are correct.
A test's own `@settings(...)` keeps this profile's values for what it does not set."""

FIXTURES = Path(__file__).parent / "fixtures"
V3_COMMUNITY = "snmpv3"
"""The recording served to SNMPv3 users, by context name `snmpv3` or the empty context."""

V3_USERS: tuple[V3User, ...] = (
    V3User("noauth"),
    V3User("md5des", "MD5", "md5des-auth-key", "DES", "md5des-priv-key"),
    V3User("shaaes", "SHA", "shaaes-auth-key", "AES", "shaaes-priv-key"),
    V3User("sha256aes", "SHA256", "sha256aes-auth-key", "AES", "sha256aes-priv-key"),
    V3User("sha512aes256", "SHA512", "sha512aes256-auth-key", "AES256", "sha512aes256-priv-key"),
)
"""Every user snmpsim 1.2.2 (pysnmp 7.1) serves; "AES" is AES-128 (RFC 3826).

sha512aes256 is safe across client libraries: SHA-512 yields a 64-octet
localized key, so AES-256 needs no key extension and the Blumenthal/Reeder
split does not arise.
"""


def fixture_communities() -> list[str]:
    return sorted(p.name.removesuffix(".snmprec") for p in FIXTURES.glob("*.snmprec"))


@pytest.fixture(scope="session")
def snmp_agent() -> Iterator[Simulator]:
    """The session's snmpsim, serving tests/fixtures on 127.0.0.1 at a free UDP port."""
    with Simulator(
        FIXTURES,
        [("127.0.0.1", None)],
        v3_users=V3_USERS,
        v3_empty_context=V3_COMMUNITY,
    ) as agent:
        yield agent


@pytest.fixture(autouse=True)
def _icmp_stays_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every poller pings its targets; in the tests an echo may only go to loopback, so a
    test that polls a made-up address (with a fake SNMP client) can never ping it."""
    send = exporter.icmp._send_echo

    async def loopback_only(address: str, *args: Any, **kwargs: Any) -> Any:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise AssertionError(f"a test pinged a name, not an address: {address}") from None
        if not ip.is_loopback:
            raise AssertionError(f"a test pinged {address}, outside loopback")
        return await send(address, *args, **kwargs)

    monkeypatch.setattr(exporter.icmp, "_send_echo", loopback_only)
