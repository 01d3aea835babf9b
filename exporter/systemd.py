"""systemd's notify protocol: READY, STOPPING and a watchdog heartbeat from the event loop.

Under a unit with `Type=notify` and `WatchdogSec=`, systemd passes `NOTIFY_SOCKET`
(a Unix datagram socket; a leading `@` is the abstract namespace) and
`WATCHDOG_USEC`. The exporter says `READY=1` once it serves, `STOPPING=1` when
it stops, and `WATCHDOG=1` every half watchdog interval. The heartbeat is a task
on the same event loop as the poller and the web server, so a wedged loop (a
blocking call, a livelock) stops the heartbeats and systemd restarts the
process: a hung exporter is worse than a restarted one, since `/metrics` would
go on serving stale data with `printer_up 1`.

Without `NOTIFY_SOCKET` (not under systemd) every call here does nothing. The
protocol is a few lines; a library would add a dependency for no gain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends notify messages to systemd, if it asked for them."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_seconds: float | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_seconds = int(usec) / 1_000_000

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, *fields: str) -> None:
        """Send `fields` ("READY=1", "STATUS=...") as one datagram; failures are logged."""
        if not self._address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto("\n".join(fields).encode(), self._address)
            except OSError as exc:
                log.warning("cannot notify systemd at %s: %s", self._address.lstrip("\0"), exc)

    async def heartbeat(self, stop: asyncio.Event) -> None:
        """`WATCHDOG=1` every half interval until `stop`; nothing without a watchdog."""
        if self.watchdog_seconds is None or not self.enabled:
            return
        while not stop.is_set():
            self.notify("WATCHDOG=1")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.watchdog_seconds / 2)
