"""Benchmark (c): render /metrics for N devices from synthetic snapshots.

    .venv/bin/python -m bench.bench_exposition [--devices 5000] [--scrapes 50]

The snapshots are real reads of the project's fixture recordings (a colour
MFP, a mono printer, the sentinel printer...) replicated under N targets.
Four cases, as a scrape meets them in production:
- `unchanged_service_path`: nothing polled since the last render, and the service hands out
  the same state object (what `Service.state` does), so the rendered bytes are reused;
- `unchanged_new_state`: nothing polled, but a new state object: the body is joined again;
- `quarter`: a quarter of the devices re-polled (60 s polls, 15 s scrapes);
- `cold`: nothing cached (first scrape after start).
Prints one JSON line with the latency percentiles of each case, in ms of
wall time and of process CPU. No network traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

from exporter.device import read_device
from exporter.metrics import ExporterState, MetricsRenderer
from exporter.model import Snapshot
from exporter.snmp.memory import MemoryClient, load_snmprec

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
RECORDINGS = ("color_mfp", "mono_printer", "sentinels", "snmpv3")


def templates() -> list[Snapshot]:
    async def read_all() -> list[Snapshot]:
        out = []
        for name in RECORDINGS:
            client = MemoryClient(load_snmprec(FIXTURES / f"{name}.snmprec"), target=name)
            out.append((await read_device(client)).snapshot)
        return out

    return asyncio.run(read_all())


def fleet(n: int, base: list[Snapshot], generation: int = 0) -> list[Snapshot]:
    return [
        dataclasses.replace(
            base[i % len(base)],
            target=f"127.{10 + i // 65536}.{(i // 256) % 256}.{i % 256}:161",
            duration_seconds=0.1 + generation * 1e-3,
        )
        for i in range(n)
    ]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "max": round(ordered[-1], 1),
    }


def measure(renderer: MetricsRenderer, states: list[ExporterState]) -> dict[str, object]:
    wall, cpu = [], []
    size = 0
    for state in states:
        w0, c0 = time.perf_counter(), time.process_time()
        body = renderer.render(state)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        size = len(body)
    return {
        "wall_ms": percentiles(wall),
        "cpu_ms": percentiles(cpu),
        "body_mb": round(size / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args(argv)
    base = templates()
    snaps = fleet(args.devices, base)
    series = sum(
        1
        for line in MetricsRenderer().render(ExporterState(snapshots=snaps[:1])).splitlines()
        if not line.startswith(b"#")
    )

    renderer = MetricsRenderer()
    renderer.render(ExporterState(snapshots=snaps))  # warm the cache
    unchanged = measure(
        renderer, [ExporterState(snapshots=list(snaps)) for _ in range(args.scrapes)]
    )
    # The service hands out the same state object until a poll lands (Service.state), and
    # re-renders in the background when one does: this is what a scrape then costs.
    same = ExporterState(snapshots=list(snaps))
    renderer.render(same)
    service_path = measure(renderer, [same] * args.scrapes)

    quarter_states = []
    current = list(snaps)
    for g in range(1, args.scrapes + 1):
        start = (g * args.devices // 4) % args.devices
        repolled = fleet(args.devices, base, generation=g)
        for i in range(start, start + args.devices // 4):
            current[i % args.devices] = repolled[i % args.devices]
        quarter_states.append(ExporterState(snapshots=list(current)))
    quarter = measure(renderer, quarter_states)

    cold = measure(MetricsRenderer(), [ExporterState(snapshots=snaps)])
    print(
        json.dumps(
            {
                "bench": "exposition",
                "devices": args.devices,
                "series_per_device_sample": series,
                "scrapes": args.scrapes,
                "unchanged_service_path": service_path,
                "unchanged_new_state": unchanged,
                "quarter_repolled": quarter,
                "cold": cold,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
