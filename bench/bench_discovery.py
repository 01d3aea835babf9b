"""Benchmark (a): sweep loopback ranges with simulated printers at known addresses.

    .venv/bin/python -m bench.bench_discovery
    .venv/bin/python -m bench.bench_discovery --network 127.64.0.0/16 [--rate 10000]

Without `--network` it runs the standard cases, a /16 and a /12, each in a fresh
subprocess, so each peak RSS (`ru_maxrss`) is that case's own and not the
high-water mark of an earlier, larger case. With `--network` it runs one case in
this process. Either way it prints one JSON line per case: wall time, packets per
second, RSS before the sweep and at its peak, found against expected.

Every address outside the printers gets an ICMP port-unreachable from the loopback
stack (or nothing), so the sweep's pace is set by --rate, exactly as on a real
network where silence costs the --timeout once per window of addresses.

Safety: the network must be inside 127.0.0.0/8; a sweep is one pass of
(addresses x communities x tries) packets at --rate, and the standard cases run
under a wall-clock limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from ipaddress import IPv4Address, IPv4Network, ip_network
from pathlib import Path

from demo.simulator import Simulator, free_udp_port
from exporter.config import expand
from exporter.discovery import sweep
from exporter.snmp import community

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
_LOOPBACK = IPv4Network("127.0.0.0/8")

CASES: tuple[tuple[str, float, float], ...] = (
    ("127.64.0.0/16", 10_000.0, 1.0),
    ("127.16.0.0/12", 20_000.0, 0.5),
)
"""(network, rate, timeout) of the standard cases. Both inside 127.0.0.0/8. The /12 is
1,048,574 addresses: at 20,000 packets/s it takes about 53 s of sending."""

_CASE_LIMIT_S = 600.0
"""A case that runs longer than this is killed: the benchmark is bounded in time too."""


def printer_hosts(network: IPv4Network, count: int) -> list[str]:
    """`count` addresses spread over the network, so the sweep meets them throughout.

    Computed, not picked from a list of the network's hosts: a /12 listed would be a
    million objects in the very process whose memory is measured."""
    first = int(network.network_address) + 1
    usable = network.num_addresses - 2
    step = max(1, usable // count)
    return [str(IPv4Address(first + min(i * step + 7, usable - 1))) for i in range(count)]


def run_case(network: IPv4Network, printers: int, rate: float, timeout: float, retries: int) -> int:
    """Sweep `network` in this process and print its figures; 0 if every printer was found."""
    hosts = printer_hosts(network, printers)
    port = free_udp_port(hosts)
    with Simulator(FIXTURES, [(h, port) for h in hosts], start_timeout=120):
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        cpu0 = time.process_time()
        result = asyncio.run(
            sweep(
                expand([str(network)]),
                port,
                [community("bench", "color_mfp")],
                rate=rate,
                timeout=timeout,
                retries=retries,
            )
        )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
                "rss_before_mb": round(rss_before / 1024, 1),
                "rss_peak_mb": round(rss_peak / 1024, 1),
                "rss_sweep_mb": round((rss_peak - rss_before) / 1024, 1),
                "rate_limit": rate,
                "timeout_s": timeout,
            }
        ),
        flush=True,
    )
    return 0 if found == sorted(hosts) else 1


def run_cases(printers: int, retries: int) -> int:
    """Each standard case in its own interpreter, so every peak RSS belongs to one case."""
    status = 0
    for network, rate, timeout in CASES:
        command = [
            sys.executable,
            "-m",
            "bench.bench_discovery",
            f"--network={network}",
            f"--rate={rate}",
            f"--timeout={timeout}",
            f"--printers={printers}",
            f"--retries={retries}",
        ]
        done = subprocess.run(command, check=False, timeout=_CASE_LIMIT_S)
        status = status or done.returncode
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--network", help="one case, in this process (default: the standard cases)")
    parser.add_argument("--printers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10000.0, help="packets per second")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--retries", type=int, default=0)
    args = parser.parse_args(argv)
    if args.network is None:
        return run_cases(args.printers, args.retries)
    network = ip_network(args.network)
    if not isinstance(network, IPv4Network) or not network.subnet_of(_LOOPBACK):
        print("error: the benchmark sweeps loopback only (127.0.0.0/8)", file=sys.stderr)
        return 2
    return run_case(network, args.printers, args.rate, args.timeout, args.retries)


if __name__ == "__main__":
    sys.exit(main())
