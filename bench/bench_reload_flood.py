"""Benchmark (f): what a flood of `POST /-/reload` costs in poll cycles and SNMP packets.

    .venv/bin/python -m bench.bench_reload_flood [--seconds 60] [--reloads 220]

The attack of issue 7, replayed on loopback: the real exporter polls the demo
fleet (5 simulated printers, 15 s interval) for `--seconds`, first quietly,
then while `--reloads` reload requests arrive spread evenly over the same
time, 10 at a time. Prints one JSON line per run: poll cycles completed, SNMP
packets sent to the fleet, and the answers to the reloads by status code.

Nothing leaves 127.0.0.0/8; the run is bounded by `--seconds` and the
request count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.bench_idle_connections import running_demo_exporter

BATCH = 10


def _totals(body: str) -> tuple[float, float]:
    cycles = packets = 0.0
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == "printer_exporter_poll_cycles_total":
                cycles = sample.value
            elif sample.name == "printer_exporter_snmp_packets_sent_total":
                packets += sample.value
    return cycles, packets


async def _flood(base: str, reloads: int, seconds: float) -> Counter[int]:
    codes: Counter[int] = Counter()
    pause = seconds / max(1, reloads / BATCH)
    async with httpx.AsyncClient(timeout=10) as client:

        async def one() -> None:
            try:
                codes[(await client.post(f"{base}/-/reload")).status_code] += 1
            except httpx.HTTPError:
                codes[0] += 1

        sent = 0
        while sent < reloads:
            batch = min(BATCH, reloads - sent)
            await asyncio.gather(*(one() for _ in range(batch)))
            sent += batch
            await asyncio.sleep(pause)
    return codes


def run(seconds: float, reloads: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    with running_demo_exporter() as exporter:
        base = exporter.base
        for label, count in (("quiet", 0), ("reload flood", reloads)):
            cycles0, packets0 = _totals(httpx.get(f"{base}/metrics", timeout=10).text)
            started = time.monotonic()
            codes = asyncio.run(_flood(base, count, seconds)) if count else Counter[int]()
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            cycles1, packets1 = _totals(httpx.get(f"{base}/metrics", timeout=10).text)
            out.append(
                {
                    "run": label,
                    "seconds": seconds,
                    "reloads_sent": count,
                    "answers": {str(code): n for code, n in sorted(codes.items())},
                    "poll_cycles": cycles1 - cycles0,
                    "snmp_packets_sent": packets1 - packets0,
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="each run's length (60)")
    parser.add_argument("--reloads", type=int, default=220, help="reloads in the flood (220)")
    args = parser.parse_args(argv)
    for line in run(args.seconds, args.reloads):
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
