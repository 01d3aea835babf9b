"""CPU per device poll: LeanClient against PysnmpClient, on snmpsim serving tests/fixtures.

Why this bench: the lean BER codec exists to bring a poll's CPU near Go's
snmp_exporter (~3 ms per device, ../shared/bench-peer/RESULTS.md). Wall time
on one machine is set by the simulator, so the figure compared is this
process's CPU (user + sys, `resource.getrusage`); snmpsim runs in its own
process and is not counted.

One poll = what the readers ask of a printer (exporter/readers/oids.py): one
GET of the system scalars, then walks of hrDeviceTable, hrPrinterTable,
prtGeneral, prtCover, prtInput, prtMarker, prtMarkerSupplies,
prtMarkerColorant, the console lines, prtAlert, ifType and ifPhysAddress.
Polls cycle over the fixture recordings, one client per recording, each
polled once untimed first (pysnmp registers targets and warms caches). The
two clients take turns in --rounds rounds, so a change of load on a shared
machine falls on both alike.

    cd /work/main && /work/venv/bin/python -m bench.bench_codec --polls 200

Safety: the agent is on 127.0.0.1 only; the number of polls is capped and
the run stops after the round that passes --deadline seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from demo.simulator import Simulator
from exporter.readers import oids
from exporter.snmp import PysnmpClient, SnmpClient, SnmpOptions, community
from exporter.snmp.lean import LeanClient
from exporter.snmp.types import Oid

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
MAX_POLLS = 10_000
SCALARS: list[Oid] = [
    oids.SYS_DESCR,
    oids.SYS_OBJECT_ID,
    oids.SYS_UPTIME,
    oids.SYS_CONTACT,
    oids.SYS_NAME,
    oids.SYS_LOCATION,
]
SUBTREES: list[Oid] = [
    oids.HR_DEVICE_ENTRY,
    oids.HR_PRINTER_ENTRY,
    oids.PRT_GENERAL_ENTRY,
    oids.PRT_COVER_ENTRY,
    oids.PRT_INPUT_ENTRY,
    oids.PRT_MARKER_ENTRY,
    oids.PRT_MARKER_SUPPLIES_ENTRY,
    oids.PRT_MARKER_COLORANT_ENTRY,
    oids.PRT_CONSOLE_DISPLAY_BUFFER_TEXT,
    oids.PRT_ALERT_ENTRY,
    oids.IF_TYPE,
    oids.IF_PHYS_ADDRESS,
]
Kind = Literal["lean", "pysnmp"]


@dataclass(frozen=True)
class Figures:
    kind: Kind
    polls: int
    cpu_s: float
    user_s: float
    wall_s: float
    varbinds: int
    requests: int

    @property
    def cpu_ms_per_poll(self) -> float:
        return 1000 * self.cpu_s / self.polls

    @property
    def user_ms_per_poll(self) -> float:
        """Python's own work; the rest is kernel time, mostly loopback delivery inside sendto."""
        return 1000 * self.user_s / self.polls

    @property
    def cpu_us_per_varbind(self) -> float:
        return 1e6 * self.cpu_s / max(1, self.varbinds)


def cpu_seconds() -> tuple[float, float]:
    """(user + sys, user) of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_utime


async def poll(client: SnmpClient) -> int:
    """One device poll; returns the values read, so both clients can be seen to do equal work."""
    count = len(await client.get(SCALARS))
    for root in SUBTREES:
        count += len((await client.walk(root)).rows)
    return count


@dataclass
class Tally:
    """Running totals for one client kind across the interleaved rounds."""

    polls: int = 0
    cpu_s: float = 0.0
    user_s: float = 0.0
    wall_s: float = 0.0
    varbinds: int = 0


async def measure(
    agent: Simulator,
    communities: Sequence[str],
    polls: int,
    rounds: int,
    version: Literal[1, 2],
    options: SnmpOptions,
    deadline: float,
) -> list[Figures]:
    """Both clients, in alternating rounds: a load change on a shared machine hits both alike."""
    creds = [community(name, name, version=version) for name in communities]
    clients: dict[Kind, list[LeanClient | PysnmpClient]] = {
        "lean": [LeanClient(agent.host, agent.port, c, options) for c in creds],
        "pysnmp": [PysnmpClient(agent.host, agent.port, c, options) for c in creds],
    }
    for group in clients.values():
        for client in group:  # warm-up, untimed: pysnmp registers targets, caches fill
            await poll(client)
    before = {k: sum(c.stats.requests for c in g) for k, g in clients.items()}
    tallies: dict[Kind, Tally] = {kind: Tally() for kind in clients}
    stop_at = time.monotonic() + deadline
    per_round = max(1, polls // rounds)
    for _ in range(rounds):
        for kind, group in clients.items():
            tally = tallies[kind]
            wall0, (cpu0, user0) = time.perf_counter(), cpu_seconds()
            for _ in range(per_round):
                tally.varbinds += await poll(group[tally.polls % len(group)])
                tally.polls += 1
            cpu1, user1 = cpu_seconds()
            tally.cpu_s += cpu1 - cpu0
            tally.user_s += user1 - user0
            tally.wall_s += time.perf_counter() - wall0
        if time.monotonic() > stop_at:
            print("deadline reached: stopping early", file=sys.stderr)
            break
    return [
        Figures(
            kind,
            t.polls,
            t.cpu_s,
            t.user_s,
            t.wall_s,
            t.varbinds,
            sum(c.stats.requests for c in clients[kind]) - before[kind],
        )
        for kind, t in tallies.items()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polls", type=int, default=200, help="timed polls per client kind")
    parser.add_argument("--version", type=int, choices=(1, 2), default=2, help="SNMP version")
    parser.add_argument("--max-repetitions", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the two clients")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds in all, at most")
    parser.add_argument(
        "--communities",
        default="color_mfp,mono_printer,sentinels,broken_agent,snmpv3",
        help="fixture recordings to cycle over",
    )
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args(argv)
    if not 1 <= args.polls <= MAX_POLLS:
        parser.error(f"--polls must be 1..{MAX_POLLS}")
    if not 1 <= args.rounds <= args.polls:
        parser.error("--rounds must be 1..--polls")
    names = [n for n in args.communities.split(",") if n]
    version: Literal[1, 2] = 1 if args.version == 1 else 2
    options = SnmpOptions(timeout=5.0, retries=3, max_repetitions=args.max_repetitions)

    with Simulator(FIXTURES, [("127.0.0.1", None)]) as agent:
        results = asyncio.run(
            measure(agent, names, args.polls, args.rounds, version, options, args.deadline)
        )
    lean, reference = results
    label = "1" if version == 1 else "2c"
    print(f"{len(names)} recordings, SNMPv{label}, {lean.polls} polls each in {args.rounds} rounds")
    header = ("client", "CPU ms/poll", "user ms", "µs/varbind", "varbinds/poll", "PDUs/poll")
    print("{:8} {:>12} {:>8} {:>11} {:>14} {:>10}".format(*header))
    for f in results:
        per_poll = (f.varbinds / f.polls, f.requests / f.polls)
        print(
            f"{f.kind:8} {f.cpu_ms_per_poll:12.2f} {f.user_ms_per_poll:8.2f} "
            f"{f.cpu_us_per_varbind:11.1f} {per_poll[0]:14.1f} {per_poll[1]:10.1f}"
        )
    ratio = reference.cpu_ms_per_poll / lean.cpu_ms_per_poll
    print(f"pysnmp / lean CPU: {ratio:.1f}x")
    if lean.varbinds != reference.varbinds:
        print("warning: the clients read different numbers of values", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "bench": "codec",
                    "version": version,
                    "polls": lean.polls,
                    "rounds": args.rounds,
                    "recordings": names,
                    "ratio": round(ratio, 2),
                    **{
                        f.kind: {
                            "cpu_ms_per_poll": round(f.cpu_ms_per_poll, 3),
                            "user_ms_per_poll": round(f.user_ms_per_poll, 3),
                            "cpu_us_per_varbind": round(f.cpu_us_per_varbind, 2),
                            "varbinds_per_poll": f.varbinds / f.polls,
                            "requests_per_poll": f.requests / f.polls,
                            "wall_s": round(f.wall_s, 3),
                        }
                        for f in results
                    },
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
