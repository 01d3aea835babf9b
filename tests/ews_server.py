"""A small HTTP/1.1 server on loopback that plays a printer's embedded web server, good or bad.

Written on asyncio streams rather than a framework so that a test can make it
misbehave at the byte level: reset the connection, drip a byte at a time, send
a gzip bomb or ten megabytes, redirect elsewhere, or demand basic or digest
auth. It serves keep-alive connections and records every request and how many
connections were open at once, so a test can check the client's load and its
one-connection rule. Listens on 127.0.0.1 only, plain or TLS (trustme).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import secrets
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "ews"
MAX_REQUEST_BYTES = 16 * 1024


@dataclass
class Reply:
    """What a route answers. `behaviour` picks a misbehaviour instead of a plain answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    behaviour: str = "normal"  # normal | reset | drip | huge | close_early


Handler = Callable[["Request"], Reply]


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]


@dataclass
class EwsServer:
    routes: Mapping[str, Reply | Handler]
    tls: ssl.SSLContext | None = None
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    connections: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            async with asyncio.timeout(30):
                while await self._one(reader, writer):
                    pass
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:  # the server stopping with a kept-alive connection
            pass
        finally:
            self.open_now -= 1
            writer.transport.abort()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_REQUEST_BYTES:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        request = Request(method, target, headers)
        self.requests.append(request)
        route = self.routes.get(target)
        reply = Reply(404, b"not here") if route is None else route
        if callable(reply):
            reply = reply(request)
        return await _answer(writer, reply)


async def _answer(writer: asyncio.StreamWriter, reply: Reply) -> bool:
    if reply.behaviour == "reset":
        writer.transport.abort()
        return False
    head = [f"HTTP/1.1 {reply.status} X"]
    headers = {"Content-Type": "text/plain", **reply.headers}
    if reply.behaviour == "huge":
        headers["Content-Length"] = str(10 * 1024 * 1024)
    elif reply.behaviour != "drip":
        headers["Content-Length"] = str(len(reply.body))
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    if reply.behaviour == "drip":
        for _ in range(600):  # bounded: at most a minute
            writer.write(b"<")
            await writer.drain()
            await asyncio.sleep(0.1)
        return False
    if reply.behaviour == "huge":
        chunk = b"<p>" + b"x" * (64 * 1024 - 3)
        for _ in range(160):
            writer.write(chunk)
            await writer.drain()
        return False
    if reply.behaviour == "close_early":
        writer.write(reply.body[: len(reply.body) // 2])
        await writer.drain()
        return False
    writer.write(reply.body)
    await writer.drain()
    return True


def page(name: str, content_type: str = "text/xml", *, compress: bool = False) -> Reply:
    body = (FIXTURES / name).read_bytes()
    headers = {"Content-Type": content_type}
    if compress:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return Reply(200, body, headers)


@cache
def gzip_bomb() -> bytes:
    """20 MB of zeros in about 20 KB: what a gzip bomb looks like on the wire."""
    return gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)


def basic_auth(user: str, password: str, reply: Reply) -> Handler:
    import base64

    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def handle(request: Request) -> Reply:
        if request.headers.get("authorization") == expected:
            return reply
        return Reply(401, b"login", {"WWW-Authenticate": 'Basic realm="ews"'})

    return handle


def digest_auth(user: str, password: str, reply: Reply) -> Handler:
    """RFC 7616 digest with MD5 and qop=auth, checked as a printer would."""
    realm, nonce = "ews", secrets.token_hex(8)

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    def handle(request: Request) -> Reply:
        header = request.headers.get("authorization", "")
        if header.startswith("Digest "):
            fields = {}
            for part in header[7:].split(","):
                key, _, value = part.strip().partition("=")
                fields[key] = value.strip('"')
            ha1 = md5(f"{fields.get('username')}:{realm}:{password}")
            ha2 = md5(f"{request.method}:{fields.get('uri')}")
            expected = md5(f"{ha1}:{nonce}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
            if fields.get("username") == user and fields.get("response") == expected:
                return reply
        challenge = f'Digest realm="{realm}", nonce="{nonce}", qop="auth", algorithm=MD5'
        return Reply(401, b"login", {"WWW-Authenticate": challenge})

    return handle


@contextlib.asynccontextmanager
async def serving(
    routes: Mapping[str, Reply | Handler], tls: ssl.SSLContext | None = None
) -> AsyncIterator[EwsServer]:
    server = EwsServer(routes, tls)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
