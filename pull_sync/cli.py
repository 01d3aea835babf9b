"""`pull-sync`: the command line.

Prometheus-style flags, like the exporter's. Exit status: 0 done (or stopped by
SIGTERM / Ctrl-C), 1 a config or outbox that cannot be used, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from exporter.config import check_config
from exporter.logs import setup_logging
from pull_sync import __version__
from pull_sync.archive import ArchiveClient
from pull_sync.config import SidecarConfig, describe, load_config
from pull_sync.errors import ConfigError, OutboxError
from pull_sync.exporter_api import ExporterClient
from pull_sync.metrics import Stats, build_registry, serve_metrics
from pull_sync.outbox import Outbox
from pull_sync.service import Sidecar
from pull_sync.transport import archive_ssl_context

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("pull_sync")

_EPILOG = """\
examples:
  pull-sync --config.file pull-sync.yml --dry-run   # check the config, print what it does
  pull-sync --config.file pull-sync.yml             # run: collect, queue, upload, check in
  pull-sync --config.file pull-sync.yml --once      # one round, then exit (cron, tests)

A minimal pull-sync.yml:
  agent:    {name: site-a}
  archive:  {url: "https://archive.example", token_file: /etc/pull-sync/token}
  exporter: {config_file: /etc/printer-exporter.yml}        # for remote settings
  signing:  {public_key_file: /etc/pull-sync/archive-signing.pub}
  outbox:   {path: /var/lib/pull-sync/outbox.db}

It reads snapshots from the exporter on 127.0.0.1:9269 every 15m and uploads
them; it checks in every 1h. It listens on nothing unless web.listen_address
(loopback only) asks for /metrics. Every key: docs/pull_sync.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pull-sync",
        description=(
            "Carry printer-exporter snapshots to a central archive (store and forward),"
            " and pull signed config from it. Outbound connections only."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pull-sync {__version__}")
    parser.add_argument(
        "--config.file",
        dest="config_file",
        type=Path,
        metavar="FILE",
        required=True,
        help="pull-sync config (YAML)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the config (and the exporter config it names), print what it does, exit",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="collect once, upload what is queued, check in once, then exit",
    )
    parser.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "error"],
        help="only log messages of this severity or above (default: info)",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=["logfmt", "json"],
        help="log line format (default: logfmt)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    # httpx logs every request at info; keep that for --log.level debug.
    logging.getLogger("httpx").setLevel(max(logging.getLogger().level, logging.WARNING))
    try:
        config = load_config(args.config_file)
        archive_ssl_context(config.archive)
    except ConfigError as error:
        for problem in error.problems:
            print(f"{args.config_file}: {problem}", file=sys.stderr)
        return EXIT_FAILED
    if args.dry_run:
        return dry_run(config)
    try:
        return asyncio.run(run(config, once=args.once))
    except OutboxError as error:
        print(f"pull-sync: {error}", file=sys.stderr)
        return EXIT_FAILED


def dry_run(config: SidecarConfig) -> int:
    """Print what the config does; check the exporter config it names, too."""
    problems: list[str] = []
    if config.exporter.config_file is not None:
        problems = check_config(config.exporter.config_file)
    for line in describe(config):
        print(line)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return EXIT_FAILED
    print("config OK")
    return EXIT_OK


async def run(config: SidecarConfig, *, once: bool = False) -> int:
    outbox = Outbox.open(config.outbox.path, config.outbox.max_bytes)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stop_metrics = None
    stats = Stats()
    exporter = ExporterClient(config.exporter)
    archive = ArchiveClient(config.archive, on_latest_agent=stats.announce_latest_agent)
    try:
        sidecar = Sidecar(config, outbox, archive, exporter, stats=stats)
        if config.web.listen_address is not None:
            registry = build_registry(stats, outbox.stats, config.outbox.max_bytes)
            try:
                stop_metrics = serve_metrics(registry, config.web.listen_address)
            except OSError as error:
                log.error("cannot listen on %s: %s", config.web.listen_address, error)
                return EXIT_FAILED
        for line in describe(config):
            log.info("%s", line)
        await sidecar.run(stop, once=once)
    finally:
        if stop_metrics is not None:
            stop_metrics()
        await archive.aclose()
        await exporter.aclose()
        outbox.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return EXIT_OK
