"""`printer-exporter --config.file FILE`: the long-running process, and `--dry-run`.

The daemon wires the service (`service.py`: the config in force, polls, reloads) to the
web server, the signals and systemd; `service.py` knows nothing of any of them.

One asyncio loop runs the poller, the discovery sweeps and uvicorn. uvicorn
owns SIGINT/SIGTERM (it stops serving, then we stop polling); SIGHUP reloads
the config (see `Service.run`).

A TLS certificate that expired or expires within 30 days is warned about by
both `--dry-run` and start-up, and its notAfter is exported as a metric;
it is served all the same (exporter/web/certs.py says why).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

from exporter.config import Config, ConfigError, load_config, summarize
from exporter.ledger import LEDGER_FILE, MeterLedger
from exporter.profiles import ProfileError, load_database
from exporter.service import Service
from exporter.systemd import Notifier
from exporter.web.app import WebSettings, build_app, uvicorn_config
from exporter.web.certs import expiry_warnings, tls_certificate_expiry
from exporter.web.security import WebConfigFile, load_web_config
from exporter.web.server import WebServer

log = logging.getLogger("exporter")


def _load(
    config_file: Path | None, web_config_file: Path | None
) -> tuple[Config, WebConfigFile | None]:
    config = load_config(config_file) if config_file is not None else Config()
    web = load_web_config(web_config_file) if web_config_file is not None else None
    return config, web


def _summary(config: Config, listen_address: str | None) -> list[str]:
    """What this run will do: the config's summary with the address it really listens on
    (the flag wins over the config), and the vendor profile database it will use."""
    address = listen_address or config.web.listen_address
    lines = [
        f"web: listening on {address}" if line.startswith("web: listening on") else line
        for line in summarize(config)
    ]
    database = load_database(config.profiles.override_dir)
    where = " + ".join(database.directories)
    lines.append(f"vendor profiles: database version {database.version} from {where}")
    lines += [f"vendor profiles: {note}" for note in database.notes]
    return lines


def dry_run(
    config_file: Path | None, web_config_file: Path | None, listen_address: str | None = None
) -> int:
    try:
        config, web = _load(config_file, web_config_file)
        summary = _summary(config, listen_address)
    except (ConfigError, ProfileError) as exc:
        print(str(exc))
        return 1
    print(f"{config_file or 'default config'}: OK")
    for line in summary:
        print(f"  {line}")
    if web_config_file is not None:
        print(f"{web_config_file}: OK")
        for warning in expiry_warnings(web, tls_certificate_expiry(web), time.time()):
            print(f"  warning: {warning}")
    return 0


async def serve(
    config_file: Path | None,
    web_config_file: Path | None,
    listen_address: str | None,
    until: asyncio.Event | None = None,
    *,
    storage: Path | None = None,
) -> int:
    """Run until SIGINT/SIGTERM, or until `until` is set (the demo's time limit).

    `storage` is the `--storage.path` directory; None keeps state in memory only.
    """
    try:
        config, web = _load(config_file, web_config_file)
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return 1
    try:
        summary = _summary(config, listen_address)
    except ProfileError as exc:
        log.error("cannot start: vendor profiles: %s", exc)
        return 1
    for line in summary:
        log.info(line)
    tls_expiry = tls_certificate_expiry(web)
    for warning in expiry_warnings(web, tls_expiry, time.time()):
        log.warning(warning)
    try:
        ledger = MeterLedger(storage / LEDGER_FILE if storage is not None else None)
        log.info("meter ledger: %s", ledger.path or "in memory only (no --storage.path)")
        service = Service(config, config_file, ledger=ledger)
    except ProfileError as exc:
        log.error("cannot start: vendor profiles: %s", exc)
        return 1
    service.tls_certificate_expiry = tls_expiry
    settings = web_settings(config)
    address = listen_address or config.web.listen_address
    try:
        server = WebServer(uvicorn_config(build_app(service, settings), address, web))
    except ValueError as exc:
        log.error("cannot listen on %r: %s", address, exc)
        return 1
    # uvicorn stops on SIGINT/SIGTERM and then re-raises the signal to the handler
    # that was installed before it. A no-op one lets us finish the shutdown and
    # exit 0, as a daemon asked to stop should.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop), name="service")
    log.info("listening on %s", address)

    async def stop_when_asked() -> None:
        if until is not None:
            await until.wait()
            server.should_exit = True

    notifier = Notifier()

    async def ready_when_serving() -> None:
        """READY=1 for systemd (Type=notify) once the socket listens, not before."""
        while not server.started and not stop.is_set():
            await asyncio.sleep(0.05)
        if server.started:
            notifier.notify("READY=1", f"STATUS=serving on {address}")

    helpers = [
        asyncio.create_task(stop_when_asked()),
        asyncio.create_task(ready_when_serving()),
        asyncio.create_task(notifier.heartbeat(stop)),
    ]
    try:
        await server.serve()
    finally:
        notifier.notify("STOPPING=1")
        stop.set()
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await running
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        log.error("could not listen on %s (see the error above)", address)
        return 1
    return 0


def web_settings(config: Config) -> WebSettings:
    """How the app behaves, from the config's `web:` (read at start: a reload keeps them)."""
    web = config.web
    return WebSettings(
        snapshot_api_loopback_only=web.snapshot_api.loopback_only,
        probe_enabled=web.probe,
        external_url=web.external_url,
        route_prefix=web.route_prefix,
    )
