"""The local exporter, as pull_sync uses it: read `/api/v1/snapshot`, `POST /-/reload`.

Loopback only (the config refuses anything else), no proxy from the
environment (a site's HTTP_PROXY must not carry loopback traffic away), and the
snapshot body is bounded: 10,000 devices are about 30 MB of JSON, so 512 MiB
means a broken exporter, not a big site.
"""

from __future__ import annotations

import asyncio
import ssl
import time

import httpx

from pull_sync.archive import USER_AGENT
from pull_sync.backoff import parse_retry_after
from pull_sync.config import ExporterConfig
from pull_sync.errors import ExporterError

MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024
RELOAD_TRIES = 3
"""A reload refused with 429 (the exporter's reload rate limit) is tried this often."""
RELOAD_WAIT_CEILING = 30.0


class ExporterClient:
    def __init__(
        self, config: ExporterConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._config = config
        verify: ssl.SSLContext | bool = True
        if config.ca_file is not None:
            verify = ssl.create_default_context(cafile=str(config.ca_file))
        auth = None
        if config.username is not None and config.password is not None:
            auth = httpx.BasicAuth(config.username, config.password.reveal())
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=verify,
            auth=auth,
            timeout=config.timeout,
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def snapshots(self) -> bytes:
        """The raw JSON list of printer-snapshot/1 documents. Raise ExporterError."""
        url = self._config.endpoint("/api/v1/snapshot")
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise ExporterError(
                        f"the exporter answered {response.status_code} at {url}:"
                        f" {_line(response.text)}"
                    )
                parts: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_SNAPSHOT_BYTES:
                        raise ExporterError(
                            f"the snapshot list is larger than {MAX_SNAPSHOT_BYTES:,} bytes"
                        )
                    parts.append(chunk)
                return b"".join(parts)
        except httpx.HTTPError as error:
            raise ExporterError(f"cannot read snapshots from {url}: {_describe(error)}") from None

    async def reload(self) -> tuple[bool, str]:
        """Ask the exporter to reload its config: (accepted, its one-line message).

        Raise ExporterError when it cannot be asked at all (not running, timeout),
        which is not the same as a reload it refused.
        """
        url = self._config.endpoint("/-/reload")
        for attempt in range(RELOAD_TRIES):
            try:
                response = await self._client.post(url)
            except httpx.HTTPError as error:
                raise ExporterError(f"cannot reach {url}: {_describe(error)}") from None
            if response.status_code == 429 and attempt + 1 < RELOAD_TRIES:
                wait = parse_retry_after(response.headers.get("Retry-After"), time.time()) or 1.0
                await asyncio.sleep(min(wait, RELOAD_WAIT_CEILING))
                continue
            message = _line(response.text)
            if 200 <= response.status_code < 300:
                return True, message or "reloaded"
            return False, f"{response.status_code}: {message or 'no reason given'}"
        return False, "the exporter kept refusing the reload (429)"  # pragma: no cover


def _line(text: str) -> str:
    return " ".join(text.split())[:300]


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text.splitlines()[0][:200]}"
