"""The archive's agent API (docs/archive-api.md) as three calls: upload, fetch config, report.

Every answer is sorted here into the error tree of `errors`, so the callers
decide on categories, not status codes:

- 2xx: done;
- 408, 425, 429, 5xx, and anything on the wire: `TransientError` (try again later,
  after Retry-After when the archive sent one);
- 401, 403, 404, 407, and a redirect (which we never follow: it would take the
  token with it): `AgentRefused`. The token or the URL is wrong, so every
  request would fail alike; the batches stay queued until the operator fixes it;
- any other 4xx: `BatchRefused`. This request is wrong and will stay wrong.

The token is sent only here, only in the Authorization header, and never
logged: httpx logs the method, URL and status line, not headers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from pull_sync import __version__
from pull_sync.backoff import parse_retry_after
from pull_sync.config import ArchiveConfig
from pull_sync.errors import AgentRefused, BatchRefused, TransientError
from pull_sync.transport import ArchiveTransport, archive_ssl_context

LATEST_AGENT_HEADER = "X-Archive-Latest-Agent"
USER_AGENT = f"pull-sync/{__version__}"
_AGENT_WIDE = frozenset({401, 403, 404, 407})
_RETRYABLE_4XX = frozenset({408, 425, 429})
_MAX_ERROR_TEXT = 300


@dataclass(frozen=True, slots=True)
class Uploaded:
    status: int
    stored: int | None
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Fetched:
    """A check-in's answer: 200 with an envelope (unread: `bundle.verify_envelope` checks
    it), 304 (nothing new) or 404 (nothing published for this agent)."""

    status: int
    body: bytes = b""
    etag: str | None = None


class ArchiveClient:
    def __init__(
        self,
        config: ArchiveConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        on_latest_agent: Callable[[str], None] | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._on_latest = on_latest_agent
        self._client = httpx.AsyncClient(
            transport=transport or ArchiveTransport(config, archive_ssl_context(config)),
            timeout=config.timeout,
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def upload(self, key: str, body: bytes) -> Uploaded:
        """POST one gzip batch. Raise an ArchiveError subclass unless the archive took it."""
        response = await self._send(
            "POST",
            "/api/v1/snapshots",
            content=body,
            headers={
                "Idempotency-Key": key,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
        )
        doc = _json(response)
        stored = doc.get("stored") if isinstance(doc, dict) else None
        duplicate = doc.get("duplicate") if isinstance(doc, dict) else None
        return Uploaded(
            response.status_code,
            stored if isinstance(stored, int) and not isinstance(stored, bool) else None,
            duplicate is True,
        )

    async def fetch_config(self, etag: str | None) -> Fetched:
        """GET the signed envelope, sending `etag` as If-None-Match."""
        headers = {"If-None-Match": etag} if etag else {}
        response = await self._send("GET", "/api/v1/config", headers=headers, expect=(304, 404))
        if response.status_code in (304, 404):
            return Fetched(response.status_code)
        return Fetched(response.status_code, response.content, response.headers.get("ETag"))

    async def report(self, version: int, bundle_hash: str, status: str, error: str | None) -> None:
        """POST the outcome of applying a bundle (`applied` or `failed`)."""
        body = {
            "version": version,
            "hash": bundle_hash,
            "status": status,
            "error": None if error is None else error[:1000],
        }
        await self._send("POST", "/api/v1/config/status", json=body)

    async def _send(
        self, method: str, path: str, *, expect: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._config.token.reveal()}"}
        headers.update(kwargs.pop("headers", {}))
        response = await self._client.request(
            method, self._config.endpoint(path), headers=headers, **kwargs
        )
        latest = response.headers.get(LATEST_AGENT_HEADER)
        if latest and self._on_latest is not None:
            self._on_latest(latest.strip()[:64])
        if response.status_code not in expect:
            check_status(response, self._clock())
        return response


def check_status(response: httpx.Response, now: float) -> None:
    """Raise the error a non-2xx answer stands for (see the module docstring)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = error_text(response)
    if status in _RETRYABLE_4XX or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        raise TransientError(f"the archive answered {status}: {reason}", status, retry_after)
    if status in _AGENT_WIDE:
        raise AgentRefused(
            f"the archive refuses this agent ({status}: {reason}); check archive.url and"
            " archive.token_file. Batches stay queued.",
            status,
        )
    if 300 <= status < 400:
        raise AgentRefused(
            f"the archive redirects ({status}) to {response.headers.get('Location', '?')!r};"
            " set archive.url to the final address (redirects are not followed)",
            status,
        )
    if 400 <= status < 500:
        raise BatchRefused(f"the archive refused it ({status}): {reason}", status)
    raise TransientError(f"the archive answered {status}", status)


def error_text(response: httpx.Response) -> str:
    """The archive's one-line reason: `{"error": ...}`, else the start of the text."""
    doc = _json(response)
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        text = doc["error"]
    else:
        text = response.content[:_MAX_ERROR_TEXT].decode("utf-8", "replace")
    line = " ".join(text.split())
    printable = "".join(ch if ch.isprintable() else "?" for ch in line)
    return printable[:_MAX_ERROR_TEXT] or response.reason_phrase or "no reason given"


def _json(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        return None
