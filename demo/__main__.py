"""`python -m demo` (or `make demo`): a simulated printer fleet on loopback, read by the exporter.

It starts snmpsim serving the project's own recordings (tests/fixtures) on a
few 127.0.0.x addresses, one printer per address, reads every printer with the
same code as `printer-exporter probe`, and prints what it found. With
`--keep-running` the fleet stays up so you can try `printer-exporter probe`
against it yourself.

Nothing here leaves 127.0.0.0/8: the simulator refuses any other address.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from demo.simulator import Simulator
from exporter.readers.device import read_device
from exporter.snmp import SnmpError, SnmpOptions, community, connect
from exporter.table import render

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PORT = 16100


@dataclass(frozen=True)
class DemoPrinter:
    host: str
    recording: str


FLEET = (
    DemoPrinter("127.0.0.11", "color_mfp"),
    DemoPrinter("127.0.0.12", "mono_printer"),
    DemoPrinter("127.0.0.13", "sentinels"),
    DemoPrinter("127.0.0.14", "snmpv3"),
    DemoPrinter("127.0.0.15", "broken_agent"),
)
"""One recording per address. snmpsim picks the recording by community, so each
printer is read with its own community (the recording's name)."""


async def read_fleet(port: int) -> int:
    failures = 0
    options = SnmpOptions(timeout=1.0, retries=1)
    for printer in FLEET:
        try:
            client = await connect(
                printer.host, port, [community("demo", printer.recording)], options
            )
        except SnmpError as exc:
            print(f"{printer.host}:{port}  unreachable: {exc}\n")
            failures += 1
            continue
        result = await read_device(client)
        print(render(result.snapshot))
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=PORT, help=f"UDP port (default {PORT})")
    parser.add_argument(
        "--keep-running", action="store_true", help="keep the fleet up until Ctrl-C"
    )
    args = parser.parse_args(argv)

    endpoints = [(p.host, args.port) for p in FLEET]
    print(f"Starting a simulated fleet of {len(FLEET)} printers on 127.0.0.11-15:{args.port} ...")
    with Simulator(FIXTURES, endpoints, probe_community=FLEET[0].recording) as sim:
        print(f"snmpsim is up (pid {sim.pid}). Reading every printer:\n")
        failures = asyncio.run(read_fleet(args.port))
        print("Try it yourself:")
        for p in FLEET[:2]:
            print(
                f"  .venv/bin/printer-exporter probe {p.host}:{args.port} --community {p.recording}"
            )
        print(
            f"  .venv/bin/printer-exporter probe {FLEET[0].host}:{args.port} "
            f"--community {FLEET[0].recording} --output json"
        )
        if args.keep_running:
            print("\nThe fleet stays up; press Ctrl-C to stop it.")
            try:
                while sim.running:
                    time.sleep(1)
            except KeyboardInterrupt:
                print("\nStopping the fleet.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
