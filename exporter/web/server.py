"""uvicorn, held to `WebLimits`: every connection is counted, timed and closed when it
stalls, on the TLS port as on the plain one.

    config = GuardedConfig(app, limits=WebLimits(), host=..., port=..., **tls_options)
    await WebServer(config).serve()

Why a wrapper around uvicorn's h11 protocol: uvicorn arms its keep-alive timer
only after a response, and cancels it on every byte received, so a connection
that never sends a byte, or sends a request head one byte at a time, stays open
forever; 1,100 of them took every file descriptor (issue 7). And with TLS,
asyncio performs the handshake before uvicorn's protocol sees the connection,
with a 60 s timeout and no handle on it. So here:

- `GuardedConfig` keeps the TLS context away from `loop.create_server` and
  plugs in `_Connection`, which owns each accepted socket from the first
  moment, registers it with the `ConnectionGuard`, and does the handshake
  itself (`loop.start_tls`) under the header timeout.
- `ConnectionGuard` holds every connection in one of two states. Waiting for
  a request head: closed after `header_timeout`. Busy with a request: closed
  after `request_timeout`. A connection that waits while its last response
  is still in the send buffer is still being served, and counts as busy.
  Past the cap, a new connection closes the longest waiting one; if every
  connection is busy, the new one is closed instead. A scrape sends its
  request at once, so an idle flood cannot crowd it out.
- `WebServer` (a `uvicorn.Server`) turns asyncio's traceback per failed
  `accept()` (EMFILE) and uvicorn's warning per bad request into one log line
  per `log_interval` with a count.

uvicorn's own keep-alive timeout still closes an idle connection after a
response; `limit_concurrency` is not used: the guard's cap covers it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from asyncio import constants as asyncio_constants
from collections import OrderedDict
from typing import Any, Final

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from exporter.logs import ThrottledLog
from exporter.web.limits import WebLimits, connection_cap
from exporter.web.security import WebConfigFile, uvicorn_tls_options

log = logging.getLogger("exporter.web")

_ACCEPT_FAILED: Final = "socket.accept() out of system resource"
"""The context message of `BaseSelectorEventLoop._accept_connection` for EMFILE and kin."""
_ACCEPT_RETRY: Final = "_start_serving"
"""The callback asyncio schedules, once per failed accept, to listen again a second later."""


class _Slot:
    """One accepted connection as the guard sees it: what to close, and its timer."""

    __slots__ = ("timer", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.timer: asyncio.TimerHandle | None = None


class ConnectionGuard:
    """Every open connection of one server, waiting or busy, under one cap."""

    def __init__(self, limits: WebLimits, cap: int) -> None:
        self.limits = limits
        self.cap = cap
        self._waiting: OrderedDict[_Slot, None] = OrderedDict()
        """Connections without a request in progress, longest waiting first."""
        self._busy: set[_Slot] = set()
        self._full = ThrottledLog(
            log, f"connection limit reached ({cap} open)", limits.log_interval
        )
        self.evicted = 0
        self.refused = 0

    def __len__(self) -> int:
        return len(self._waiting) + len(self._busy)

    def admit(self, transport: asyncio.Transport) -> _Slot | None:
        """A slot for a new connection, or None: then close it, every slot is busy."""
        if len(self) >= self.cap:
            oldest = next((s for s in self._waiting if not _sending(s)), None)
            if oldest is None:
                self.refused += 1
                self._full.note("every connection is busy; refusing new ones")
                return None
            self.release(oldest)
            oldest.transport.abort()
            self.evicted += 1
            self._full.note("closing the connections that waited longest for a request")
        slot = _Slot(transport)
        self.waiting(slot)
        return slot

    def waiting(self, slot: _Slot) -> None:
        """The connection waits for a request head: it has `header_timeout` from now.
        Calling it again while waiting keeps the first deadline."""
        if slot in self._waiting:
            return
        self._busy.discard(slot)
        self._waiting[slot] = None
        self._arm(slot, self.limits.header_timeout)

    def busy(self, slot: _Slot) -> None:
        """A request head arrived, or the last response is still being sent: the connection
        has `request_timeout` from now."""
        self._waiting.pop(slot, None)
        self._busy.add(slot)
        self._arm(slot, self.limits.request_timeout)

    def release(self, slot: _Slot) -> None:
        """The connection is gone (or going): forget it. Idempotent."""
        self._waiting.pop(slot, None)
        self._busy.discard(slot)
        if slot.timer is not None:
            slot.timer.cancel()
            slot.timer = None

    def close(self) -> None:
        """Abort every connection still open (the server has stopped)."""
        for slot in [*self._waiting, *self._busy]:
            self.release(slot)
            slot.transport.abort()
        self._full.close()

    def _arm(self, slot: _Slot, seconds: float) -> None:
        if slot.timer is not None:
            slot.timer.cancel()
        slot.timer = asyncio.get_running_loop().call_later(seconds, self._expire, slot)

    def _expire(self, slot: _Slot) -> None:
        if slot in self._waiting and _sending(slot):
            self.busy(slot)  # a slow reader of a large answer: one request_timeout more
            return
        # abort, not close: a client that stalls will not read a TLS close_notify either
        self.release(slot)
        slot.transport.abort()


def _sending(slot: _Slot) -> bool:
    """True while a response is still in the connection's send buffer."""
    return slot.transport.get_write_buffer_size() > 0


class GuardedConfig(uvicorn.Config):
    """A `uvicorn.Config` whose connections go through `_Connection` and the guard.

    uvicorn builds the TLS context from the usual options (so its checks and
    defaults apply); `load` then takes it back from `ssl`, where
    `loop.create_server` would do the handshake out of our sight, into
    `tls_context`, where `_Connection` uses it.
    """

    def __init__(self, app: ASGIApp, *, limits: WebLimits, **options: Any) -> None:
        super().__init__(
            app,
            http="h11",
            ws="none",
            backlog=limits.backlog,
            timeout_keep_alive=limits.keep_alive_timeout,
            h11_max_incomplete_event_size=limits.max_head_bytes,
            **options,
        )
        self.limits = limits
        self.guard = ConnectionGuard(limits, connection_cap(limits))
        self.tls_context: ssl.SSLContext | None = None

    def load(self) -> None:
        super().load()
        self.tls_context, self.ssl = self.ssl, None
        self.http_protocol_class = _Connection


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol, telling the guard when a request starts and ends."""

    def __init__(
        self,
        config: GuardedConfig,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._guard = config.guard
        self._slot: _Slot | None = None
        self._started: object = None
        """The request cycle the guard was last told about."""

    def attach(self, slot: _Slot, transport: asyncio.Transport) -> None:
        self._slot = slot
        self.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request
        self._track()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._slot is not None:
            self._guard.release(self._slot)

    def _track(self) -> None:
        if self._slot is None or self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle is not self._started:
                self._started = cycle
                self._guard.busy(self._slot)
        else:
            self._guard.waiting(self._slot)


class _Connection(asyncio.Protocol):
    """An accepted socket from its first moment: admitted by the guard, then handed to
    `_GuardedH11`, directly or after a TLS handshake done here under the header timeout.

    During the handshake this object is the TLS transport's protocol and keeps any
    bytes that arrive before the h11 protocol takes over.
    """

    def __init__(
        self,
        config: GuardedConfig,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._config = config
        self._loop = _loop or asyncio.get_running_loop()
        self._http = _GuardedH11(config, server_state, app_state, self._loop)
        self._slot: _Slot | None = None
        self._early: list[bytes] = []
        self._lost = False
        self._handshake: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._slot = self._config.guard.admit(transport)
        if self._slot is None:
            transport.abort()
            return
        context = self._config.tls_context
        if context is None:
            transport.set_protocol(self._http)
            self._http.attach(self._slot, transport)
            return
        transport.pause_reading()  # start_tls resumes it
        self._handshake = self._loop.create_task(self._start_tls(transport, self._slot, context))

    async def _start_tls(
        self, transport: asyncio.Transport, slot: _Slot, context: ssl.SSLContext
    ) -> None:
        guard = self._config.guard
        try:
            tls = await self._loop.start_tls(
                transport,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self._config.limits.header_timeout,
            )
        except OSError as exc:  # ssl.SSLError, resets, the guard's abort, the timeout
            log.debug("TLS handshake failed: %s", exc)
            guard.release(slot)
            return
        if tls is None or self._lost or tls.is_closing():  # closed while we were resumed
            guard.release(slot)
            return
        slot.transport = tls
        tls.set_protocol(self._http)
        self._http.attach(slot, tls)
        for data in self._early:
            self._http.data_received(data)
        self._early.clear()

    def data_received(self, data: bytes) -> None:
        self._early.append(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._slot is not None:
            self._config.guard.release(self._slot)


class _RepeatFilter(logging.Filter):
    """Lets one record per message through per interval; the next one says how many were
    dropped. For uvicorn's warning per bad request, which a client can repeat at will."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self._interval = interval
        self._seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = str(record.msg)
        now = time.monotonic()
        last, dropped = self._seen.get(key, (-self._interval, 0))
        if now - last < self._interval:
            self._seen[key] = (last, dropped + 1)
            return False
        if len(self._seen) > 64:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if dropped:
            record.msg = f"{record.msg} ({dropped} more like it in the last {self._interval:g} s)"
        return True


class WebServer(uvicorn.Server):
    """A `uvicorn.Server` for a `GuardedConfig` that keeps connection trouble out of the
    log while it serves: one line per `log_interval` for failed accepts and for
    uvicorn's per-request warnings, with a count.

    The accept filter is an event loop exception handler (asyncio reports EMFILE
    there), chained to the one before. asyncio schedules a retry per failed accept
    (up to `backlog` a burst), and those that fire after the listening socket has
    closed fail with a traceback each; so the filter drops them too, and stays
    installed until the last of them has run, `ACCEPT_RETRY_DELAY` after `serve`.
    """

    def __init__(self, config: GuardedConfig) -> None:
        super().__init__(config)
        self.guarded = config
        self._accept_failed = ThrottledLog(
            log, "accept() failed, new connections wait", config.limits.log_interval
        )
        self._repeats = _RepeatFilter(config.limits.log_interval)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            message = str(context.get("message", ""))
            if message == _ACCEPT_FAILED:
                self._accept_failed.note(str(context.get("exception", "")))
            elif _ACCEPT_RETRY in message and isinstance(context.get("exception"), ValueError):
                log.debug("an accept retry found the listening socket closed")
            elif previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        def restore() -> None:
            if loop.get_exception_handler() is handler:
                loop.set_exception_handler(previous)

        uvicorn_log = logging.getLogger("uvicorn.error")
        loop.set_exception_handler(handler)
        uvicorn_log.addFilter(self._repeats)
        try:
            await super().serve(sockets)
        finally:
            uvicorn_log.removeFilter(self._repeats)
            loop.call_later(2 * asyncio_constants.ACCEPT_RETRY_DELAY, restore)
            self._accept_failed.close()
            self.guarded.guard.close()


def split_listen_address(address: str) -> tuple[str, int]:
    """'host:port' -> (host, port). An empty host is every IPv4 interface ('0.0.0.0')."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"listen address must be [host]:port, got {address!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port_text)


def guarded_config(
    app: ASGIApp,
    listen_address: str,
    web: WebConfigFile,
    limits: WebLimits,
    *,
    graceful_shutdown: float,
) -> GuardedConfig:
    """The uvicorn config every server of this project uses: `app` (already wrapped in its
    middleware) on `listen_address`, held to `limits`, with the web config's TLS.

    Logging is left to the program (`log_config=None`, no access log), and uvicorn's
    proxy-header handling is off: apps judge forwarding headers themselves
    (`clients.client_host`). Raises ValueError for a bad listen address.
    """
    host, port = split_listen_address(listen_address)
    return GuardedConfig(
        app,
        limits=limits,
        host=host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=graceful_shutdown,
        **uvicorn_tls_options(web.tls_server_config),
    )
