"""The wire-traffic counters: one list of names (`TrafficCounts`' fields), kept by every type
that counts them while the traffic flows, and copied whole to what the metrics show."""

from __future__ import annotations

from dataclasses import fields

from exporter.metrics.families import DISCOVERY_FIELDS, TRAFFIC
from exporter.poller import traffic_of
from exporter.snmp import TrafficStats
from exporter.snmp.memory import MemoryClient
from exporter.snmp.sweep import SweepStats
from exporter.state import TRAFFIC_FIELDS, DiscoveryStats, TrafficCounts

CLIENT_ONLY = ("requests", "responses", "varbinds")
"""What the client counts besides the wire: PDUs and values, which no metric shows."""
SWEEP_ONLY = ("answered", "probed", "duration_seconds")


def _names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def test_the_field_list_is_the_frozen_counts() -> None:
    assert tuple(_names(TrafficCounts)) == TRAFFIC_FIELDS
    assert {"packets_sent", "bytes_received", "retries", "timeouts"} <= set(TRAFFIC_FIELDS)


def test_the_client_counts_every_traffic_field_under_its_name() -> None:
    wire = [name for name in _names(TrafficStats) if name not in CLIENT_ONLY]
    assert wire == list(TRAFFIC_FIELDS)


def test_the_sweep_counts_packets_and_bytes_under_the_same_names() -> None:
    wire = [name for name in _names(SweepStats) if name not in SWEEP_ONLY]
    assert set(wire) <= set(TRAFFIC_FIELDS)
    assert wire == [name.removesuffix("_total") for name in DISCOVERY_FIELDS]
    assert set(DISCOVERY_FIELDS) <= set(_names(DiscoveryStats))
    assert {"packets_sent", "packets_received", "bytes_sent", "bytes_received"} == set(wire)


def test_every_traffic_field_has_its_series() -> None:
    assert [family.name for family in TRAFFIC] == [
        f"printer_exporter_snmp_{name}_total" for name in TRAFFIC_FIELDS
    ]


def test_traffic_of_copies_every_field_and_nothing_else() -> None:
    client = MemoryClient({})
    counts = {name: 10 + i for i, name in enumerate(TRAFFIC_FIELDS)}
    client.stats = TrafficStats(requests=1, responses=2, varbinds=3, **counts)
    assert traffic_of(client) == TrafficCounts(**counts)
    assert traffic_of(None) == TrafficCounts()
