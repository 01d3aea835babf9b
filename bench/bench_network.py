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

Then what the embedded web server reader (EWS, opt-in) adds per device per poll,
against the hand-written fixture pages served on 127.0.0.1 (tests/ews_server.py):
HTTP requests, connections, and TCP payload bytes each way as counted by a relay
between the exporter and the server (headers, and TLS handshake and records,
included; IP and TCP headers not), for an HP whose SNMP
answered (EWS reads only the gaps), an HP and a Brother whose SNMP is off, and the
HP over pinned TLS.

Last, the other two protocols beside SNMP: the ICMP echo each poll sends (on by default;
icmplib's 56-byte payload, so 84 bytes each way with the ICMP and IPv4 headers), and PJL
(opt-in) against the PJL responder of the tests (tests/pjl_responder.py): TCP payload
each way for the INFO requests the fallback makes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import sys
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from bench.relay import Relay
from demo.simulator import Simulator, free_udp_port
from exporter.config import EwsSettings, PollConfig, TlsPin
from exporter.device import DeviceRead, read_device
from exporter.discovery import sweep
from exporter.ews import EwsClient, read_ews
from exporter.icmp import Pinger
from exporter.model import Snapshot
from exporter.pjl import CATEGORIES, PjlClient
from exporter.poller import Poller, PollTarget
from exporter.profiles import default_database
from exporter.snmp import community
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.store import SnapshotStore
from tests.ews_server import page, serving
from tests.pjl_responder import Device, PjlResponder

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
NETWORK = IPv4Network("127.4.0.0/24")
HEADERS = 28
"""IPv4 (20) + UDP (8) bytes around every SNMP payload."""
RECORDINGS = ("color_mfp", "mono_printer", "sentinels", "snmpv3")
ICMP_PACKET = 84
"""An echo as icmplib sends it: 56 bytes of payload, 8 of ICMP header, 20 of IPv4 header."""


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


HP_PAGES = {
    "/DevMgmt/ProductUsageDyn.xml": page("hp/ProductUsageDyn.xml"),
    "/DevMgmt/ConsumableConfigDyn.xml": page("hp/ConsumableConfigDyn.xml"),
    "/DevMgmt/ProductConfigDyn.xml": page("hp/ProductConfigDyn.xml"),
}
BROTHER_PAGES = {"/etc/mnt_info.csv": page("brother/mnt_info.csv", "text/csv")}


async def ews_case(
    name: str, routes: dict[str, Any], read: DeviceRead, profile: str, tls: bool
) -> dict[str, Any]:
    context, pin = _tls() if tls else (None, None)
    async with serving(routes, context) as server, Relay(server.port) as relay:
        settings = EwsSettings(
            scheme="https" if tls else "http",
            port=relay.port,
            timeout=10.0,
            max_page_bytes=2 * 1024 * 1024,
            max_redirects=3,
            https_upgrade=False,
            tls_fingerprint=pin,
            profile=profile,
        )
        done, fetched = await read_ews(
            read, "127.0.0.1", settings, EwsClient(), default_database().get
        )
    filled = len(done.snapshot.counters) - len(read.snapshot.counters)
    traffic = fetched.traffic if fetched else None
    return {
        "case": name,
        "pages": [r.target for r in server.requests],
        "requests": traffic.requests if traffic else 0,
        "connections": traffic.connections if traffic else 0,
        "tcp_bytes_sent": relay.up,
        "tcp_bytes_received": relay.down,
        "http_bytes_sent": traffic.bytes_sent if traffic else 0,
        "http_bytes_received": traffic.bytes_received if traffic else 0,
        "counters_added": filled,
        "sources_added": len(done.snapshot.sources) - len(read.snapshot.sources),
    }


def _tls() -> tuple[ssl.SSLContext, TlsPin]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    return context, TlsPin("certificate", hashlib.sha256(der).digest())


async def measure_ews() -> list[dict[str, Any]]:
    values = load_snmprec(FIXTURES / "vendors" / "hp.snmprec")
    hp = await read_device(MemoryClient(values, target="127.0.0.1:161"))
    off = DeviceRead(Snapshot("127.0.0.1:161", "now", 0.0, False, error="no SNMP"), ())
    return [
        await ews_case("HP, SNMP answered (EWS for the gaps)", HP_PAGES, hp, "hp", False),
        await ews_case("HP, SNMP off", HP_PAGES, off, "hp", False),
        await ews_case("HP, SNMP off, pinned TLS", HP_PAGES, off, "hp", True),
        await ews_case("Brother, SNMP off", BROTHER_PAGES, off, "brother", False),
    ]


async def measure_icmp() -> dict[str, Any]:
    """The echo beside one poll of one device (exporter/icmp.py), to a loopback address."""
    echo = await Pinger(count=1, timeout=1.0).ping(str(NETWORK[10]))
    if echo is None:
        return {"sent": False, "why": "no ICMP socket may be opened here (not root)"}
    return {
        "packets_sent": echo.sent,
        "packets_received": echo.received,
        "bytes_sent": echo.sent * ICMP_PACKET,
        "bytes_received": echo.received * ICMP_PACKET,
    }


async def measure_pjl() -> list[dict[str, Any]]:
    """What the PJL fallback exchanges with one device in one poll, by what SNMP left."""
    rows = []
    cases = (
        ("SNMP off: INFO ID, STATUS, PAGECOUNT", CATEGORIES),
        ("only the page count missing: INFO PAGECOUNT", ("PAGECOUNT",)),
    )
    async with PjlResponder(Device(model="LaserJet Enterprise M607", pagecount=183_933)) as pjl:
        for name, categories in cases:
            info = await PjlClient().info("127.0.0.1", pjl.port, categories)
            rows.append(
                {
                    "case": name,
                    "connections": 1,
                    "bytes_sent": info.bytes_sent,
                    "bytes_received": info.bytes_received,
                }
            )
    return rows


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
    others = {
        "ews": asyncio.run(measure_ews()),
        "icmp": asyncio.run(measure_icmp()),
        "pjl": asyncio.run(measure_pjl()),
    }
    print(json.dumps({"bench": "network", "cases": rows, **others}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
