"""`python -m demo` (or `make demo`): a simulated printer fleet on loopback, the exporter,
and the central side: pull_sync and the reference archive.

It starts snmpsim serving living copies of the project's own recordings
(tests/fixtures, rewritten at start into the demo's temp folder by
demo/living.py) on a few 127.0.0.x addresses, one printer per address, writes
an exporter config for four of them, starts the archive and pull_sync
(demo/central.py) and the exporter, and prints the URLs to open.

The fleet lives, counted in steps of `--pace` seconds (5 by default): the HP,
the Kyocera and the Brother print 3, 2 and 1 pages a step (the HP's colour +
mono always equal its total, and its vendor total prtMarkerLifeCount); toner,
drum and fuser drain and the HP's waste box fills, by a percent every 40 s to a
few minutes; the HP's total wraps at 2^24 after 2 minutes, which the exporter's
ledger carries so its exposed total keeps rising; the Kyocera jams 30 s in, for
45 s, every 3 minutes (a critical jam alert, the jammed error bit, the device
down), then clears. The Brother at 127.0.0.14 has an agent of its own that
answers SNMPv3 alone, authPriv (`DEMO_V3`), as a site that turned v1/v2c off.
The exporter polls every 3 steps (15 s).

Then it shows the round trip a dealer relies on: snapshots arrive in the
archive; a config change (a discovery range holding the fifth printer) is
published, signed, with `printer-archive config publish`, pulled by pull_sync,
applied, confirmed, and the exporter finds and polls the fifth printer. It
stops by itself after `--duration` (an hour by default) or on Ctrl-C.

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
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from demo.central import INTERVAL, Central
from demo.living import DEMO_PACE, VARIATION_DIR, describe, write_recordings
from demo.simulator import Simulator, SimulatorError, V3User
from exporter.daemon import serve
from exporter.device import read_device
from exporter.logs import setup_logging
from exporter.snmp import Credentials, SnmpError, SnmpOptions, community, connect, usm
from exporter.table import render

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PORT = 16100
LISTEN = "127.0.0.1:9269"


@dataclass(frozen=True)
class DemoPrinter:
    host: str
    recording: str
    v3_only: bool = False


FLEET = (
    DemoPrinter("127.0.0.11", "color_mfp"),
    DemoPrinter("127.0.0.12", "mono_printer"),
    DemoPrinter("127.0.0.13", "sentinels"),
    DemoPrinter("127.0.0.14", "snmpv3", v3_only=True),
    DemoPrinter("127.0.0.15", "broken_agent"),
)
"""One recording per address. snmpsim picks the recording by community, so each
v1/v2c printer is read with its own community (the recording's name); the
SNMPv3-only printer has an agent of its own that answers `DEMO_V3` alone."""

DEMO_V3 = V3User("demo-v3", "SHA256", "demo-v3-auth-key", "AES", "demo-v3-priv-key")
"""The SNMPv3 user (authPriv: SHA-256 and AES-128) of the SNMPv3-only printer."""


def credentials(printer: DemoPrinter) -> Credentials:
    """What the exporter reads `printer` with: its community, or the v3 user."""
    if not printer.v3_only:
        return community(printer.recording, printer.recording)
    return usm(
        printer.recording,
        DEMO_V3.name,
        auth_protocol=DEMO_V3.auth_protocol,
        auth_key=DEMO_V3.auth_key,
        priv_protocol=DEMO_V3.priv_protocol,
        priv_key=DEMO_V3.priv_key,
    )


def credential_config(printer: DemoPrinter) -> dict[str, str]:
    """The same credential set, written the way a site writes it in the config file."""
    if not printer.v3_only:
        return {"name": printer.recording, "version": "2c", "community": printer.recording}
    return {
        "name": printer.recording,
        "version": "3",
        "username": DEMO_V3.name,
        "auth_protocol": DEMO_V3.auth_protocol,
        "auth_key": DEMO_V3.auth_key or "",
        "priv_protocol": DEMO_V3.priv_protocol,
        "priv_key": DEMO_V3.priv_key or "",
    }


def exporter_config(port: int, pace: float = DEMO_PACE) -> dict[str, object]:
    """The config a site would write for this fleet: a credential set per printer.

    It polls every three steps (15 s at the demo's pace), and never more often than
    every 2 s, so that every jam (nine steps) is seen by a poll or more."""
    interval = max(2, round(3 * pace))
    return {
        "credentials": [credential_config(p) for p in FLEET],
        "targets": [{"address": f"{p.host}:{port}", "credentials": [p.recording]} for p in FLEET],
        "poll": {"interval": f"{interval}s", "timeout": "1s", "retries": 1},
    }


async def read_fleet(port: int) -> int:
    failures = 0
    options = SnmpOptions(timeout=1.0, retries=1)
    for printer in FLEET:
        try:
            client = await connect(printer.host, port, [credentials(printer)], options)
        except SnmpError as exc:
            print(f"{printer.host}:{port}  unreachable: {exc}\n")
            failures += 1
            continue
        result = await read_device(client)
        print(render(result.snapshot))
    return failures


def central_exporter_config(port: int, remote: Path, pace: float = DEMO_PACE) -> dict[str, object]:
    """The site's config with a central archive: the fifth printer is left for a remote
    range to find, and remote may add ranges and targets on 127.0.0.0/24 only."""
    config = exporter_config(port, pace)
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
    parser.add_argument(
        "--pace",
        type=float,
        default=DEMO_PACE,
        help=f"seconds per simulated step: meters, supplies and the jam move once a step"
        f" ({DEMO_PACE:g})",
    )
    parser.add_argument("--once", action="store_true", help="read every printer once and exit")
    parser.add_argument(
        "--no-central",
        dest="central",
        action="store_false",
        help="run the fleet and the exporter only, without pull_sync and the archive",
    )
    args = parser.parse_args(argv)
    if not args.pace > 0:
        parser.error("--pace must be a positive number of seconds")
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
        return _run(args)
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


def _run(args: argparse.Namespace) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="printer-exporter-demo-") as tmp,
        _fleet(Path(tmp), args.port, args.pace) as pids,
    ):
        print(f"snmpsim is up (pids {pids}); a step every {args.pace:g} s:")
        story = describe(args.pace)
        for printer in FLEET:
            print(f"  {printer.host}  {story.get(printer.recording, 'as recorded, unchanging')}")
        print()
        if args.once:
            failures = asyncio.run(read_fleet(args.port))
            return 1 if failures else 0
        return _serve(args, tmp)


@contextlib.contextmanager
def _fleet(tmp: Path, port: int, pace: float) -> Iterator[str]:
    """Two agents: one for the v1/v2c printers, one SNMPv3-only (snmpsim's `--v3-only`
    holds for a whole process), each serving the living recordings written into `tmp`."""
    v2c = [p for p in FLEET if not p.v3_only]
    v3 = [p for p in FLEET if p.v3_only]
    data = tmp / "recordings"
    write_recordings(FIXTURES, data / "v2c", [p.recording for p in v2c], pace)
    write_recordings(FIXTURES, data / "v3", [p.recording for p in v3], pace)
    with contextlib.ExitStack() as stack:
        agents = [
            Simulator(
                data / "v2c",
                [(p.host, port) for p in v2c],
                probe_community=v2c[0].recording,
                variation_dirs=[VARIATION_DIR],
            )
        ]
        if v3:
            agents.append(
                Simulator(
                    data / "v3",
                    [(p.host, port) for p in v3],
                    v3_users=[DEMO_V3],
                    v3_empty_context=v3[0].recording,
                    variation_dirs=[VARIATION_DIR],
                    v3_only=True,
                )
            )
        for agent in agents:
            stack.enter_context(agent)
        yield ", ".join(str(agent.pid) for agent in agents)


def _serve(args: argparse.Namespace, tmp: str) -> int:
    config = Path(tmp) / "printer-exporter.yml"
    base = f"http://{args.listen}"
    if args.central:
        site = central_exporter_config(args.port, Path(tmp) / "remote.yml", args.pace)
        config.write_text(yaml.safe_dump(site, sort_keys=False))
        with Central(Path(tmp), config, base) as central:
            print(f"The archive is up at {central.url} (SQLite in {tmp}),")
            print(f"pull_sync uploads and checks in every {INTERVAL}.")
            _print_urls(base, args.port)
            return asyncio.run(run_exporter(config, args.listen, args.duration, central))
    config.write_text(yaml.safe_dump(exporter_config(args.port, args.pace), sort_keys=False))
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
