"""Benchmark (a): sweep a /16 on loopback with simulated printers at known addresses.

    .venv/bin/python -m bench.bench_discovery [--network 127.1.0.0/16] [--rate 10000]

Prints one JSON line: wall time, packets per second, peak RSS, found against
expected. Every address outside the printers gets an ICMP port-unreachable
from the loopback stack, so the sweep's pace is set by --rate, exactly as on a
real network (where silence would instead cost the --timeout once, at the end).

Safety: the network must be inside 127.0.0.0/8; the sweep is one pass of
(addresses x communities x tries) packets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from ipaddress import IPv4Network, ip_network
from pathlib import Path

from demo.simulator import Simulator, free_udp_port
from exporter.discovery import sweep
from exporter.snmp import community

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
_LOOPBACK = IPv4Network("127.0.0.0/8")


def printer_hosts(network: IPv4Network, count: int) -> list[str]:
    """`count` addresses spread over the network, so the sweep meets them throughout."""
    hosts = list(network.hosts())
    step = max(1, len(hosts) // count)
    return [str(hosts[i * step + 7]) for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--network", default="127.1.0.0/16")
    parser.add_argument("--printers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10000.0, help="packets per second")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--retries", type=int, default=0)
    args = parser.parse_args(argv)
    network = ip_network(args.network)
    if not isinstance(network, IPv4Network) or not network.subnet_of(_LOOPBACK):
        print("error: the benchmark sweeps loopback only (127.0.0.0/8)", file=sys.stderr)
        return 2
    hosts = printer_hosts(network, args.printers)
    port = free_udp_port(hosts)
    with Simulator(FIXTURES, [(h, port) for h in hosts], start_timeout=120):
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        cpu0 = time.process_time()
        result = asyncio.run(
            sweep(
                network.hosts(),
                port,
                [community("bench", "color_mfp")],
                rate=args.rate,
                timeout=args.timeout,
                retries=args.retries,
            )
        )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
    found = sorted(f.host for f in result.found)
    print(
        json.dumps(
            {
                "bench": "discovery",
                "network": str(network),
                "addresses": result.probed,
                "printers_expected": len(hosts),
                "printers_found": len(found),
                "all_found": found == sorted(hosts),
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "packets_sent": result.packets_sent,
                "packets_per_s": round(result.packets_sent / wall),
                "bytes_sent": result.bytes_sent,
                "bytes_received": result.bytes_received,
                "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "rss_before_mb": round(rss_before / 1024, 1),
                "rate_limit": args.rate,
            }
        )
    )
    return 0 if found == sorted(hosts) else 1


if __name__ == "__main__":
    sys.exit(main())
