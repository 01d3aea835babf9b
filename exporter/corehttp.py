"""httpx requests over an httpcore pool of our own, and httpcore's errors told plainly.

Two clients drive httpcore directly instead of through httpx's default transport: the
embedded-web-server reader (a pinned certificate checked before any byte is sent, bytes
counted on the wire) and pull_sync (the archive's SPKI pinned, bounded reads). Both wrap
httpcore's network streams the same way (`WrappedStream`: the peer's certificate is
checked after the handshake and before the first byte of a request, where httpx has no
hook), turn an httpx request into an httpcore one the same way, and need the one reason
a TLS or network failure deserves in a log line.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization


class WrappingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own network backend with every TCP stream passed through `wrap`, where a
    subclass pins the certificate or counts bytes. No unix sockets: neither client uses one."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    def wrap(self, stream: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
        return stream

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return self.wrap(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used here")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def spki_sha256(der_certificate: bytes) -> bytes:
    """SHA-256 of a DER certificate's SubjectPublicKeyInfo: what an SPKI pin holds (curl's
    `--pinnedpubkey`). Raise ValueError for bytes that are no certificate."""
    cert = x509.load_der_x509_certificate(der_certificate)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


class WrappedStream(httpcore.AsyncNetworkStream):
    """A network stream passed through to httpcore's own, with two hooks for a subclass.

    `check_peer` sees the peer's certificate after each TLS handshake and before any
    byte of a request is written, and returns the error to raise (the TLS stream is
    closed first) or None; `rewrap` wraps the new TLS stream in turn, so a subclass
    that counts bytes or checks a tunnelled handshake keeps doing so.
    """

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    def check_peer(self, der: bytes | None, server_hostname: str | None) -> Exception | None:
        return None

    def rewrap(self, tls: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
        return tls

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        ssl_object = tls.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        refusal = self.check_peer(der, server_hostname)
        if refusal is not None:
            await tls.aclose()
            raise refusal
        return self.rewrap(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def core_request(request: httpx.Request) -> httpcore.Request:
    """The same request for an httpcore pool: raw URL parts, raw headers, the same stream."""
    assert isinstance(request.stream, httpx.AsyncByteStream)
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        ),
        headers=request.headers.raw,
        content=request.stream,
        extensions=request.extensions,
    )


def os_reason(error: BaseException) -> str:
    """What went wrong, in the words a person acts on: the certificate check's own message,
    the TLS alert, or the system's error text."""
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"certificate verify failed: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return error.reason or str(error)
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


def ssl_cause(error: BaseException) -> str | None:
    """The TLS failure behind `error`, if one is in its chain (httpcore wraps it)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return os_reason(current)
        current = current.__cause__ or current.__context__
    return None


def describe(error: BaseException, limit: int = 200) -> str:
    """One line, bounded: an error's text as a log line or a snapshot warning can carry it."""
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:limit]
