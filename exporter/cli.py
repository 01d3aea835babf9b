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
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from exporter import __version__
from exporter.readers.device import read_device
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
from exporter.table import render

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

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
    """'host', 'host:port', '[v6]:port' or a bare IPv6 address -> (host, port)."""
    default = 161
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise argparse.ArgumentTypeError(f"bad target {text!r}: use [v6addr]:port")
        port_text = rest[1:] if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise argparse.ArgumentTypeError(f"bad target {text!r}: empty host")
    if not port_text:
        return host, default
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise argparse.ArgumentTypeError(f"bad target {text!r}: port must be 1-65535")
    return host, int(port_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printer-exporter",
        description="Read printers, copiers and MFPs over SNMP, the Prometheus way.",
    )
    parser.add_argument("--version", action="version", version=f"printer-exporter {__version__}")
    parser.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "error"],
        help="only log messages of this severity or above (default: info)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    probe = sub.add_parser(
        "probe",
        help="read one device now and print its snapshot",
        description="Read one device over SNMP and print one printer-snapshot/1 document.",
        epilog=_PROBE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    probe.add_argument(
        "target", nargs="?", type=_parse_target, help="HOST[:PORT], port 161 by default"
    )
    probe.add_argument(
        "--replay", type=Path, metavar="FILE", help="read an .snmprec recording instead"
    )
    probe.add_argument(
        "--output", choices=["table", "json"], default="table", help="table (default) or json"
    )
    probe.add_argument("--community", default="public", help="v1/v2c community (default: public)")
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
    probe.add_argument("--timeout", type=float, default=2.0, help="seconds per try (default: 2)")
    probe.add_argument("--retries", type=int, default=1, help="retries per request (default: 1)")
    probe.add_argument(
        "--max-repetitions", type=int, default=25, help="GETBULK max-repetitions (default: 25)"
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper().replace("WARN", "WARNING"),
        format="ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)r",
    )
    if args.command == "probe":
        if (args.target is None) == (args.replay is None):
            parser.error("probe needs a HOST[:PORT] or --replay FILE (one of them)")
        try:
            return asyncio.run(_probe(args))
        except (CredentialError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    parser.print_help()
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
