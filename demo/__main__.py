"""`python -m demo` (or `make demo`): a simulated printer fleet on loopback, the exporter,
and the central side: pull_sync and the reference archive.

It starts snmpsim serving the project's own recordings (tests/fixtures) on a
few 127.0.0.x addresses, one printer per address, writes an exporter config
for four of them, starts the archive and pull_sync (demo/central.py) and the
exporter, and prints the URLs to open. Then it shows the round trip a dealer
relies on: snapshots arrive in the archive; a config change (a discovery range
holding the fifth printer) is published, signed, with `printer-archive config
publish`, pulled by pull_sync, applied, confirmed, and the exporter finds and
polls the fifth printer. It stops by itself after `--duration` (an hour by
default) or on Ctrl-C.

`--once` instead reads every printer once, prints what it found, and exits;
`--no-central` runs the fleet and the exporter only.

Nothing here leaves 127.0.0.0/8: the simulator refuses any other address.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from demo.central import INTERVAL, Central
from demo.simulator import Simulator, SimulatorError
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


def central_exporter_config(port: int, remote: Path) -> dict[str, object]:
    """The site's config with a central archive: the fifth printer is left for a remote
    range to find, and remote may add ranges and targets on 127.0.0.0/24 only."""
    config = exporter_config(port)
    targets = config["targets"]
    assert isinstance(targets, list)
    config["targets"] = targets[:-1]
    config["discovery"] = {"port": port, "credentials": [FLEET[-1].recording]}
    config["remote"] = {
        "file": str(remote),
        "allowed_cidrs": ["127.0.0.0/24"],
        "allowed_settings": ["targets", "discovery.ranges", "poll.interval"],
    }
    return config


async def run_exporter(
    config: Path, listen: str, duration: float, central: Central | None = None
) -> int:
    until = asyncio.Event()
    asyncio.get_running_loop().call_later(duration, until.set)
    tour = asyncio.create_task(show_round_trip(central, listen, until)) if central else None
    code = await serve(config, None, listen, until)
    if tour is not None:
        tour.cancel()
        await asyncio.gather(tour, return_exceptions=True)
    if until.is_set():
        print(f"\nThe demo ran its {duration:g} s; stopped.")
    return code


async def show_round_trip(central: Central, listen: str, until: asyncio.Event) -> None:
    """Print each step of the archive round trip as it happens (polling, bounded by `until`)."""

    async def wait_for(check: Callable[[], Awaitable[bool]]) -> bool:
        while not until.is_set():
            with contextlib.suppress(Exception):  # a step not there yet, a slow child
                if await check():
                    return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(until.wait(), timeout=1.0)
        return False

    async def stored() -> bool:
        agent = await asyncio.to_thread(central.agent)
        return bool(agent["snapshots_stored"])

    if not await wait_for(stored):
        return
    agent = await asyncio.to_thread(central.agent)
    print(f"archive: {agent['snapshots_stored']} snapshots stored from {agent['name']}")
    new_range = FLEET[-1].host
    await asyncio.to_thread(central.publish, {"discovery": {"ranges": [new_range]}})
    version = (await asyncio.to_thread(central.agent))["config"]["published_version"]
    print(f"archive: published signed config v{version}: add discovery range {new_range}")

    async def applied() -> bool:
        status = (await asyncio.to_thread(central.agent))["config"]
        return status["status"] is not None and status["version"] is not None

    if not await wait_for(applied):
        return
    status = (await asyncio.to_thread(central.agent))["config"]
    print(f"pull_sync: config v{status['version']} {status['status']}{_error(status)}")

    async def polled() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            body = (await client.get(f"http://{listen}/metrics")).text
        return f'printer_up{{target="{new_range}:' in body and "} 1.0" in body

    if await wait_for(polled):
        print(f"exporter: found {new_range} in the new range and polls it")


def _error(status: dict[str, Any]) -> str:
    return f": {status['error']}" if status.get("error") else ""


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
    parser.add_argument(
        "--no-central",
        dest="central",
        action="store_false",
        help="run the fleet and the exporter only, without pull_sync and the archive",
    )
    args = parser.parse_args(argv)
    setup_logging("warn")  # the exporter's own warnings and errors, not every poll

    endpoints = [(p.host, args.port) for p in FLEET]
    busy = [host for host, port in endpoints if not _udp_free(host, port)]
    if busy:
        print(
            f"UDP port {args.port} is already in use on {', '.join(busy)} (another demo"
            " running?): stop it, or pick another port with --port N",
            file=sys.stderr,
        )
        return 1
    print(f"Starting a simulated fleet of {len(FLEET)} printers on 127.0.0.11-15:{args.port} ...")
    try:
        return _run(args, endpoints)
    except SimulatorError as exc:
        print(f"the simulated fleet did not start: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


def _udp_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _run(args: argparse.Namespace, endpoints: list[tuple[str, int]]) -> int:
    with Simulator(FIXTURES, endpoints, probe_community=FLEET[0].recording) as sim:
        print(f"snmpsim is up (pid {sim.pid}).\n")
        if args.once:
            failures = asyncio.run(read_fleet(args.port))
            return 1 if failures else 0
        with tempfile.TemporaryDirectory(prefix="printer-exporter-demo-") as tmp:
            config = Path(tmp) / "printer-exporter.yml"
            base = f"http://{args.listen}"
            if args.central:
                site = central_exporter_config(args.port, Path(tmp) / "remote.yml")
                config.write_text(yaml.safe_dump(site, sort_keys=False))
                with Central(Path(tmp), config, base) as central:
                    print(f"The archive is up at {central.url} (SQLite in {tmp}),")
                    print(f"pull_sync uploads and checks in every {INTERVAL}.")
                    _print_urls(base, args.port)
                    return asyncio.run(run_exporter(config, args.listen, args.duration, central))
            config.write_text(yaml.safe_dump(exporter_config(args.port), sort_keys=False))
            _print_urls(base, args.port)
            return asyncio.run(run_exporter(config, args.listen, args.duration))


def _print_urls(base: str, port: int) -> None:
    print("The exporter is starting. Open:")
    print(f"  {base}/                 the fleet page")
    print(f"  {base}/metrics          Prometheus metrics")
    print(f"  {base}/api/v1/snapshot  the snapshots as JSON")
    print("Or read one printer yourself:")
    first = FLEET[0]
    print(f"  .venv/bin/printer-exporter probe {first.host}:{port} --community {first.recording}")
    print("Ctrl-C stops the demo.\n")


if __name__ == "__main__":
    sys.exit(main())
