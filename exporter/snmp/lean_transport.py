"""UDP for the lean client: one socket per event loop and address family, shared by all clients.

Why shared: a poller or a discovery sweep talks to thousands of agents; a
socket per client would cost a file descriptor and a selector registration
each. One unconnected socket carries every request, and answers are matched
back by request-id (31-bit, random start, unique among requests in flight).

An answer is accepted only if it decodes, is a Response-PDU, and carries the
request-id, source address and port, version and community of a request in
flight. Anything else is dropped and counted in `TRANSPORT_STATS`: on a shared
socket a stray or spoofed datagram must not complete someone else's request.

Retries resend the same bytes with the same request-id, as net-snmp does, so
a late answer to an earlier try still completes the request.

Why sockets close when idle: an endpoint belongs to its event loop, and a
socket still open when the loop is closed (every test's loop, for one) would
leak and warn. A request in flight keeps the socket open; once none is, it is
closed on the next loop iteration. A sequential walk never lets it close
(the next request is sent in the same step the answer is handled), and under
real load something is always in flight, so reopening is rare.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import weakref
from typing import Any, NamedTuple

from exporter.snmp.ber import RESPONSE, BerError, Message, decode_header, decode_message
from exporter.snmp.ber_encode import FAST_REQUEST_ID_MIN, REQUEST_ID_MAX, RequestTemplate
from exporter.snmp.client import TRANSPORT_STATS, SnmpOptions, TrafficStats
from exporter.snmp.errors import SnmpError, SnmpTransportError

_ID_SPAN = REQUEST_ID_MAX - FAST_REQUEST_ID_MIN + 1

Outcome = Message | SnmpError | None
"""What a request ends with: the answer, a failure, or None for a timeout after every retry."""


class Route(NamedTuple):
    """Where a client's requests go: an address literal, as the socket reports sources."""

    family: int
    host: str
    port: int


class _Pending:
    __slots__ = (
        "community",
        "future",
        "packet",
        "route",
        "stats",
        "timer",
        "tries_left",
        "version",
    )

    def __init__(
        self,
        future: asyncio.Future[Outcome],
        packet: bytes,
        route: Route,
        community: bytes,
        version: int,
        tries_left: int,
        stats: TrafficStats,
    ) -> None:
        self.future = future
        self.packet = packet
        self.route = route
        self.community = community
        self.version = version
        self.tries_left = tries_left
        self.stats = stats
        self.timer: asyncio.TimerHandle | None = None


class Endpoint(asyncio.DatagramProtocol):
    """One UDP socket on one event loop, with the requests in flight on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, family: int) -> None:
        self._loop = loop
        self._family = family
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, _Pending] = {}
        self._next_id = FAST_REQUEST_ID_MIN + secrets.randbelow(_ID_SPAN)
        self._send_error: Exception | None = None
        self._idle_check = False
        self.opened: asyncio.Future[None] = loop.create_future()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -- asyncio callbacks --

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        _forget(self)
        failure = SnmpTransportError(f"UDP socket closed: {exc or 'closed'}")
        for entry in list(self._pending.values()):
            self._finish(entry, failure)
        self._pending.clear()

    def error_received(self, exc: Exception) -> None:
        # Called synchronously from sendto() when the send fails: `_send` picks it up.
        TRANSPORT_STATS.socket_errors += 1
        self._send_error = exc

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            message = decode_message(data)
        except BerError as exc:
            self._undecodable(data, addr, exc)
            return
        request_id = message.request_id
        entry = self._pending.get(request_id)
        if (
            entry is None
            or message.pdu_type != RESPONSE
            or addr[1] != entry.route.port
            or addr[0] != entry.route.host
            or message.community != entry.community
            or message.version != entry.version
        ):
            TRANSPORT_STATS.unmatched += 1
            return
        del self._pending[request_id]
        self._finish(entry, message, len(data))

    # -- requests --

    async def exchange(
        self,
        route: Route,
        community: bytes,
        template: RequestTemplate,
        options: SnmpOptions,
        stats: TrafficStats,
    ) -> Outcome:
        """Send one request, resending on timeout; the outcome, never an exception.

        Cancellation is safe: the request leaves the table and its timer stops.
        """
        request_id = self._allocate_id()
        entry = _Pending(
            self._loop.create_future(),
            template.encode(request_id),
            route,
            community,
            template.version,
            options.retries,
            stats,
        )
        self._pending[request_id] = entry
        try:
            failure = self._send(entry)
            if failure is not None:
                return failure
            entry.timer = self._loop.call_later(
                options.timeout, self._expire, request_id, entry, options.timeout
            )
            return await entry.future
        finally:
            if entry.timer is not None:
                entry.timer.cancel()
            if self._pending.get(request_id) is entry:
                del self._pending[request_id]
            if not self._pending and not self._idle_check:
                self._idle_check = True
                self._loop.call_soon(self._close_if_idle)

    def _allocate_id(self) -> int:
        request_id = self._next_id
        while request_id in self._pending:  # bounded: far fewer in flight than ids
            request_id = request_id + 1 if request_id < REQUEST_ID_MAX else FAST_REQUEST_ID_MIN
        self._next_id = request_id + 1 if request_id < REQUEST_ID_MAX else FAST_REQUEST_ID_MIN
        return request_id

    def _send(self, entry: _Pending) -> SnmpError | None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return SnmpTransportError("UDP socket is closed")
        self._send_error = None
        transport.sendto(entry.packet, (entry.route.host, entry.route.port))
        error, self._send_error = self._send_error, None
        if error is not None:
            route = entry.route
            return SnmpTransportError(f"{route.host}:{route.port}: cannot send: {error}")
        entry.stats.packets_sent += 1
        entry.stats.bytes_sent += len(entry.packet)
        return None

    def _expire(self, request_id: int, entry: _Pending, timeout: float) -> None:
        if self._pending.get(request_id) is not entry:
            return
        if entry.tries_left <= 0:
            del self._pending[request_id]
            entry.stats.timeouts += 1
            self._finish(entry, None)
            return
        entry.tries_left -= 1
        entry.stats.retries += 1
        failure = self._send(entry)
        if failure is not None:
            del self._pending[request_id]
            self._finish(entry, failure)
            return
        entry.timer = self._loop.call_later(timeout, self._expire, request_id, entry, timeout)

    def _finish(self, entry: _Pending, outcome: Outcome, size: int = 0) -> None:
        """Complete a request that has left the table; `size` > 0 books a received datagram."""
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        if size:
            entry.stats.packets_received += 1
            entry.stats.bytes_received += size
        if not entry.future.done():
            entry.future.set_result(outcome)

    def _undecodable(self, data: bytes, addr: tuple[Any, ...], error: BerError) -> None:
        """Fail the request a malformed answer belongs to, if its header says which."""
        try:
            version, community, pdu_type, request_id = decode_header(data)
        except BerError:
            TRANSPORT_STATS.malformed += 1
            return
        entry = self._pending.get(request_id)
        if (
            entry is None
            or pdu_type != RESPONSE
            or addr[1] != entry.route.port
            or addr[0] != entry.route.host
            or community != entry.community
            or version != entry.version
        ):
            TRANSPORT_STATS.malformed += 1
            return
        del self._pending[request_id]
        self._finish(entry, error, len(data))

    def _close_if_idle(self) -> None:
        self._idle_check = False
        if not self._pending and self._transport is not None:
            _forget(self)
            self._transport.close()

    def close(self) -> None:
        """Close the socket now; requests in flight fail with `SnmpTransportError`."""
        _forget(self)
        if self._transport is not None:
            self._transport.close()


_endpoints: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, Endpoint]] = (
    weakref.WeakKeyDictionary()
)


def current_endpoint(family: int) -> Endpoint | None:
    """This loop's open endpoint for `family`, if there is one: the per-request fast path."""
    per_loop = _endpoints.get(asyncio.get_running_loop())
    found = per_loop.get(family) if per_loop is not None else None
    return found if found is not None and found.opened.done() else None


async def endpoint(family: int) -> Endpoint:
    """This loop's endpoint for `family` (AF_INET or AF_INET6), opened on first use."""
    loop = asyncio.get_running_loop()
    per_loop = _endpoints.get(loop)
    if per_loop is None:
        per_loop = _endpoints[loop] = {}
    found = per_loop.get(family)
    if found is not None:
        if not found.opened.done():
            await asyncio.shield(found.opened)
        return found
    fresh = Endpoint(loop, family)
    per_loop[family] = fresh
    local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
    try:
        await loop.create_datagram_endpoint(lambda: fresh, local_addr=local, family=family)
    except BaseException as exc:
        _forget(fresh)
        if isinstance(exc, OSError):
            failure = SnmpTransportError(f"cannot open a UDP socket: {exc}")
            fresh.opened.set_exception(failure)
            fresh.opened.exception()  # retrieved: waiters, if any, get it too
            raise failure from exc
        fresh.opened.set_exception(SnmpTransportError("opening the UDP socket was interrupted"))
        fresh.opened.exception()
        raise
    TRANSPORT_STATS.endpoints_opened += 1
    fresh.opened.set_result(None)
    return fresh


def _forget(ep: Endpoint) -> None:
    per_loop = _endpoints.get(ep._loop)
    if per_loop is not None and per_loop.get(ep._family) is ep:
        del per_loop[ep._family]


async def close_endpoints() -> None:
    """Close this loop's sockets (for shutdown); requests in flight fail."""
    loop = asyncio.get_running_loop()
    for ep in list(_endpoints.get(loop, {}).values()):
        ep.close()
    await asyncio.sleep(0)  # let connection_lost run
