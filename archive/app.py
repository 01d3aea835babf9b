"""The archive's HTTP API (docs/archive-api.md), a Starlette app over one database engine.

    app = build_app(engine)         # serve it with archive.server

Routes, and who may call them:

- an agent (Bearer token): `POST /api/v1/snapshots`, `GET /api/v1/config`,
  `POST /api/v1/config/status`;
- an admin (HTTP basic, bcrypt): `GET /api/v1/agents`, `GET /api/v1/export`;
- anyone: `GET /openapi.json`, `/-/healthy`, `/-/ready`;
- a signed-in console session (a cookie, never an Authorization header): the
  dealer's web console under `/console/` (archive/console/).

Every answer the API refuses is a 4xx with `{"error": "one line"}`; the only
5xx is 503 (with Retry-After) when the database is down, which an agent
retries. Handlers do no blocking work on the event loop: database calls,
bcrypt and JSON parsing run in worker threads, parsing and bcrypt under small
limiters, so a flood of large batches or password guesses cannot take every
thread or every byte of memory. Nothing is kept between requests: any number
of these processes can serve one PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from archive import auth, db, export, ingest, store
from archive.console import ConsoleSettings, console_routes
from archive.errors import BadRequest, StorageError
from archive.store import AgentInfo, AgentRef
from archive.times import format_time, parse_bound

log = logging.getLogger("archive.app")

OPENAPI: Final = Path(__file__).parent / "openapi.json"
MAX_STATUS_BYTES: Final = 64 * 1024
MAX_ERROR_CHARS: Final = 1000
LATEST_HEADER: Final = "X-Archive-Latest-Agent"
USER_AGENT_RE: Final = re.compile(r"pull-sync/([0-9A-Za-z.+_-]{1,64})(?:\s|$)")
SHA256_RE: Final = re.compile(r"sha256:[0-9a-f]{64}")
RETRY_AFTER_SECONDS: Final = 30
PARSERS: Final = 2
"""Batches parsed at once per process: a 64 MiB body can take ~10x that in memory."""
BCRYPT_CHECKS: Final = 2
"""Password checks at once per process: each holds a core for ~0.2 s."""


def agent_version(user_agent: str | None) -> str | None:
    """`pull-sync/1.4.0 (linux)` -> `1.4.0`; None for any other client."""
    if not user_agent:
        return None
    found = USER_AGENT_RE.match(user_agent.strip())
    return found.group(1) if found else None


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of `If-None-Match` against our (strong) ETag. A tag
    without its quotes (`sha256:...`, as an agent may have stored the hash) matches too."""
    if if_none_match is None:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == etag or f'"{tag}"' == etag:
            return True
    return False


def error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


class _Api:
    """The handlers, bound to one engine."""

    def __init__(self, engine: Engine, decoy_cost: int) -> None:
        self.engine = engine
        self.parsers = anyio.CapacityLimiter(PARSERS)
        self.bcrypt = anyio.CapacityLimiter(BCRYPT_CHECKS)
        self.decoy = auth.decoy_hash(decoy_cost)
        self.openapi = OPENAPI.read_bytes()

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(func, *args)

    # --- who is asking ------------------------------------------------------------------

    async def agent(self, request: Request) -> tuple[AgentRef, dict[str, str]]:
        """The agent of a request's bearer token, and the headers every agent answer
        carries; 401 otherwise. Basic credentials are refused here, as tokens are on the
        admin routes."""
        token = auth.bearer_token(request.headers.get("authorization"))
        found = None if token is None else await self.run(store.agent_by_token, self.engine, token)
        if found is None:
            raise BadRequest(
                401,
                "an agent token is required: Authorization: Bearer pa1_...",
                {"WWW-Authenticate": 'Bearer realm="printer-archive"'},
            )
        release = await self.run(store.get_release, self.engine)
        return found, ({LATEST_HEADER: release} if release else {})

    async def admin(self, request: Request) -> str:
        """The admin name of a request's basic credentials; 401 otherwise."""
        credentials = auth.basic_credentials(request.headers.get("authorization"))
        if credentials is not None:
            name, password = credentials
            known = auth.NAME_RE.fullmatch(name) is not None  # garbage never reaches the db
            hashed = await self.run(store.admin_hash, self.engine, name) if known else None
            ok = await anyio.to_thread.run_sync(
                auth.check_password, password, hashed or self.decoy, limiter=self.bcrypt
            )
            if ok and hashed is not None:
                return name
            # The name only when it is an admin's: a password typed into the name field
            # must not end up in the log.
            who = repr(name) if hashed is not None else "an unknown name"
            log.warning("admin sign-in failed for %s from %s", who, _peer(request))
        raise BadRequest(
            401,
            "admin credentials are required (HTTP basic)",
            {"WWW-Authenticate": 'Basic realm="printer-archive", charset="UTF-8"'},
        )

    # --- agent API ----------------------------------------------------------------------

    async def snapshots(self, request: Request) -> Response:
        agent, headers = await self.agent(request)
        key = ingest.check_key(request.headers.get("idempotency-key"))
        _require_json(request)
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise BadRequest(415, f"Content-Encoding must be gzip or absent, got {encoding!r}")
        body = await read_body(request, ingest.MAX_WIRE_BYTES)
        batch = await anyio.to_thread.run_sync(
            lambda: ingest.parse_batch(body, gzipped=encoding == "gzip"), limiter=self.parsers
        )
        version = agent_version(request.headers.get("user-agent"))
        result = await self.run(ingest.store_batch, self.engine, agent.id, key, batch, version)
        if result.duplicate and not result.same_body:
            log.warning(
                "agent %s repeated Idempotency-Key %s with a different body; kept the first",
                agent.name,
                key,
            )
        log.info(
            "batch from agent %s key %s: %d snapshots%s",
            agent.name,
            key,
            result.stored,
            " (duplicate, nothing stored)" if result.duplicate else "",
        )
        return JSONResponse(result.body(), headers=headers)

    async def config(self, request: Request) -> Response:
        agent, headers = await self.agent(request)
        version = agent_version(request.headers.get("user-agent"))
        await self.run(store.record_checkin, self.engine, agent.id, version)
        envelope = await self.run(store.latest_bundle, self.engine, agent.id)
        if envelope is None:
            return error(404, f"no config was ever published for agent {agent.name}", headers)
        headers = {**headers, "ETag": envelope.etag, "Cache-Control": "no-cache"}
        if etag_matches(request.headers.get("if-none-match"), envelope.etag):
            return Response(status_code=304, headers=headers)
        return JSONResponse(envelope.to_json(), headers=headers)

    async def config_status(self, request: Request) -> Response:
        agent, headers = await self.agent(request)
        _require_json(request)
        body = await read_body(request, MAX_STATUS_BYTES)
        status = parse_status(body)
        await self.run(
            lambda: store.record_status(
                self.engine,
                agent.id,
                agent_version=agent_version(request.headers.get("user-agent")),
                **status,
            )
        )
        log.info("agent %s config version %d: %s", agent.name, status["version"], status["status"])
        return Response(status_code=204, headers=headers)

    # --- admin API ----------------------------------------------------------------------

    async def agents(self, request: Request) -> Response:
        await self.admin(request)
        rows: list[AgentInfo] = await self.run(store.list_agents, self.engine)
        return JSONResponse({"agents": [agent_json(row) for row in rows]})

    async def export(self, request: Request) -> Response:
        await self.admin(request)
        params = request.query_params
        start_text, end_text = params.get("from"), params.get("to")
        fmt = params.get("format", "json")
        if start_text is None or end_text is None:
            raise BadRequest(400, "from and to are required: ?from=2026-12-01&to=2026-12-31")
        try:
            start = parse_bound(start_text, end=False)
            end = parse_bound(end_text, end=True)
        except ValueError as problem:
            raise BadRequest(400, f"from/to: {problem}") from None
        if end <= start:
            raise BadRequest(400, f"to ({end_text!r}) must be after from ({start_text!r})")
        if fmt not in ("csv", "json"):
            raise BadRequest(400, f"format must be csv or json, got {fmt[:40]!r}")
        rows = await self.run(export.billing_rows, self.engine, start, end)
        if fmt == "json":
            return JSONResponse(export.to_json(rows, start, end))
        name = f"meter-reads-{start.date().isoformat()}-{end.date().isoformat()}.csv"
        return Response(
            export.to_csv(rows, start, end),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # --- open routes --------------------------------------------------------------------

    async def openapi_json(self, request: Request) -> Response:
        return Response(self.openapi, media_type="application/json")

    async def healthy(self, request: Request) -> Response:
        return PlainTextResponse("Printer Archive is Healthy.\n")

    async def ready(self, request: Request) -> Response:
        try:
            await self.run(db.check_schema, self.engine)
        except StorageError as problem:
            return PlainTextResponse(f"Not ready: {problem}\n", status_code=503)
        return PlainTextResponse("Printer Archive is Ready.\n")


def agent_json(row: AgentInfo) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return None if value is None else format_time(value)

    return {
        "name": row.name,
        "created_at": when(row.created_at),
        "last_checkin_at": when(row.last_checkin_at),
        "last_upload_at": when(row.last_upload_at),
        "agent_version": row.agent_version,
        "config": {
            "published_version": row.published_version,
            "version": row.config_version,
            "hash": row.config_hash,
            "status": row.config_status,
            "error": row.config_error,
            "reported_at": when(row.config_reported_at),
        },
        "snapshots_stored": row.snapshots_stored,
    }


def parse_status(body: bytes) -> dict[str, Any]:
    """A confirm-back body, checked -> keyword arguments of `store.record_status`.

    Unknown keys are ignored (an agent may send more); control characters in
    `error` become spaces, so it stays one line."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(400, "body is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise BadRequest(422, "body must be an object {version, hash, status, error}")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**63:
        raise BadRequest(422, f"version: must be an integer 0..2^63-1, got {_show(version)}")
    sha = data.get("hash")
    if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
        raise BadRequest(422, f"hash: must be sha256:<64 hex digits>, got {_show(sha)}")
    status = data.get("status")
    if status not in ("applied", "failed"):
        raise BadRequest(422, f"status: must be applied or failed, got {_show(status)}")
    problem = data.get("error")
    if problem is not None:
        if not isinstance(problem, str):
            raise BadRequest(422, f"error: must be a string or null, got {_show(problem)}")
        if len(problem) > MAX_ERROR_CHARS:
            raise BadRequest(422, f"error: at most {MAX_ERROR_CHARS} characters")
        problem = "".join(c if c.isprintable() else " " for c in problem)
        problem = problem.encode("utf-8", "replace").decode("utf-8")
    return {"version": version, "sha256": sha, "status": status, "error": problem}


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes (by its
    Content-Length before reading, or while reading a chunked one)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.strip().isdigit() or int(length) > limit):
        raise BadRequest(413, f"body is over {limit} bytes", {"Connection": "close"})
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadRequest(413, f"body is over {limit} bytes", {"Connection": "close"})
            chunks.append(chunk)
    except ClientDisconnect:
        raise BadRequest(400, "the client went away before the body was complete") from None
    return b"".join(chunks)


def _require_json(request: Request) -> None:
    kind = request.headers.get("content-type")
    if kind is not None and kind.split(";")[0].strip().lower() != "application/json":
        raise BadRequest(415, f"Content-Type must be application/json, got {kind[:60]!r}")


def _show(value: object) -> str:
    text = (
        json.dumps(value)
        if value is None or isinstance(value, str | int | float)
        else (type(value).__name__)
    )
    return text if len(text) <= 60 else text[:56] + "..."


def _peer(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- errors as JSON ---------------------------------------------------------------------


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return error(exc.status, exc.reason, exc.headers)


async def _storage(request: Request, exc: Exception) -> Response:
    log.error("storage unavailable: %s", exc)
    return error(
        503,
        "the archive's database is unavailable; retry later",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reason = {404: "no such route", 405: "method not allowed"}.get(exc.status_code, exc.detail)
    return error(exc.status_code, reason, dict(exc.headers or {}))


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(500, "internal error")


def build_app(
    engine: Engine,
    *,
    decoy_cost: int = auth.BCRYPT_COST,
    console: ConsoleSettings | None = None,
) -> Starlette:
    """The API and the console over `engine`. `decoy_cost` is the bcrypt cost of the hash an
    unknown admin name is checked against: the admins' own cost, so a wrong name takes as
    long as a wrong password (tests lower both). `console` sets session and lockout
    times (the documented defaults when None)."""
    api = _Api(engine, decoy_cost)
    routes: list[BaseRoute] = [
        Route("/api/v1/snapshots", api.snapshots, methods=["POST"]),
        Route("/api/v1/config", api.config, methods=["GET"]),
        Route("/api/v1/config/status", api.config_status, methods=["POST"]),
        Route("/api/v1/agents", api.agents, methods=["GET"]),
        Route("/api/v1/export", api.export, methods=["GET"]),
        Route("/openapi.json", api.openapi_json, methods=["GET"]),
        Route("/-/healthy", api.healthy, methods=["GET"]),
        Route("/-/ready", api.ready, methods=["GET"]),
        console_routes(engine, console or ConsoleSettings(), api.bcrypt, api.decoy),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        BadRequest: _bad_request,
        StorageError: _storage,
        HTTPException: _http,
        Exception: _internal,
    }
    return Starlette(routes=routes, exception_handlers=handlers)
