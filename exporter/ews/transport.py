"""The only way to a printer's web server: one connection, a pinned or verified TLS, counted bytes.

Why a transport of our own over httpcore rather than httpx's default: a pinned
certificate must be checked after the handshake and before the first byte of a
request (which may carry a password) is written, and httpx has no hook there;
httpcore has one, since every TLS session is made by `start_tls` on a network
stream. The same wrapper counts the HTTP bytes each way, headers included (above
TLS: the benchmark measures the wire itself, bench/bench_network.py).

TLS, per device (docs/config.md, `ews`):
- no pin: the certificate is verified as a browser would (the system's CAs, or
  `ews.ca_file`), host name included;
- a pin (`tls_fingerprint`): chain and name checks are replaced by the pin, since
  printers ship self-signed certificates; `sha256:<hex>` is the SHA-256 of the
  certificate (what `openssl x509 -fingerprint -sha256` prints), `sha256/<base64>`
  the SHA-256 of its SubjectPublicKeyInfo (curl's `--pinnedpubkey`). A certificate
  that does not match is refused and the connection closed before any request.
Verification is never switched off for a device without a pin, nor globally.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpcore
import httpx

from exporter.config import TlsPin
from exporter.corehttp import (
    WrappedStream,
    WrappingBackend,
    core_request,
    describe,
    spki_sha256,
    ssl_cause,
)
from exporter.ews.errors import (
    EwsClosed,
    EwsConnectError,
    EwsError,
    EwsPinMismatch,
    EwsTimeout,
    EwsTlsError,
)


def pin_matches(pin: TlsPin, der_certificate: bytes) -> bool:
    if pin.kind == "certificate":
        seen = hashlib.sha256(der_certificate).digest()
    else:
        try:
            seen = spki_sha256(der_certificate)
        except ValueError:
            return False
    return hmac.compare_digest(seen, pin.digest)


def ssl_context(pin: TlsPin | None, ca_file: Path | None) -> ssl.SSLContext:
    """Verification on unless a pin replaces it for this one device."""
    if pin is None:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the pin, checked before any request, replaces it
    return context


@dataclass
class Traffic:
    """What one device's read cost: requests, connections, HTTP bytes each way (headers
    included, TLS overhead not)."""

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    connections: int = 0


class _CountingStream(WrappedStream):
    """Counts the HTTP bytes each way; checks the pin, if any, at the first handshake."""

    def __init__(
        self, stream: httpcore.AsyncNetworkStream, traffic: Traffic, pin: TlsPin | None
    ) -> None:
        super().__init__(stream)
        self._traffic = traffic
        self._pin = pin

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await super().read(max_bytes, timeout)
        self._traffic.bytes_received += len(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await super().write(buffer, timeout)
        self._traffic.bytes_sent += len(buffer)

    def check_peer(self, der: bytes | None, server_hostname: str | None) -> Exception | None:
        if self._pin is None or (der and pin_matches(self._pin, der)):
            return None
        seen = hashlib.sha256(der).hexdigest() if der else "none"
        return EwsPinMismatch(
            f"the certificate (sha256:{seen[:16]}...) is not the one pinned"
            " (tls_fingerprint); nothing was sent"
        )

    def rewrap(self, tls: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
        return _CountingStream(tls, self._traffic, None)


class _CountingBackend(WrappingBackend):
    def __init__(self, traffic: Traffic, pin: TlsPin | None) -> None:
        super().__init__()
        self._traffic = traffic
        self._pin = pin

    def wrap(self, stream: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
        self._traffic.connections += 1
        return _CountingStream(stream, self._traffic, self._pin)


class EwsTransport(httpx.AsyncBaseTransport):
    """One connection at a time to one device, bytes counted, errors as EwsError."""

    def __init__(self, pin: TlsPin | None, ca_file: Path | None, traffic: Traffic) -> None:
        self.traffic = traffic
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context(pin, ca_file),
            max_connections=1,
            keepalive_expiry=5.0,
            network_backend=_CountingBackend(traffic, pin),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core = core_request(request)
        self.traffic.requests += 1
        with translated():
            response = await self._pool.handle_async_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response),
            extensions={k: v for k, v in response.extensions.items() if k != "network_stream"},
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with translated():
            async for chunk in self._response.aiter_stream():
                yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class translated:
    """httpcore's and ssl's errors as ours, with a reason a log line can carry."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> Literal[False]:
        if exc is None or isinstance(exc, EwsError):
            return False
        cause = ssl_cause(exc)
        if cause is not None:
            raise EwsTlsError(f"TLS failed: {cause}") from None
        if isinstance(exc, httpcore.ConnectTimeout | httpcore.PoolTimeout):
            raise EwsTimeout("no connection before the deadline") from None
        if isinstance(exc, httpcore.TimeoutException):
            raise EwsTimeout("the device stopped sending before the deadline") from None
        if isinstance(exc, httpcore.ConnectError):
            raise EwsConnectError(f"cannot connect ({describe(exc)})") from None
        if isinstance(exc, httpcore.NetworkError | httpcore.ProtocolError):
            raise EwsClosed(f"the connection broke ({describe(exc)})") from None
        return False
