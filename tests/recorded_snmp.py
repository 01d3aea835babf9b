"""A poller's `connect_fn` that serves a hand-written recording from memory, or no SNMP.

For the tests of what the poller asks beside SNMP (PJL, the embedded web server): each
needs a device whose SNMP is off, or answers without some OIDs, so that the fallback has
a gap to fill.
"""

from __future__ import annotations

from collections.abc import Sequence

from exporter.snmp import CredentialMemory, Credentials, SnmpClient, SnmpOptions, SnmpTimeout
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.snmp.types import Oid, SnmpValue
from tests.oracle import FIXTURES


class RecordedSnmp:
    """SNMP off (every connect times out) when `recording` is None, else the recording
    `tests/fixtures/<recording>.snmprec` without the OIDs under `drop`."""

    def __init__(self, recording: str | None, drop: Sequence[Oid] = ()) -> None:
        self.recording = recording
        self.drop = tuple(drop)

    async def __call__(
        self,
        host: str,
        port: int,
        sets: Sequence[Credentials],
        options: SnmpOptions,
        memory: CredentialMemory,
    ) -> SnmpClient:
        if self.recording is None:
            raise SnmpTimeout(f"{host}:{port}: no answer from the SNMP agent")
        values: dict[Oid, SnmpValue] = {
            oid: value
            for oid, value in load_snmprec(FIXTURES / f"{self.recording}.snmprec").items()
            if not any(oid[: len(d)] == d for d in self.drop)
        }
        return MemoryClient(values, target=f"{host}:{port}")
