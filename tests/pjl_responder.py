"""A PJL device on 127.0.0.1 for tests, written from HP's PJL Technical Reference (chapter 7).

    async with PjlResponder(Device(model="LaserJet 4", pagecount=183933)) as device:
        info = await PjlClient().info("127.0.0.1", device.port)
        device.connections, device.requests

What a well-behaved device does (`behaviour="pjl"`): it reads one job (from
the first UEL to the next), and answers each command in order. `@PJL INFO
<category>` gets `@PJL INFO <category>` CRLF, the lines, and a form feed;
`@PJL ECHO <words>` gets `@PJL ECHO <words>` CRLF and a form feed; a category
the device does not support gets no answer, as many printers do.

The other behaviours are the hostile answers the client must survive, each
named for what it does. Every wait is bounded, and `stop()` ends every
connection, so a test can never hang on the responder.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

UEL = b"\x1b%-12345X"
FF = b"\x0c"
_MAX_REQUEST = 64 * 1024
_REQUEST_WAIT = 5.0
_HOLD = 30.0
"""How long a behaviour that never ends its answer keeps the connection: longer than any
client deadline in the tests, and ended early by `stop()`."""

Behaviour = Literal[
    "pjl",  # the reference's answers
    "close",  # read the job, then close without answering
    "reset",  # read the job, then reset the connection (RST)
    "silent",  # read the job, never answer
    "no_terminator",  # answer without form feeds, keep the connection open
    "no_terminator_close",  # answer without form feeds, then close
    "huge",  # one endless reply with no form feed
    "flood",  # endless small PJL replies, each with its form feed
    "garbage",  # binary noise with form feeds in it
    "drip",  # the right answer, one byte per `drip_interval`
    "other_command",  # answers, but to commands that were not asked
    "twice",  # INFO PAGECOUNT answered twice with different numbers, both inside the job
    "stale",  # an old INFO PAGECOUNT reply first, then the right answers
]


@dataclass
class Device:
    """What the simulated printer knows and how it words it."""

    model: str = "LaserJet 4"
    code: int = 10001
    display: str = "00 READY"
    online: bool = True
    pagecount: int = 183933
    pagecount_form: Literal["bare", "key"] = "bare"
    display_quote: str = '"'
    supported: tuple[str, ...] = ("ID", "STATUS", "PAGECOUNT")
    echo: bool = True
    extra_status: tuple[str, ...] = ()
    """More `KEY=value` lines for INFO STATUS (`CODE2=40021`, ...)."""
    raw: dict[str, bytes] = field(default_factory=dict)
    """A category's whole body, as bytes, instead of the one built from the fields above."""

    def body(self, category: str) -> bytes | None:
        if category in self.raw:
            return self.raw[category]
        if category not in self.supported:
            return None
        if category == "ID":
            return f'"{self.model}"\r\n'.encode("latin-1")
        if category == "STATUS":
            q = self.display_quote
            lines = [
                f"CODE={self.code}",
                f"DISPLAY={q}{self.display}{q}",
                f"ONLINE={'TRUE' if self.online else 'FALSE'}",
                *self.extra_status,
            ]
            return "".join(f"{line}\r\n" for line in lines).encode("latin-1")
        if category == "PAGECOUNT":
            text = str(self.pagecount)
            return f"{'PAGECOUNT=' if self.pagecount_form == 'key' else ''}{text}\r\n".encode()
        return None


_COMMAND = re.compile(rb"@PJL[ \t]+(INFO|ECHO)[ \t]*([^\r\n]*)", re.IGNORECASE)


def replies(device: Device, request: bytes) -> bytes:
    """The reference's answer to one job: each INFO and ECHO in order, each ended by FF."""
    out = bytearray()
    for match in _COMMAND.finditer(request):
        verb, rest = match.group(1).upper(), match.group(2).strip()
        if verb == b"ECHO":
            if device.echo:
                out += b"@PJL ECHO " + rest + b"\r\n" + FF
            continue
        category = rest.decode("ascii", "replace").upper()
        body = device.body(category)
        if body is not None:
            out += b"@PJL INFO " + category.encode() + b"\r\n" + body + FF
    return bytes(out)


class PjlResponder:
    """An asyncio TCP server on 127.0.0.1 (a free port) playing one `Device`."""

    def __init__(
        self,
        device: Device | None = None,
        behaviour: Behaviour = "pjl",
        *,
        drip_interval: float = 1.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.device = device or Device()
        self.behaviour: Behaviour = behaviour
        self.drip_interval = drip_interval
        self.host = host
        self.port = 0
        self.connections = 0
        self.requests: list[bytes] = []
        self.bytes_sent = 0
        self.peak_concurrent = 0
        self._open = 0
        self.client_closed = asyncio.Event()
        """Set when a client ended a connection itself (end of stream on our side)."""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> PjlResponder:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> PjlResponder:
        return await self.start()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self._open += 1
        self.peak_concurrent = max(self.peak_concurrent, self._open)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._open -= 1
            writer.transport.abort()
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_job(reader)
        self.requests.append(request)
        answer = replies(self.device, request)
        match self.behaviour:
            case "pjl":
                await self._send(writer, answer)
                if await _until_closed(reader):
                    self.client_closed.set()
            case "close":
                writer.close()
                await writer.wait_closed()
            case "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            case "silent":
                await _until_closed(reader)
            case "no_terminator" | "no_terminator_close":
                await self._send(writer, answer.replace(FF, b""))
                if self.behaviour == "no_terminator":
                    await _until_closed(reader)
            case "huge":
                await self._endless(writer, b"@PJL INFO PAGECOUNT\r\n" + b"9" * 4096)
            case "flood":
                await self._endless(writer, b"@PJL USTATUS DEVICE\r\nCODE=10001\r\n" + FF)
            case "garbage":
                noise = bytes((i * 151 + 7) % 256 for i in range(600))
                await self._send(writer, noise + FF + noise[::-1] + FF)
                await _until_closed(reader)
            case "drip":
                for byte in answer:
                    await self._send(writer, bytes([byte]))
                    await asyncio.sleep(self.drip_interval)
            case "other_command":
                other = replies(self.device, b"@PJL INFO ID\r\n")
                body = self.device.body("PAGECOUNT") or b""
                await self._send(
                    writer,
                    b"@PJL INFO CONFIG\r\n"
                    + body
                    + FF
                    + b"@PJL USTATUS DEVICE\r\nCODE=40021\r\n"
                    + FF
                    + b"@PJL ECHO SOMEONE ELSE 1\r\n"
                    + FF
                    + other.replace(b"INFO ID", b"INFO MEMORY"),
                )
                await _until_closed(reader)
            case "twice" | "stale":
                old = b"@PJL INFO PAGECOUNT\r\n1000\r\n" + FF
                end = answer.rfind(b"@PJL ECHO")  # the job's last echo: END
                if self.behaviour == "stale":
                    await self._send(writer, old + answer)
                else:
                    await self._send(writer, answer[:end] + old + answer[end:])
                await _until_closed(reader)

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.bytes_sent += len(data)

    async def _endless(self, writer: asyncio.StreamWriter, chunk: bytes) -> None:
        """Send `chunk` over and over until the client goes away (bounded: `_HOLD`)."""
        async with asyncio.timeout(_HOLD):
            while not writer.is_closing():
                await self._send(writer, chunk)


async def _read_job(reader: asyncio.StreamReader) -> bytes:
    """One PJL job: from the first UEL to the second one, bounded in size and time."""
    data = bytearray()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_REQUEST_WAIT):
            while data.count(UEL) < 2 and len(data) < _MAX_REQUEST:
                chunk = await reader.read(4096)
                if not chunk:
                    break
                data += chunk
    return bytes(data)


async def _until_closed(reader: asyncio.StreamReader) -> bool:
    """Keep the connection until the client closes it (True) or `_HOLD` passes (False)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_HOLD):
            while await reader.read(4096):
                pass
            return True
    return False


def categories_asked(request: bytes) -> list[str]:
    """The INFO categories in a recorded request, in order."""
    return [
        m.group(2).strip().decode()
        for m in _COMMAND.finditer(request)
        if m.group(1).upper() == b"INFO"
    ]
