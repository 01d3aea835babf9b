"""Read pages from one printer's embedded web server, within every limit a device could stretch.

    client = EwsClient()
    fetched = await client.fetch("192.0.2.7", settings, ["/DevMgmt/ProductUsageDyn.xml"])
    fetched.pages, fetched.errors, fetched.traffic

One call is one short HTTP session with one device: a fresh httpx client over
`EwsTransport` (one connection, kept alive across the pages of this call and
closed at its end), GET for each page in turn. Bounded in every way:
- time: one deadline (`settings.timeout`) for the whole call, lock wait,
  connect, TLS and every page included, so a server that drips a byte a
  second still ends on time;
- size: `settings.max_page_bytes` per page, counted on the raw body and again
  after gzip/deflate decoding, which is done here chunk by chunk with an output
  cap, so a gzip bomb costs at most the limit, never its expansion;
- redirects: at most `max_redirects`, each to the same host, scheme and port
  (an http -> https upgrade on the same host only with `https_upgrade`);
- connections: one at a time per host (an asyncio.Lock each).
Credentials go only to the configured host: basic auth is sent with the first
request, digest answers the server's challenge; never after a redirect off-host
(there is none). A connection-level failure (connect, TLS, deadline) ends the
call; any other costs only its page.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from exporter.config import EwsSettings, format_host_port
from exporter.ews.errors import (
    FATAL,
    EwsAuthError,
    EwsError,
    EwsHttpError,
    EwsRedirectError,
    EwsTimeout,
    EwsTooLarge,
)
from exporter.ews.transport import EwsTransport, Traffic
from exporter.hostlock import HostLocks

USER_AGENT = "printer-exporter (EWS reader)"


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    body: bytes
    charset: str | None = None


@dataclass
class Fetched:
    """What one call read: the pages, why the others failed, and what it cost."""

    pages: dict[str, Page] = field(default_factory=dict)
    errors: dict[str, EwsError] = field(default_factory=dict)
    traffic: Traffic = field(default_factory=Traffic)


class EwsClient:
    """Reads EWS pages; safe to share between concurrent polls."""

    def __init__(self) -> None:
        self._hosts = HostLocks()

    async def fetch(
        self,
        host: str,
        settings: EwsSettings,
        paths: Sequence[str],
        still_wanted: Callable[[str], bool] = lambda path: True,
        on_page: Callable[[Page], None] = lambda page: None,
    ) -> Fetched:
        """GET each of `paths` from `host` that is `still_wanted` when its turn comes, handing
        each to `on_page` as it arrives (so a page that an earlier one made unnecessary is
        never asked for). Every failure is in `errors`; none is raised."""
        fetched = Fetched()
        pending = list(paths)
        stopped: EwsError | None = None
        try:
            async with (
                asyncio.timeout(settings.timeout),
                self._hosts.hold(host),
                _session(settings, fetched.traffic) as client,
            ):
                while pending and stopped is None:
                    path = pending.pop(0)
                    if not still_wanted(path):
                        continue
                    try:
                        fetched.pages[path] = await _get(client, host, settings, path)
                        on_page(fetched.pages[path])
                    except EwsError as exc:
                        fetched.errors[path] = exc
                        stopped = exc if isinstance(exc, FATAL) else None
                    except BaseException:
                        pending.insert(0, path)
                        raise
        except TimeoutError:
            stopped = EwsTimeout(f"the device's {settings.timeout:g}s deadline passed")
        for path in pending:
            fetched.errors[path] = stopped or EwsTimeout("not read")
        return fetched


@contextlib.asynccontextmanager
async def _session(settings: EwsSettings, traffic: Traffic) -> AsyncIterator[httpx.AsyncClient]:
    transport = EwsTransport(settings.tls_fingerprint, settings.ca_file, traffic)
    client = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
    )
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()


def base_url(host: str, scheme: str, port: int) -> str:
    return f"{scheme}://{format_host_port(host, port)}"


async def _get(client: httpx.AsyncClient, host: str, settings: EwsSettings, path: str) -> Page:
    url = httpx.URL(base_url(host, settings.scheme, settings.port) + path)
    for _hop in range(settings.max_redirects + 1):
        response = await _send(client, url, settings)
        try:
            if response.is_redirect:
                url = _follow(url, response, settings)
                continue
            _check_status(response)
            body = await _read_body(response, settings.max_page_bytes)
        finally:
            await response.aclose()
        return Page(path, body, response.charset_encoding)
    raise EwsRedirectError(f"more than {settings.max_redirects} redirects")


async def _send(client: httpx.AsyncClient, url: httpx.URL, settings: EwsSettings) -> httpx.Response:
    """One GET, answering a digest challenge (or sending basic auth) when a credential is set.
    The flow is driven here so that a 401's body is never read, whatever its size."""
    request = client.build_request("GET", url)
    creds = settings.credentials
    if creds is None:
        return await client.send(request, stream=True)
    auth: httpx.Auth
    if creds.auth == "basic":
        auth = httpx.BasicAuth(creds.username, creds.password.reveal())
    else:
        auth = httpx.DigestAuth(creds.username, creds.password.reveal())
    flow = auth.sync_auth_flow(request)
    response = await client.send(next(flow), stream=True)
    try:
        retry = flow.send(response)
    except StopIteration:
        return response
    await response.aclose()
    return await client.send(retry, stream=True)


def _follow(url: httpx.URL, response: httpx.Response, settings: EwsSettings) -> httpx.URL:
    """The redirect's target, if the rules allow it: same host; same scheme and port, or an
    upgrade from http to https on port 443 when `https_upgrade` is set."""
    location = response.headers.get("location", "")
    target = url.join(location)
    if target.host != url.host:
        raise EwsRedirectError(f"redirect to another host refused: {_shown(target)}")
    same = target.scheme == url.scheme and target.port == url.port
    upgrade = (
        settings.https_upgrade
        and url.scheme == "http"
        and target.scheme == "https"
        and target.port in (None, 443)
    )
    if not (same or upgrade):
        raise EwsRedirectError(f"redirect to another scheme or port refused: {_shown(target)}")
    return target


def _shown(url: httpx.URL) -> str:
    return str(url.copy_with(query=None, fragment=None))[:120]


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status in (401, 403):
        what = "no ews credential set" if status == 401 else "access forbidden"
        raise EwsAuthError(f"HTTP {status} ({what}, or the wrong one)")
    if not 200 <= status < 300:
        raise EwsHttpError(f"HTTP {status}")


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """The body, decoded, at most `limit` bytes before and after decoding."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    decoder = _decoder(encoding)
    out = bytearray()
    raw = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if raw > limit:
            raise EwsTooLarge(f"page larger than {limit:,} bytes; not read")
        out += _inflate(decoder, chunk, limit - len(out)) if decoder else chunk
        if len(out) > limit:
            raise EwsTooLarge(f"page larger than {limit:,} bytes; not read")
    if decoder is not None:
        try:
            out += decoder.flush(limit - len(out) + 1)
        except zlib.error as exc:
            raise EwsHttpError(f"a broken {encoding} body ({exc})") from None
        if len(out) > limit or decoder.unconsumed_tail:
            raise EwsTooLarge(f"page larger than {limit:,} bytes once decompressed; not read")
    return bytes(out)


def _decoder(encoding: str) -> zlib._Decompress | None:
    if encoding in ("identity", ""):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise EwsHttpError(f"content encoding {encoding[:30]!r} is not read (gzip, deflate only)")


def _inflate(decoder: zlib._Decompress, chunk: bytes, room: int) -> bytes:
    """Decompress `chunk` producing at most `room` + 1 bytes: past that the page is too
    large anyway, so the rest is never expanded."""
    try:
        data = decoder.decompress(chunk, room + 1)
    except zlib.error as exc:
        raise EwsHttpError(f"a broken compressed body ({exc})") from None
    if decoder.unconsumed_tail:
        raise EwsTooLarge(f"page larger than {room:,} more bytes once decompressed; not read")
    return data
