"""Real servers on 127.0.0.1 for pull_sync's tests: a test archive, a fake exporter, uvicorn.

Why a test archive of our own beside the real `archive` package: the fault
tests need an archive that can be told to fail in exact ways (refuse, answer
503 with Retry-After, hold a request before or after it commits, send a
chosen bundle) and that records what reached it. It speaks archive-api/1 as
docs/archive-api.md writes it; tests/pull_sync/test_real_archive.py runs the
same sidecar against the real `printer-archive` as well.

Everything listens on 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from pull_sync.bundle import key_id

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 15.0
GATE_TIMEOUT = 30.0


@dataclass(frozen=True)
class ServerTls:
    certfile: str
    keyfile: str
    client_ca: str | None = None
    """When set, a client certificate signed by this CA is required."""


@dataclass
class Running:
    url: str
    port: int
    server: uvicorn.Server


@contextmanager
def serve(app: ASGIApp, *, port: int = 0, tls: ServerTls | None = None) -> Iterator[Running]:
    """Run `app` under uvicorn on 127.0.0.1 in a thread; stop it on exit."""
    kwargs: dict[str, Any] = {}
    if tls is not None:
        kwargs = {"ssl_certfile": tls.certfile, "ssl_keyfile": tls.keyfile}
        if tls.client_ca is not None:
            kwargs.update(ssl_ca_certs=tls.client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=port,
        log_level="critical",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=2,
        **kwargs,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="pull-sync-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    scheme = "https" if tls is not None else "http"
    try:
        yield Running(f"{scheme}://{LOOPBACK}:{bound}", bound, server)
    finally:
        server.should_exit = True
        thread.join(10)


# --- the test archive --------------------------------------------------------------------


@dataclass
class Gate:
    """Holds one upload at a point (before reading the body, or after committing it) until
    the test releases it: the window in which the tests kill the sidecar."""

    where: str  # "before_body" | "after_commit"
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    used: bool = False


@dataclass
class Stored:
    key: str
    snapshots: list[dict[str, Any]]


class TestArchive:
    """An archive-api/1 server with switchable faults and a record of what reached it."""

    __test__ = False

    def __init__(self, token: str = "pa1_test-token") -> None:
        self.token = token
        self.lock = threading.Lock()
        self.batches: dict[str, Stored] = {}
        self.posts: Counter[str] = Counter()
        """POSTs per idempotency key, answered or not."""
        self.duplicates: Counter[str] = Counter()
        """POSTs answered `duplicate: true`: a key the archive had stored already."""
        self.requests: list[tuple[str, str]] = []
        self.user_agents: set[str] = set()
        self.statuses: list[dict[str, Any]] = []
        self.checkins = 0
        self.mode = "ok"
        """ok | 503 | 400 | 401 | 429"""
        self.retry_after: str | None = None
        self.latest_agent: str | None = None
        self.gate: Gate | None = None
        self.status_failures = 0
        """Confirmations to answer 503 before accepting one."""
        self.envelope: bytes | None = None
        self.etag: str | None = None
        self.app = Starlette(
            routes=[
                Route("/api/v1/snapshots", self._snapshots, methods=["POST"]),
                Route("/api/v1/config", self._config, methods=["GET"]),
                Route("/api/v1/config/status", self._status, methods=["POST"]),
            ]
        )

    # --- what tests set ------------------------------------------------------------

    def publish(self, envelope: bytes) -> None:
        """Serve this envelope (JSON bytes) from GET /api/v1/config."""
        doc = json.loads(envelope)
        bundle = (
            base64.b64decode(doc["bundle"])
            if isinstance(doc, dict) and "bundle" in doc
            else envelope
        )
        with self.lock:
            self.envelope = envelope
            self.etag = f'"sha256:{hashlib.sha256(bundle).hexdigest()}"'

    def snapshot_count(self) -> int:
        with self.lock:
            return sum(len(stored.snapshots) for stored in self.batches.values())

    # --- handlers ------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"X-Archive-Latest-Agent": self.latest_agent} if self.latest_agent else {}

    def _authorized(self, request: Request) -> bool:
        self.user_agents.add(request.headers.get("user-agent", ""))
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _snapshots(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key", "")
        with self.lock:
            self.requests.append(("POST", key))
            self.posts[key] += 1
            gate = self.gate if self.gate is not None and not self.gate.used else None
            if gate is not None:
                gate.used = True
        if not self._authorized(request):
            return JSONResponse({"error": "unknown token"}, 401)
        if self.mode != "ok":
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            code = int(self.mode)
            return JSONResponse({"error": f"mode {code}"}, code, headers=headers)
        if gate is not None and gate.where == "before_body":
            gate.arrived.set()
            await anyio.to_thread.run_sync(gate.release.wait, GATE_TIMEOUT)
        try:
            body = await request.body()
        except ClientDisconnect:
            return Response(status_code=400)
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        doc = json.loads(body)
        snapshots = doc["snapshots"]
        if not all(s.get("schema") == "printer-snapshot/1" for s in snapshots):
            return JSONResponse({"error": "not printer-snapshot/1"}, 422)
        with self.lock:
            duplicate = key in self.batches
            if duplicate:
                self.duplicates[key] += 1
            else:
                self.batches[key] = Stored(key, snapshots)
        if gate is not None and gate.where == "after_commit":
            gate.arrived.set()
            await anyio.to_thread.run_sync(gate.release.wait, GATE_TIMEOUT)
        return JSONResponse(
            {"batch": key, "stored": 0 if duplicate else len(snapshots), "duplicate": duplicate},
            headers=self._headers(),
        )

    async def _config(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(("GET", "/api/v1/config"))
            self.checkins += 1
        if not self._authorized(request):
            return JSONResponse({"error": "unknown token"}, 401)
        if self.envelope is None or self.etag is None:
            return JSONResponse({"error": "no bundle"}, 404, headers=self._headers())
        if request.headers.get("if-none-match") == self.etag:
            return Response(status_code=304, headers={"ETag": self.etag, **self._headers()})
        return Response(
            self.envelope,
            media_type="application/json",
            headers={"ETag": self.etag, **self._headers()},
        )

    async def _status(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(("POST", "/api/v1/config/status"))
        if not self._authorized(request):
            return JSONResponse({"error": "unknown token"}, 401)
        body = json.loads(await request.body())
        with self.lock:
            if self.status_failures > 0:
                self.status_failures -= 1
                return JSONResponse({"error": "busy"}, 503)
            self.statuses.append(body)
        return Response(status_code=204)


# --- signing bundles ----------------------------------------------------------------------


class Signer:
    """The operator's Ed25519 key, signing bundles as `printer-archive config publish` does."""

    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()
        from cryptography.hazmat.primitives import serialization

        self.public = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def envelope(
        self, bundle: dict[str, Any] | bytes, *, key_id_override: str | None = None
    ) -> bytes:
        data = bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode()
        return json.dumps(
            {
                "bundle": base64.b64encode(data).decode(),
                "signature": base64.b64encode(self.private.sign(data)).decode(),
                "key_id": key_id_override or key_id(self.public),
            }
        ).encode()


# --- the fake exporter ---------------------------------------------------------------------


class FakeExporter:
    """The exporter's two endpoints pull_sync uses: the snapshot API and /-/reload."""

    def __init__(self, reload: Callable[[], tuple[bool, str]] | None = None) -> None:
        self.body = b"[]"
        self.reloads = 0
        self.reload_results: list[tuple[bool, str]] = []
        """Answers to give, first to last, before falling back to `reload`."""
        self._reload = reload or (lambda: (True, "config reloaded"))
        self.app = Starlette(
            routes=[
                Route("/api/v1/snapshot", self._snapshot, methods=["GET"]),
                Route("/-/reload", self._reload_route, methods=["POST"]),
            ]
        )

    def set_snapshots(self, docs: list[dict[str, Any]]) -> None:
        self.body = json.dumps(docs).encode()

    async def _snapshot(self, request: Request) -> Response:
        return Response(self.body, media_type="application/json")

    async def _reload_route(self, request: Request) -> Response:
        self.reloads += 1
        ok, message = self.reload_results.pop(0) if self.reload_results else self._reload()
        return PlainTextResponse(message, 200 if ok else 500)


# --- a bare TLS listener -------------------------------------------------------------------


class RawTlsServer:
    """Accepts TLS on 127.0.0.1 and counts the application bytes clients send after the
    handshake: the proof that a client which refuses the server sends nothing at all."""

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certfile, keyfile)
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self.handshakes = 0
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raw-tls", daemon=True)

    def __enter__(self) -> RawTlsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.sock.close()

    def _run(self) -> None:
        deadline = time.monotonic() + 120
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    end = time.monotonic() + 5
                    while time.monotonic() < end:
                        data = tls.recv(65536)
                        if not data:
                            break
                        self.received += len(data)
            except (OSError, ssl.SSLError):
                conn.close()
