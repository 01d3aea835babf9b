"""Benchmark (b): CPU per device poll, ours against prometheus/snmp_exporter, same fleet, same run.

    .venv/bin/python -m bench.bench_polling --n 50 200 1000 [--repeat 2]

For each N it starts the shared peer harness's simulated fleet
(`../shared/bench-peer/fleet.py`: real recordings replicated over 127.77.x.y),
runs the peer's own `bench_snmp_exporter.py` against it (Debian's
prometheus-snmp-exporter, scraping every device), then runs our poller over
the same targets in this process, and prints one JSON line per N.

What is compared: process CPU (user + sys) per device poll. Wall time on one
machine is set by snmpsim (RESULTS.md), so it is reported but not compared.
Our poll reads more than the peer's module (whole tables, the identity
extras, the vendor profile); `varbinds_per_device` shows how much more.

Safety: the harness binds 127.77.0.0/16 only; every phase is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from exporter.config import PollConfig
from exporter.poller import Poller, PollTarget
from exporter.snmp import community
from exporter.store import SnapshotStore

PEER = Path(__file__).resolve().parents[2] / "shared" / "bench-peer"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peer(state: Path, out: Path, repeat: int) -> dict[str, Any]:
    subprocess.run(
        [sys.executable, str(PEER / "bench_snmp_exporter.py"), "--fleet", str(state),
         "--repeat", str(repeat), "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL, timeout=1800,
    )  # fmt: skip
    line: dict[str, Any] = json.loads(out.read_text().splitlines()[-1])
    return line


async def ours(targets: list[dict[str, Any]], repeat: int) -> dict[str, Any]:
    poll = PollConfig(interval=3600, jitter=0, timeout=5, retries=3, concurrency=10)
    poller = Poller(SnapshotStore(), poll)
    poller.configure(
        poll,
        [
            PollTarget(t["host"], t["port"], (community(t["community"], t["community"]),),
                       f"{t['host']}:{t['port']}")
            for t in targets
        ],
    )  # fmt: skip
    await poller.cycle()  # warm-up: first contact with every device, like the peer's warm-up
    cpu0, wall0 = _cpu(), time.perf_counter()
    for _ in range(repeat):
        await poller.cycle()
    cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
    entries = poller.store.entries()
    polls = len(targets) * repeat
    packets = sum(e.traffic.packets_sent for e in entries) / len(entries) / (repeat + 1)
    return {
        "cpu_ms_per_device": round(cpu * 1000 / polls, 2),
        "cycle_wall_s": round(wall / repeat, 2),
        "reachable": sum(e.snapshot.reachable for e in entries),
        "requests_per_device": round(packets, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    if not (PEER / "fleet.py").exists():
        print(f"error: no peer harness at {PEER}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="bench-polling-") as tmp:
            state = Path(tmp) / "fleet.json"
            up = [
                sys.executable,
                str(PEER / "fleet.py"),
                "up",
                "--n",
                str(n),
                "--state",
                str(state),
            ]
            subprocess.run(up, check=True, stdout=subprocess.DEVNULL, timeout=600, env=env)
            try:
                targets = json.loads(state.read_text())["targets"]
                theirs = peer(state, Path(tmp) / "peer.jsonl", args.repeat)
                mine = asyncio.run(ours(targets, args.repeat))
            finally:
                subprocess.run(
                    [sys.executable, str(PEER / "fleet.py"), "down", "--state", str(state)],
                    check=False, stdout=subprocess.DEVNULL, timeout=120,
                )  # fmt: skip
        their_cpu = theirs.get("exporter_cpu_ms_per_scrape")
        print(
            json.dumps(
                {
                    "bench": "polling",
                    "n": n,
                    "ours": mine,
                    "snmp_exporter": {
                        "cpu_ms_per_device": their_cpu,
                        "wall_s": theirs.get("wall_s"),
                        "packets_per_device": theirs.get("packets_per_scrape"),
                        "varbinds_per_device": theirs.get("pdus_per_scrape"),
                        "ok": theirs.get("ok"),
                    },
                    "cpu_ratio_ours_to_peer": (
                        round(mine["cpu_ms_per_device"] / their_cpu, 2) if their_cpu else None
                    ),
                    "recordings": theirs.get("recordings"),
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
