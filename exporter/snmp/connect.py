"""Open a client for a device: the first credential set it answers, remembered per device.

The transport follows the credentials: the lean codec for v1/v2c (most of a
fleet, and where CPU per poll matters), pysnmp for SNMPv3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from exporter.snmp.client import SYS_OBJECT_ID, SnmpClient, SnmpOptions
from exporter.snmp.credentials import Credentials
from exporter.snmp.errors import SnmpAuthError, SnmpError, SnmpTimeout
from exporter.snmp.lean import open_client


@dataclass
class CredentialMemory:
    """Which credential set last worked for each target, so the next poll tries it first."""

    by_target: dict[str, str] = field(default_factory=dict)

    def order(self, target: str, sets: Sequence[Credentials]) -> list[Credentials]:
        known = self.by_target.get(target)
        return sorted(sets, key=lambda c: c.name != known)

    def remember(self, target: str, creds: Credentials) -> None:
        self.by_target[target] = creds.name


async def connect(
    host: str,
    port: int,
    credential_sets: Sequence[Credentials],
    options: SnmpOptions | None = None,
    memory: CredentialMemory | None = None,
) -> SnmpClient:
    """A client for the first credential set that the agent answers.

    On v1/v2c a wrong community looks exactly like a dead host (the agent stays
    silent), so every set costs a full timeout before the next is tried. That is
    why the set that worked is remembered.
    """
    if not credential_sets:
        raise ValueError("connect() needs at least one credential set")
    probe_target = open_client(host, port, credential_sets[0], options).target
    ordered = memory.order(probe_target, credential_sets) if memory else list(credential_sets)
    failures: list[SnmpError] = []
    for creds in ordered:
        client = open_client(host, port, creds, options)
        try:
            await client.get([SYS_OBJECT_ID])
        except (SnmpTimeout, SnmpAuthError) as exc:
            failures.append(exc)
            continue
        if memory is not None:
            memory.remember(client.target, creds)
        return client
    if all(isinstance(f, SnmpTimeout) for f in failures):
        names = ", ".join(c.name for c in ordered)
        raise SnmpTimeout(f"{probe_target}: no answer with any credential set ({names})")
    auth = [f for f in failures if isinstance(f, SnmpAuthError)]
    raise auth[0]
