"""The only way out to the archive: TLS with verification on, an optional SPKI pin, a proxy.

Why a transport of our own (about a hundred lines over httpcore's public API)
rather than httpx's default: the pin must be checked after the handshake and
before the first byte of the request is written, and httpx offers no hook
there. httpcore does: every TLS session is made by `start_tls` on a network
stream, for a direct connection and through an HTTP(S) proxy's CONNECT tunnel
alike. `_PinningStream` wraps that call; when the server's key is not pinned it
closes the connection and raises `PinMismatch`, so neither the token nor a
batch is ever sent to it.

The pin is the SHA-256 of the leaf certificate's SubjectPublicKeyInfo, as HPKP
and `curl --pinnedpubkey` define it: it survives a certificate renewal that
keeps the key. It is checked in addition to normal verification, never instead.

Other rules: no proxy from the environment (HTTPS_PROXY could silently route
the token elsewhere; `archive.proxy_url` is the one switch), response bodies
are read in full here and bounded (a hostile or broken server cannot make the
agent hold more than `max_response_bytes`), and every failure leaves as one of
pull_sync's own errors: TlsError for a handshake that failed, TransientError
for anything else on the wire.
"""

from __future__ import annotations

import base64
import hmac
import ssl
from collections.abc import Sequence

import httpcore
import httpx

from exporter.corehttp import (
    WrappedStream,
    WrappingBackend,
    core_request,
    describe,
    os_reason,
    spki_sha256,
    ssl_cause,
)
from pull_sync.config import ArchiveConfig
from pull_sync.errors import ConfigError, PinMismatch, TlsError, TransientError

MAX_RESPONSE_BYTES = 16 * 1024 * 1024


def archive_ssl_context(config: ArchiveConfig) -> ssl.SSLContext:
    """Verification on, TLS 1.2 or newer; the CA file and client certificate if set.

    Raise ConfigError naming the key when a file cannot be loaded, so `--dry-run`
    finds a bad certificate before the first upload does.
    """
    problems: list[str] = []
    cafile = str(config.ca_file) if config.ca_file is not None else None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except (OSError, ssl.SSLError) as error:
        problems.append(f"archive.ca_file: cannot load {cafile!r}: {os_reason(error)}")
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.client_cert_file is not None and config.client_key_file is not None:
        cert, key = config.client_cert_file, config.client_key_file
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as error:
            problems.append(
                f"archive.client_cert_file: cannot load {str(cert)!r} with {str(key)!r}:"
                f" {os_reason(error)}"
            )
    if problems:
        raise ConfigError(problems, "archive TLS")
    return context


class _PinningStream(WrappedStream):
    """Checks the archive's public key against the pins at each handshake with the archive
    itself (not with a proxy in between), before a byte of the request is sent."""

    def __init__(
        self, stream: httpcore.AsyncNetworkStream, pins: Sequence[bytes], host: str
    ) -> None:
        super().__init__(stream)
        self._pins = pins
        self._host = host

    def check_peer(self, der: bytes | None, server_hostname: str | None) -> Exception | None:
        if not self._pins or (server_hostname or "").lower() != self._host:
            return None
        try:
            seen = spki_sha256(der) if der else b""
        except ValueError:
            seen = b""
        if any(hmac.compare_digest(seen, pin) for pin in self._pins):
            return None
        shown = base64.b64encode(seen).decode() if seen else "none"
        return PinMismatch(
            f"the archive's public key (sha256/{shown}) matches no archive.spki_pins"
            " entry; nothing was sent"
        )

    def rewrap(self, tls: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
        return _PinningStream(tls, self._pins, self._host)


class _PinningBackend(WrappingBackend):
    def __init__(self, pins: Sequence[bytes], host: str) -> None:
        super().__init__()
        self._pins = tuple(pins)
        self._host = host

    def wrap(self, stream: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
        return _PinningStream(stream, self._pins, self._host)


class ArchiveTransport(httpx.AsyncBaseTransport):
    """An httpx transport for the archive: pinned, proxy-aware, bounded, with our errors."""

    def __init__(
        self,
        config: ArchiveConfig,
        ssl_context: ssl.SSLContext,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        host = (httpx.URL(config.url).host or "").lower()
        backend = _PinningBackend(config.spki_pins, host)
        self._max = max_response_bytes
        self._pool: httpcore.AsyncConnectionPool
        if config.proxy_url:
            proxy = httpx.URL(config.proxy_url)
            self._pool = httpcore.AsyncHTTPProxy(
                proxy_url=httpcore.URL(
                    scheme=proxy.raw_scheme,
                    host=proxy.raw_host,
                    port=proxy.port,
                    target=proxy.raw_path,
                ),
                ssl_context=ssl_context,
                proxy_ssl_context=ssl.create_default_context(),
                max_connections=4,
                keepalive_expiry=30.0,
                network_backend=backend,
            )
        else:
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=4,
                keepalive_expiry=30.0,
                network_backend=backend,
            )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core = core_request(request)
        try:
            response = await self._pool.handle_async_request(core)
            try:
                body = await self._read(response)
            finally:
                await response.aclose()
        except httpcore.TimeoutException as error:
            raise TransientError(
                f"timed out talking to the archive ({type(error).__name__})"
            ) from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.ProxyError) as error:
            if ssl_cause(error) is not None:
                raise TlsError(f"TLS with the archive failed: {ssl_cause(error)}") from None
            raise TransientError(f"cannot reach the archive: {describe(error)}") from None
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            content=body,
            extensions={k: v for k, v in response.extensions.items() if k != "network_stream"},
        )

    async def _read(self, response: httpcore.Response) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in response.aiter_stream():
            size += len(chunk)
            if size > self._max:
                raise TransientError(
                    f"the archive's response is larger than {self._max:,} bytes; not read"
                )
            parts.append(chunk)
        return b"".join(parts)

    async def aclose(self) -> None:
        await self._pool.aclose()
