"""`printer-exporter`: the command line.

Flags follow Prometheus conventions (`--log.level`, `--snmp.version`). Every
subcommand prints its result on stdout and its errors as one line on stderr,
so it can be scripted: exit 0 on success, 1 when the device could not be read,
2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from exporter import __version__
from exporter.config import (
    DEFAULT_CREDENTIALS,
    DEFAULT_LISTEN_ADDRESS,
    LARGE_RANGE,
    SNMP_PORT,
    AddressRange,
    DiscoveryConfig,
    count_addresses,
    expand,
    parse_host_port,
    parse_range,
)
from exporter.daemon import dry_run, serve
from exporter.device import explain_device, read_device
from exporter.discovery import sweep
from exporter.icmp import Pinger, ping_sweep
from exporter.logs import setup_logging
from exporter.profiles import PACKAGE_DIR, ProfileError, check_database, default_database
from exporter.profiles.loader import load_directory
from exporter.progress import ProgressBar
from exporter.snmp import (
    CredentialError,
    Credentials,
    SnmpError,
    SnmpOptions,
    community,
    connect,
    usm,
)
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.table import columns, render

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_SNMP = SnmpOptions()
"""The client's defaults, shown and used by the flags (declared once, in `SnmpOptions`)."""

_DISCOVERY = DiscoveryConfig()
"""The sweep's defaults, shown and used by `discover` (declared once, in `DiscoveryConfig`)."""


def _default_community() -> str:
    """The community of the config's default credential set. Not a secret: it is `public`,
    the read-only community nearly every printer ships with."""
    secret = DEFAULT_CREDENTIALS[0].community_string
    assert secret is not None, "the default credential set is v1/v2c"
    return secret.reveal()


PUBLIC = _default_community()
"""The community the commands try when given none, and the config when it lists none."""

_PROBE_EPILOG = """\
examples:
  printer-exporter probe 127.0.0.1:1161 --community public
  printer-exporter probe printer.example:161 --community public --output json > snap.json
  printer-exporter probe 2001:db8::7 --snmp.version 3 --username monitor \\
      --auth-protocol SHA256 --priv-protocol AES       # keys from the environment:
      # PRINTER_EXPORTER_AUTH_KEY, PRINTER_EXPORTER_PRIV_KEY (not on the command line,
      # where other users of the machine could read them in the process list)
  printer-exporter probe --replay walk.snmprec         # read a recorded walk, no network

exit status: 0 read, 1 unreachable / auth failure / no answer, 2 bad usage
"""


def _parse_target(text: str) -> tuple[str, int]:
    """'host', 'host:port', '[v6]:port' or a bare IPv6 address -> (host, the SNMP port by
    default)."""
    try:
        return parse_host_port(text, SNMP_PORT)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_LISTEN_PORT = DEFAULT_LISTEN_ADDRESS.rpartition(":")[2]

_MAIN_EPILOG = f"""\
examples:
  printer-exporter --config.file printer-exporter.yml --dry-run   # check a config first
  printer-exporter --config.file printer-exporter.yml             # serve on :{_LISTEN_PORT}
  printer-exporter probe 192.0.2.20 --community public            # read one printer now
  printer-exporter discover 192.0.2.0/24                          # find the printers
  printer-exporter profiles explain 192.0.2.20                    # why these meters

Then open http://localhost:{_LISTEN_PORT}/ for the fleet page, and point Prometheus at /metrics.
`printer-exporter COMMAND --help` teaches each command. Docs: README.md, docs/.
"""

_DISCOVER_EPILOG = """\
examples:
  printer-exporter discover 192.0.2.0/24
  printer-exporter discover 192.0.2.10-192.0.2.99 --community public --community office
  printer-exporter discover 198.51.100.0/24 --exclude 198.51.100.1 --output json
  printer-exporter discover 192.0.2.0/24 --icmp        # also: who answers ping, not SNMP

Only the ranges you name are swept. More than a /16 needs --allow-large-range.
The sweep sends one GETNEXT per address, community and try, at --rate packets/s;
SNMPv3-only printers do not answer a sweep: list them as targets in the config.
--icmp then pings, at the same rate, the addresses that did not answer SNMP and lists
those that answer: a printer with SNMP off or another community, or any live host.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printer-exporter",
        description="Read printers, copiers and MFPs over SNMP, the Prometheus way.",
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"printer-exporter {__version__}")
    parser.add_argument(
        "--config.file",
        dest="config_file",
        type=Path,
        metavar="FILE",
        help="exporter config (YAML). Without one, the exporter starts and polls nothing",
    )
    parser.add_argument(
        "--web.listen-address",
        dest="listen_address",
        metavar="ADDR",
        help="address to serve /metrics and the pages on"
        f" (default: the config's, else {DEFAULT_LISTEN_ADDRESS})",
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        type=Path,
        metavar="FILE",
        help="TLS and basic auth, in the Prometheus exporter-toolkit format",
    )
    parser.add_argument(
        "--storage.path",
        dest="storage_path",
        type=Path,
        default=Path("data"),
        metavar="DIR",
        help="where the exporter keeps state across restarts: the meter ledger, so that a"
        " meter that wraps keeps rising (default: data/, as Prometheus's)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the config files, print what they would do, and exit (1 if bad)",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=["logfmt", "json"],
        help="log line format (default: logfmt)",
    )
    parser.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "error"],
        help="only log messages of this severity or above (default: info)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "serve",
        help="run the exporter (the default when no command is given)",
        description="Poll on a schedule and serve /metrics. Takes the top-level flags.",
    )

    probe = sub.add_parser(
        "probe",
        help="read one device now and print its snapshot",
        description="Read one device over SNMP and print one printer-snapshot/1 document.",
        epilog=_PROBE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    probe.add_argument(
        "target", nargs="?", type=_parse_target, help=f"HOST[:PORT], port {SNMP_PORT} by default"
    )
    probe.add_argument(
        "--replay", type=Path, metavar="FILE", help="read an .snmprec recording instead"
    )
    probe.add_argument(
        "--output", choices=["table", "json"], default="table", help="table (default) or json"
    )
    probe.add_argument("--community", default=PUBLIC, help=f"v1/v2c community (default: {PUBLIC})")
    probe.add_argument(
        "--snmp.version",
        dest="snmp_version",
        choices=["1", "2c", "3"],
        default="2c",
        help="SNMP version (default: 2c)",
    )
    probe.add_argument("--username", help="SNMPv3 user name")
    probe.add_argument("--auth-protocol", help="SNMPv3: MD5, SHA, SHA224, SHA256, SHA384, SHA512")
    probe.add_argument("--priv-protocol", help="SNMPv3: DES, 3DES, AES, AES192, AES256")
    probe.add_argument("--context", default="", help="SNMPv3 context name")
    probe.add_argument(
        "--timeout",
        type=float,
        default=_SNMP.timeout,
        help=f"seconds per try (default: {_SNMP.timeout:g})",
    )
    probe.add_argument(
        "--retries",
        type=int,
        default=_SNMP.retries,
        help=f"retries per request (default: {_SNMP.retries})",
    )
    probe.add_argument(
        "--max-repetitions",
        type=int,
        default=_SNMP.max_repetitions,
        help=f"GETBULK max-repetitions (default: {_SNMP.max_repetitions})",
    )
    profiles = sub.add_parser(
        "profiles",
        help="check the vendor profile database, or explain a device's profile",
        description="The vendor profile database: validate it, or explain a device's match.",
    )
    profiles_sub = profiles.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    check = profiles_sub.add_parser(
        "check", help="validate a profile directory", description="Validate a profile directory."
    )
    check.add_argument(
        "directory",
        type=Path,
        nargs="?",
        help="profile directory (default: the database shipped with the exporter)",
    )
    explain = profiles_sub.add_parser(
        "explain",
        help="show which profile matches a device and where each counter comes from",
        description="Read one device and show which profile matches, why, and each value's source.",
    )
    explain.add_argument(
        "target", type=_parse_target, help=f"HOST[:PORT], port {SNMP_PORT} by default"
    )
    explain.add_argument(
        "--community", default=PUBLIC, help=f"v1/v2c community (default: {PUBLIC})"
    )
    explain.add_argument(
        "--snmp.version",
        dest="snmp_version",
        choices=["1", "2c"],
        default="2c",
        help="SNMP version (default: 2c)",
    )
    explain.add_argument(
        "--timeout",
        type=float,
        default=_SNMP.timeout,
        help=f"seconds per try (default: {_SNMP.timeout:g})",
    )
    explain.add_argument(
        "--profiles.dir",
        dest="profiles_dir",
        type=Path,
        help="an override directory laid over the shipped database, as pull_sync delivers",
    )

    discover = sub.add_parser(
        "discover",
        help="sweep address ranges for printers and list them",
        description="Sweep address ranges over SNMP and list the printers that answer.",
        epilog=_DISCOVER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    discover.add_argument(
        "ranges", nargs="+", metavar="RANGE", help="CIDR, a.b.c.d-e.f.g.h or one address"
    )
    discover.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="RANGE",
        help="leave these out (repeatable)",
    )
    discover.add_argument(
        "--port", type=int, default=_DISCOVERY.port, help=f"UDP port (default: {_DISCOVERY.port})"
    )
    discover.add_argument(
        "--community",
        action="append",
        metavar="C",
        help=f"community to try (repeatable; default: {PUBLIC})",
    )
    discover.add_argument(
        "--snmp.version",
        dest="snmp_version",
        choices=["1", "2c"],
        default="2c",
        help="SNMP version (default: 2c; SNMPv3 printers do not answer a sweep)",
    )
    discover.add_argument(
        "--rate",
        type=float,
        default=_DISCOVERY.rate,
        help=f"packets per second (default: {_DISCOVERY.rate:g})",
    )
    discover.add_argument(
        "--timeout",
        type=float,
        default=_DISCOVERY.timeout,
        help=f"seconds to wait for answers (default: {_DISCOVERY.timeout:g})",
    )
    discover.add_argument(
        "--retries",
        type=int,
        default=_DISCOVERY.retries,
        help=f"extra tries per address (default: {_DISCOVERY.retries})",
    )
    discover.add_argument(
        "--allow-large-range",
        action="store_true",
        help=f"allow sweeping more than a /16 ({LARGE_RANGE:,} addresses)",
    )
    discover.add_argument(
        "--icmp",
        action="store_true",
        help="also ping the addresses that did not answer SNMP, and list those that answer"
        " ping (a printer whose SNMP is off or whose community is another; any live host)",
    )
    discover.add_argument(
        "--output", choices=["table", "json"], default="table", help="table (default) or json"
    )
    return parser


def _credentials(args: argparse.Namespace) -> Credentials:
    if args.snmp_version == "3":
        if not args.username:
            raise CredentialError("--username is required with --snmp.version 3")
        return usm(
            "command-line",
            args.username,
            auth_protocol=args.auth_protocol,
            auth_key=os.environ.get("PRINTER_EXPORTER_AUTH_KEY"),
            priv_protocol=args.priv_protocol,
            priv_key=os.environ.get("PRINTER_EXPORTER_PRIV_KEY"),
            context_name=args.context,
        )
    return community("command-line", args.community, version=1 if args.snmp_version == "1" else 2)


async def _probe(args: argparse.Namespace) -> int:
    if args.replay is not None:
        try:
            values = load_snmprec(args.replay)
        except OSError as exc:
            print(f"error: cannot read {args.replay}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILED
        client = MemoryClient(values, target=str(args.replay))
        result = await read_device(client)
    else:
        host, port = args.target
        options = SnmpOptions(
            timeout=args.timeout, retries=args.retries, max_repetitions=args.max_repetitions
        )
        try:
            snmp = await connect(host, port, [_credentials(args)], options)
        except SnmpError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        result = await read_device(snmp)
    snapshot = result.snapshot
    if args.output == "json":
        json.dump(snapshot.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(snapshot))
    if not snapshot.reachable:
        print(f"error: {snapshot.error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _profiles(args: argparse.Namespace) -> int:
    if args.profiles_command == "check":
        directory = args.directory or PACKAGE_DIR
        problems = check_database(directory)
        for problem in problems:
            print(problem)
        if problems:
            return EXIT_FAILED
        print(f"{directory}: OK, database version {load_directory(directory).version}")
        return EXIT_OK
    try:
        database = default_database(args.profiles_dir)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    host, port = args.target
    creds = community("command-line", args.community, version=1 if args.snmp_version == "1" else 2)

    async def run() -> str:
        client = await connect(host, port, [creds], SnmpOptions(timeout=args.timeout))
        return await explain_device(client, database)

    try:
        print(asyncio.run(run()), end="")
    except SnmpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _discover(args: argparse.Namespace) -> int:
    try:
        ranges = [parse_range(text) for text in args.ranges]
        exclude = [parse_range(text, sweep=False) for text in args.exclude]
        if not 0 < args.port < 65536:
            raise ValueError(f"--port must be 1-65535. Got: {args.port}")
        if not args.rate > 0 or args.timeout <= 0 or args.retries < 0:
            raise ValueError("--rate and --timeout must be > 0 and --retries >= 0")
        version: Literal[1, 2] = 1 if args.snmp_version == "1" else 2
        sets = [
            community(f"community-{i + 1}", text, version=version)
            for i, text in enumerate(args.community or [PUBLIC])
        ]
    except (ValueError, CredentialError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    total = count_addresses(ranges, exclude)
    if total > LARGE_RANGE and not args.allow_large_range:
        print(
            f"error: {total:,} addresses is more than a /16 ({LARGE_RANGE:,}); "
            "narrow the ranges or pass --allow-large-range",
            file=sys.stderr,
        )
        return EXIT_USAGE
    bar = ProgressBar(sys.stderr, f"sweeping {total:,} addresses")
    result = asyncio.run(
        sweep(
            expand(ranges, exclude),
            args.port,
            sets,
            rate=args.rate,
            timeout=args.timeout,
            retries=args.retries,
            progress=bar.update,
        )
    )
    bar.close(
        f"{_count(result.probed, 'address', 'addresses')} in {result.duration_seconds:.1f}s: "
        f"{result.answered:,} answered SNMP, {_count(len(result.found), 'printer')}"
    )
    ping_only = _ping_the_silent(args, ranges, exclude, result.heard) if args.icmp else []
    if args.output == "json":
        docs = [
            {
                "target": f.address,
                "model": f.model,
                "reason": f.reason,
                "credential_set": f.credentials.name,
                "sys_descr": f.sys_descr,
                "sys_object_id": f.sys_object_id,
            }
            for f in result.found
        ]
        docs += [{"target": host, "reason": _PING_ONLY} for host in ping_only]
        json.dump(docs, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        if result.found:
            rows = [(f.address, f.model or "", f.credentials.name, f.reason) for f in result.found]
            print(columns(("TARGET", "MODEL", "CREDENTIAL SET", "WHY A PRINTER"), rows))
        if ping_only:
            verb = "answers" if len(ping_only) == 1 else "answer"
            print(f"\n{_count(len(ping_only), 'host')} {verb} ICMP echo but not SNMP:")
            print("\n".join(f"  {host}" for host in ping_only))
    return EXIT_OK


_PING_ONLY = "answers ICMP echo but not SNMP"


def _ping_the_silent(
    args: argparse.Namespace,
    ranges: Sequence[AddressRange],
    exclude: Sequence[AddressRange],
    heard: set[str],
) -> list[str]:
    """`discover --icmp`: the addresses that did not answer SNMP, pinged at the sweep's rate."""
    pinger = Pinger(timeout=args.timeout)
    silent = (str(a) for a in expand(ranges, exclude) if str(a) not in heard)
    found = asyncio.run(ping_sweep(silent, pinger, rate=args.rate))
    if not pinger.available:
        print(
            "warning: --icmp: this process may not send ICMP (needs root, CAP_NET_RAW or "
            "net.ipv4.ping_group_range); no host was pinged",
            file=sys.stderr,
        )
    return found


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    if args.command == "discover":
        return _discover(args)
    if args.command == "profiles":
        return _profiles(args)
    if args.command == "probe":
        if (args.target is None) == (args.replay is None):
            parser.error("probe needs a HOST[:PORT] or --replay FILE (one of them)")
        try:
            return asyncio.run(_probe(args))
        except (CredentialError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.command not in (None, "serve"):
        parser.print_help()
        return EXIT_USAGE
    if args.dry_run:
        return dry_run(args.config_file, args.web_config_file, args.listen_address)
    return asyncio.run(
        serve(
            args.config_file,
            args.web_config_file,
            args.listen_address,
            storage=args.storage_path,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
