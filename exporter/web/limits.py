"""What a hostile HTTP client may cost the exporter: the limits and the small tools that
enforce them in the app (the connection-level ones are in `exporter.web.server`).

Why limits at all: the web server shares one asyncio loop with the poller, and
a process has about 1,024 file descriptors. Without limits, 1,100 idle TCP
connections exhausted them, `/metrics` timed out for the whole attack, and the
log gained a traceback per failed `accept()` (issue 7). Each limit below has a
fixed, documented value (docs/web.md); `WebLimits` exists so tests can lower
them, not as operator configuration.

Errors: `TooManyReloads` is the one exception of this module, raised by
`ReloadGate` and turned into HTTP 429 by the app.
"""

from __future__ import annotations

import asyncio
import math
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

HEADER_TIMEOUT: Final = 10.0
"""Seconds a connection may take to send a complete request head, counted from accept
(the TLS handshake included) or from the end of the previous response."""
KEEP_ALIVE_TIMEOUT: Final = 5
"""Seconds an idle keep-alive connection stays open after a response (uvicorn's default)."""
REQUEST_TIMEOUT: Final = 60.0
"""Seconds from a complete request head to the last byte of its response: a client that
stops reading its answer gives the connection back after this."""
MAX_CONNECTIONS: Final = 512
"""Open connections at most, and never more than the fd limit allows (`connection_cap`)."""
BACKLOG: Final = 128
"""The listen backlog, which is also the most connections asyncio accepts in one go."""
FD_RESERVE: Final = 128
"""File descriptors kept for everything but HTTP: SNMP sockets, config files, threads."""
MAX_HEAD_BYTES: Final = 16 * 1024
"""The longest request line plus headers (h11's own default, set explicitly); longer: 400."""
MAX_BODY_BYTES: Final = 1024
"""The largest request body. No route reads one; `curl -X POST -d ''` still fits."""
RELOAD_BURST: Final = 5
"""Config reloads that may start back to back..."""
RELOAD_REFILL_SECONDS: Final = 6.0
"""...and one more each this many seconds (10 a minute, sustained)."""
LOG_INTERVAL: Final = 10.0
"""At most one line per this many seconds for each kind of connection trouble."""


@dataclass(frozen=True, slots=True)
class WebLimits:
    """The limits one server enforces. The defaults are the documented values."""

    header_timeout: float = HEADER_TIMEOUT
    keep_alive_timeout: int = KEEP_ALIVE_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT
    max_connections: int = MAX_CONNECTIONS
    backlog: int = BACKLOG
    max_head_bytes: int = MAX_HEAD_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    reload_burst: int = RELOAD_BURST
    reload_refill_seconds: float = RELOAD_REFILL_SECONDS
    log_interval: float = LOG_INTERVAL


def connection_cap(limits: WebLimits, fd_limit: int | None = None) -> int:
    """`limits.max_connections`, lowered so that the cap, one accept burst and the rest of
    the process fit under the fd limit (RLIMIT_NOFILE's soft value): the server then
    closes connections of its own choosing instead of failing `accept()`. At least 16."""
    if fd_limit is None:
        fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if fd_limit == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(16, min(limits.max_connections, fd_limit - limits.backlog - FD_RESERVE))


class BodyLimitMiddleware:
    """413 for a request body over `max_bytes`, 411 for one without a length.

    Answered from the headers, before any route runs and before the body is read,
    with `Connection: close`, so an oversized body is never buffered. A body of
    unknown length (chunked) is refused rather than counted: no route reads a body,
    and no client of this exporter sends one that way.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            refusal = self._refusal(headers)
            if refusal is not None:
                status, text = refusal
                body = text.encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _refusal(self, headers: Headers) -> tuple[int, str] | None:
        if "transfer-encoding" in headers:
            return 411, "Length Required: send a request body with Content-Length\n"
        length = headers.get("content-length", "0").strip()
        # h11 has checked the value already; a non-number here is refused all the same.
        if not length.isdigit() or int(length) > self.max_bytes:
            return 413, f"Payload Too Large: at most {self.max_bytes} bytes\n"
        return None


class TooManyReloads(Exception):
    """More reloads were asked for than `ReloadGate` lets start; `retry_after` is in s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many reloads; retry after {retry_after} s")
        self.retry_after = retry_after


class ReloadGate:
    """Runs config reloads for `POST /-/reload`: one at a time, shared, and rate-limited.

    Every caller gets the result of a reload that began after its request arrived,
    so a deploy tool that edits the file and then asks sees its own edit. Callers
    that arrive while a reload runs share the one reload that starts after it: a
    burst of any size costs at most two. Starting a reload takes a token from a
    bucket of `burst` that refills one per `refill_seconds`; with none left the
    caller gets `TooManyReloads` (HTTP 429 with Retry-After) unless it can share a
    reload that has not started yet, which costs nothing.
    """

    def __init__(
        self,
        reload: Callable[[], Awaitable[tuple[bool, str]]],
        burst: int,
        refill_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reload = reload
        self._burst = burst
        self._refill = refill_seconds
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[tuple[bool, str]] | None = None

    async def __call__(self) -> tuple[bool, str]:
        task = self._pending
        if task is None:
            self._take_token()
            task = self._pending = asyncio.create_task(self._run(), name="reload")
        # shield: a client that hangs up must not cancel the reload others wait on
        return await asyncio.shield(task)

    async def _run(self) -> tuple[bool, str]:
        async with self._lock:  # wait for the reload in flight
            self._pending = None  # later callers may have edited the file after this read
            return await self._reload()

    def _take_token(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) / self._refill)
        self._stamp = now
        if self._tokens < 1:
            raise TooManyReloads(max(1, math.ceil((1 - self._tokens) * self._refill)))
        self._tokens -= 1
