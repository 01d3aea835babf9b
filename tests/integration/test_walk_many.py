"""Walking many subtrees in shared GETBULKs gives exactly what walking them one by one gives."""

from __future__ import annotations

import pytest

from demo.simulator import Simulator
from exporter.readers.identity import PREFETCH
from exporter.snmp import SnmpOptions, community
from exporter.snmp.lean import LeanClient

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "name", ["color_mfp", "mono_printer", "sentinels", "broken_agent", "snmpv3"]
)
async def test_walk_many_equals_walks_one_by_one(snmp_agent: Simulator, name: str) -> None:
    client = LeanClient(snmp_agent.host, snmp_agent.port, community("t", name))
    together = await client.walk_many(PREFETCH)
    requests_together = client.stats.requests
    alone = {root: await client.walk(root) for root in PREFETCH}
    assert together == alone
    assert requests_together < client.stats.requests - requests_together


async def test_walk_many_keeps_the_row_bound(snmp_agent: Simulator) -> None:
    options = SnmpOptions(max_rows=5)
    client = LeanClient(snmp_agent.host, snmp_agent.port, community("t", "color_mfp"), options)
    walks = await client.walk_many(PREFETCH)
    supplies = walks[PREFETCH[13]]
    assert supplies.stopped == "max_rows"
    assert len(supplies.rows) == 5


async def test_walk_many_on_v1_walks_one_by_one(snmp_agent: Simulator) -> None:
    client = LeanClient(snmp_agent.host, snmp_agent.port, community("t", "color_mfp", version=1))
    together = await client.walk_many(PREFETCH[:3])
    assert together == {root: await client.walk(root) for root in PREFETCH[:3]}
