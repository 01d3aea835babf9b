"""Benchmark (d): bytes and packets on the wire for discovery and one poll, four cases.

    .venv/bin/python -m bench.bench_network

The cases, each a discovery sweep (one community, one retry) followed by one
poll of every printer found:
1. one address with nothing there;
2. one printer;
3. a /24 with one printer;
4. a /24 with 13 printers.
Counts are SNMP UDP payloads as the exporter sent and received them (add 28
bytes per packet for IPv4 and UDP headers on the wire; the table does).
Loopback only: the addresses are in 127.4.0.0/24.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from demo.simulator import Simulator, free_udp_port
from exporter.config import PollConfig
from exporter.discovery import sweep
from exporter.poller import Poller, PollTarget
from exporter.snmp import community
from exporter.store import SnapshotStore

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
NETWORK = IPv4Network("127.4.0.0/24")
HEADERS = 28
"""IPv4 (20) + UDP (8) bytes around every SNMP payload."""
RECORDINGS = ("color_mfp", "mono_printer", "sentinels", "snmpv3")


@dataclass
class Load:
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    def wire(self) -> dict[str, int]:
        packets = self.packets_sent + self.packets_received
        return {
            "packets": packets,
            "payload_bytes": self.bytes_sent + self.bytes_received,
            "wire_bytes": self.bytes_sent + self.bytes_received + HEADERS * packets,
        }


async def measure(addresses: list[IPv4Address], port: int) -> tuple[Load, Load, int]:
    creds = community("fleet", "color_mfp")
    found = await sweep(addresses, port, [creds], rate=2000, timeout=0.5, retries=1)
    discovery = Load(
        found.packets_sent, found.packets_received, found.bytes_sent, found.bytes_received
    )
    poll = PollConfig(interval=3600, jitter=0, timeout=1.0, retries=1)
    poller = Poller(SnapshotStore(), poll)
    poller.configure(
        poll, [PollTarget(f.host, f.port, (f.credentials,), f.address) for f in found.found]
    )
    await poller.cycle()
    polling = Load()
    for entry in poller.store.entries():
        polling.packets_sent += entry.traffic.packets_sent
        polling.packets_received += entry.traffic.packets_received
        polling.bytes_sent += entry.traffic.bytes_sent
        polling.bytes_received += entry.traffic.bytes_received
    return discovery, polling, len(found.found)


def main() -> int:
    hosts = [str(NETWORK[10 + i]) for i in range(13)]
    port = free_udp_port(hosts)
    cases = [
        ("one address, nothing there", [NETWORK[200]], []),
        ("one printer", [NETWORK[10]], hosts[:1]),
        ("a /24 with one printer", list(NETWORK.hosts()), hosts[:1]),
        ("a /24 with 13 printers", list(NETWORK.hosts()), hosts),
    ]
    rows = []
    for name, addresses, printers in cases:
        if printers:
            with Simulator(FIXTURES, [(h, port) for h in printers], probe_community="color_mfp"):
                discovery, polling, found = asyncio.run(measure(addresses, port))
        else:
            discovery, polling, found = asyncio.run(measure(addresses, port))
        rows.append(
            {
                "case": name,
                "addresses": len(addresses),
                "printers_found": found,
                "discovery": discovery.wire(),
                "one_poll_of_each_printer": polling.wire(),
                "per_printer_poll": (
                    {k: v // found for k, v in polling.wire().items()} if found else None
                ),
            }
        )
    print(json.dumps({"bench": "network", "cases": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
