"""An asyncio PJL client for a printer's raw print port (TCP 9100): one bounded exchange per call.

    client = PjlClient()
    info = await client.info("192.0.2.7", 9100, ("ID", "PAGECOUNT"), timeout=5.0)
    info.model, info.pagecount, info.status, info.notes

One call is one TCP connection carrying one PJL job: UEL, `ECHO <token>
BEGIN`, the INFO commands, `ECHO <token> END`, UEL (`parse.build_request`),
with a fresh token each time. Replies before BEGIN's echo are stale and
dropped. Reading ends at END's echo (so a device that skips an INFO it does
not know costs no wait); on a device that does not echo at all, once every
INFO was answered; or when the device closes. Then the connection is closed;
the job already ended with UEL, so the port is left in its default language.

Bounded in every way a device could stretch it:
- time: one deadline for the whole call, connect and lock wait included, so
  a device that sends a byte a second still ends on time;
- size: a reply longer than `max_reply_bytes` without its form feed, or more
  than `max_total_bytes` in all, ends the exchange with PjlProtocolError;
- connections: one at a time per host (an asyncio.Lock each), since a
  printer's print port serves one connection and queues or refuses the rest.

Why nothing is sent unless the config says so: a raw print port prints what
it receives. A device that does not speak PJL may print these lines as text.
This module does not decide where it may connect; `Config.pjl_allowed` does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from exporter.config import PjlConfig
from exporter.hostlock import HostLocks
from exporter.pjl.errors import PjlClosed, PjlConnectError, PjlProtocolError, PjlTimeout
from exporter.pjl.parse import (
    BEGIN,
    CATEGORIES,
    END,
    FORM_FEED,
    PjlInfo,
    Reply,
    build_request,
    echo_words,
    has_echo,
    parse_reply,
    read_info,
)

_READ_CHUNK = 4096
_CONFIG: Final = PjlConfig()
"""The config's PJL defaults: a client made without limits waits as long as a poll would."""


@dataclass(frozen=True, slots=True)
class PjlLimits:
    """How long and how much one exchange may take. The defaults suit a LAN printer:
    its INFO replies are a few hundred bytes and come within a second."""

    timeout: float = _CONFIG.timeout
    """The whole call: waiting for the host's lock, connecting, sending, reading (the
    config's `pjl.timeout` default, declared there)."""
    max_reply_bytes: int = 16 * 1024
    max_total_bytes: int = 64 * 1024
    close_timeout: float = 1.0
    """How long a clean close may wait for the device before the connection is reset."""


class PjlClient:
    """Reads PJL INFO from devices; safe to share between concurrent polls."""

    def __init__(self, limits: PjlLimits | None = None) -> None:
        self.limits = limits or PjlLimits()
        self._hosts = HostLocks()

    async def info(
        self,
        host: str,
        port: int,
        categories: Sequence[str] = CATEGORIES,
        *,
        timeout: float | None = None,
    ) -> PjlInfo:
        """Ask `host:port` for the INFO `categories`; raise a PjlError when nothing usable came.

        A reply that came but did not parse gives its field None and a note, so
        the caller keeps the other fields.
        """
        limit = self.limits.timeout if timeout is None else timeout
        address = _address(host, port)
        echo = echo_words(secrets.randbits(32))  # fresh per exchange: an old echo is not ours
        exchange = _Exchange(address, tuple(categories), echo, self.limits)
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(limit), self._hosts.hold(host):
                exchange.started = True
                reader, writer = await _connect(host, port, address)
                writer.write(exchange.request)
                await writer.drain()
                await exchange.read(reader)
        except TimeoutError:
            exchange.timed_out = limit
        except OSError as exc:  # reset or broken pipe while sending or reading
            exchange.broken = _reason(exc)
        finally:
            if writer is not None:
                await _close(writer, clean=exchange.complete, wait=self.limits.close_timeout)
        return exchange.result(connected=writer is not None)


class _Exchange:
    """The state of one exchange: what was sent, the replies so far, and how it ended."""

    def __init__(
        self, address: str, categories: tuple[str, ...], echo: str, limits: PjlLimits
    ) -> None:
        self.address = address
        self.categories = categories
        self.echo = echo
        self.limits = limits
        self.request = build_request(categories, echo)
        self.replies: list[Reply] = []
        self.buffer = bytearray()
        self.received = 0
        self.not_pjl: bytes | None = None
        """The start of the first reply that was not PJL, for the error message."""
        self.started = False
        self.opened = False
        """Our BEGIN came back: the device echoes, so END will mark the end."""
        self.stale = 0
        self.complete = False
        self.closed = False
        self.timed_out: float | None = None
        self.broken: str | None = None

    async def read(self, reader: asyncio.StreamReader) -> None:
        """Read replies until our ECHO, every INFO answered, or the device closes."""
        while not self.complete:
            chunk = await reader.read(_READ_CHUNK)
            if not chunk:
                self.closed = True
                return
            self.received += len(chunk)
            if self.received > self.limits.max_total_bytes:
                raise PjlProtocolError(
                    f"{self.address}: more than {self.limits.max_total_bytes:,} bytes in reply"
                    " to a few INFO requests; stopped reading"
                )
            self.buffer += chunk
            self._take_replies()

    def _take_replies(self) -> None:
        while (end := self.buffer.find(FORM_FEED)) >= 0:
            raw = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            self._check_size(len(raw))
            reply = parse_reply(raw)
            if reply is None:
                self.not_pjl = self.not_pjl or raw[:40] or b"(an empty reply)"
                continue
            if has_echo(reply, self.echo, BEGIN) and not self.opened:
                self.opened, self.stale = True, len(self.replies)
                self.replies.clear()
                continue
            self.replies.append(reply)
            if has_echo(reply, self.echo, END) or (not self.opened and self._all_answered()):
                self.complete = True
                return
        self._check_size(len(self.buffer))

    def _check_size(self, size: int) -> None:
        if size > self.limits.max_reply_bytes:
            raise PjlProtocolError(
                f"{self.address}: a reply of more than {self.limits.max_reply_bytes:,} bytes"
                " without its form feed; stopped reading"
            )

    def _all_answered(self) -> bool:
        answered = {r.command for r in self.replies}
        return all(f"INFO {c}" in answered for c in self.categories)

    def result(self, *, connected: bool) -> PjlInfo:
        """The fields read, or the PjlError that says why there are none."""
        if not self.opened and not any(
            r.command.startswith(("INFO ", "ECHO ")) for r in self.replies
        ):
            raise self._failure(connected)
        info = read_info(self.replies, self.categories)
        return dataclasses.replace(
            info,
            notes=(*info.notes, *self._how_it_ended()),
            bytes_sent=len(self.request) if connected else 0,
            bytes_received=self.received,
        )

    def _how_it_ended(self) -> list[str]:
        notes = []
        if self.stale:
            notes.append(f"dropped {self.stale} replies sent before this exchange began")
        if self.complete:
            return notes
        if self.timed_out is not None:
            notes.append(f"the exchange passed its {self.timed_out:g}s deadline; kept what came")
        elif self.broken is not None:
            notes.append(f"the connection broke ({self.broken}); kept what came")
        else:
            notes.append("the device closed the connection before answering everything")
        return notes

    def _failure(
        self, connected: bool
    ) -> PjlTimeout | PjlClosed | PjlProtocolError | PjlConnectError:
        """Why there is nothing to use. Bytes that were not PJL explain more than the
        deadline or the close that followed them, so they come first."""
        where = self.address
        if self.not_pjl is not None:
            return PjlProtocolError(
                f"{where}: no PJL reply in the {self.received:,} bytes received;"
                f" they start {self.not_pjl!r}"
            )
        if self.timed_out is not None:
            return self._late(connected)
        if self.buffer:
            return PjlProtocolError(
                f"{where}: {len(self.buffer):,} bytes without the form feed that ends a reply,"
                f" then the connection ended; they start {bytes(self.buffer[:40])!r}"
            )
        if self.broken is not None:
            return PjlClosed(f"{where}: the connection broke before any reply ({self.broken})")
        if self.replies:
            others = ", ".join(sorted({r.command[:40] for r in self.replies}))
            return PjlProtocolError(f"{where}: replies only to other commands: {others}")
        return PjlClosed(f"{where}: the device closed the connection without answering")

    def _late(self, connected: bool) -> PjlTimeout:
        deadline = f"{self.timed_out:g}s"
        if not self.started:
            return PjlTimeout(
                f"{self.address}: another exchange with this device held it past the"
                f" {deadline} deadline"
            )
        if not connected:
            return PjlTimeout(f"{self.address}: no TCP connection within {deadline}")
        seen = ""
        if self.received:
            seen = f" ({self.received:,} byte{'' if self.received == 1 else 's'} received)"
        return PjlTimeout(f"{self.address}: no complete PJL reply within {deadline}{seen}")


async def _connect(
    host: str, port: int, address: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.open_connection(host, port)
    except OSError as exc:
        raise PjlConnectError(f"{address}: cannot connect ({_reason(exc)})") from None


async def _close(writer: asyncio.StreamWriter, *, clean: bool, wait: float) -> None:
    """Close after a complete exchange; reset (abort) after a broken, oversized or late one,
    so that a device that stopped reading cannot hold the close open."""
    if not clean:
        writer.transport.abort()
        return
    writer.close()
    try:
        async with asyncio.timeout(wait):
            await writer.wait_closed()
    except (TimeoutError, OSError):
        writer.transport.abort()


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
