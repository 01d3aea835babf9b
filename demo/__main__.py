"""`python -m demo` (or `make demo`): a simulated printer fleet on loopback, and the exporter.

It starts snmpsim serving the project's own recordings (tests/fixtures) on a
few 127.0.0.x addresses, one printer per address, writes an exporter config
for them, starts the exporter and prints the URLs to open. It stops by
itself after `--duration` (an hour by default) or on Ctrl-C.

`--once` instead reads every printer once, prints what it found, and exits.

Nothing here leaves 127.0.0.0/8: the simulator refuses any other address.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from demo.simulator import Simulator
from exporter.logs import setup_logging
from exporter.readers.device import read_device
from exporter.serve import serve
from exporter.snmp import SnmpError, SnmpOptions, community, connect
from exporter.table import render

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PORT = 16100
LISTEN = "127.0.0.1:9269"


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


def exporter_config(port: int) -> dict[str, object]:
    """The config a site would write for this fleet: a credential set per community."""
    return {
        "credentials": [
            {"name": p.recording, "version": "2c", "community": p.recording} for p in FLEET
        ],
        "targets": [{"address": f"{p.host}:{port}", "credentials": [p.recording]} for p in FLEET],
        "poll": {"interval": "15s", "timeout": "1s", "retries": 1},
    }


async def read_fleet(port: int) -> int:
    failures = 0
    options = SnmpOptions(timeout=1.0, retries=1)
    for printer in FLEET:
        try:
            creds = [community("demo", printer.recording)]
            client = await connect(printer.host, port, creds, options)
        except SnmpError as exc:
            print(f"{printer.host}:{port}  unreachable: {exc}\n")
            failures += 1
            continue
        result = await read_device(client)
        print(render(result.snapshot))
    return failures


async def run_exporter(config: Path, listen: str, duration: float) -> int:
    until = asyncio.Event()
    asyncio.get_running_loop().call_later(duration, until.set)
    code = await serve(config, None, listen, until)
    if until.is_set():
        print(f"\nThe demo ran its {duration:g} s; stopped.")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=PORT, help=f"UDP port (default {PORT})")
    parser.add_argument(
        "--web.listen-address", dest="listen", default=LISTEN, help=f"default {LISTEN}"
    )
    parser.add_argument(
        "--duration", type=float, default=3600.0, help="stop after this many seconds (3600)"
    )
    parser.add_argument("--once", action="store_true", help="read every printer once and exit")
    args = parser.parse_args(argv)
    setup_logging("warn")  # the exporter's own warnings and errors, not every poll

    endpoints = [(p.host, args.port) for p in FLEET]
    print(f"Starting a simulated fleet of {len(FLEET)} printers on 127.0.0.11-15:{args.port} ...")
    with Simulator(FIXTURES, endpoints, probe_community=FLEET[0].recording) as sim:
        print(f"snmpsim is up (pid {sim.pid}).\n")
        if args.once:
            failures = asyncio.run(read_fleet(args.port))
            return 1 if failures else 0
        with tempfile.TemporaryDirectory(prefix="printer-exporter-demo-") as tmp:
            config = Path(tmp) / "printer-exporter.yml"
            config.write_text(yaml.safe_dump(exporter_config(args.port), sort_keys=False))
            base = f"http://{args.listen}"
            print("The exporter is starting. Open:")
            print(f"  {base}/                 the fleet page")
            print(f"  {base}/metrics          Prometheus metrics")
            print(f"  {base}/api/v1/snapshot  the snapshots as JSON")
            print("Or read one printer yourself:")
            print(
                f"  .venv/bin/printer-exporter probe {FLEET[0].host}:{args.port} "
                f"--community {FLEET[0].recording}"
            )
            print("Ctrl-C stops the demo.\n")
            return asyncio.run(run_exporter(config, args.listen, args.duration))


if __name__ == "__main__":
    sys.exit(main())
