"""The exporter's HTTP side: one Starlette app, served by uvicorn in the exporter's loop.

    app = build_app(service, WebSettings())
    config = uvicorn_config(app, ":9269", load_web_config(path))   # or web_config=None
    await WebServer(config).serve()               # beside the poller, same loop

Routes (docs/web.md): `/metrics`, `/` and `/device/{target}`, `/-/healthy`,
`/-/ready`, `POST /-/reload`, `/api/v1/snapshot`, `/probe?target=`.

What a hostile client may cost is bounded by `WebLimits` (exporter/web/limits.py):
`uvicorn_config` applies the connection limits and the body cap, `build_app`
the reload rate. Serve with `WebServer`, which also keeps connection trouble
out of the log.

Nothing here talks to a printer except `/probe`, and that only through
`WebService.probe`, which decides whether a target given by a remote user may
be probed at all (`ProbeRefused` -> 400). Everything else reads the snapshots
the poller already took, so a scrape or a page view never waits on SNMP.

Why `uvicorn_config` and not `build_app` takes the web config: the same call
that turns on TLS also wraps the app in basic auth and the configured headers,
so a server cannot be started with the config's TLS but without its users.

Errors: `exporter.service.ProbeRefused(ValueError)`, raised
by a `WebService` and turned into HTTP 400 here. (`TooManyReloads`, from
`exporter.web.limits`, becomes HTTP 429.)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import quote, urlsplit

import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from exporter import __version__
from exporter.metrics import ExporterState, render
from exporter.model import Snapshot
from exporter.readers.decode import SEVERE_ERRORS
from exporter.service import ProbeRefused
from exporter.store import DeviceEntry
from exporter.web.clients import client_host, cross_origin, snapshot_api_allowed
from exporter.web.limits import BodyLimitMiddleware, ReloadGate, TooManyReloads, WebLimits
from exporter.web.security import (
    AUTH_USER_KEY,
    BasicAuthMiddleware,
    HeadersMiddleware,
    WebConfigFile,
)
from exporter.web.server import GuardedConfig, guarded_config

METRICS_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format: what every Prometheus since 2.0 and snmp_exporter speak."""

_TEMPLATES: Final = Path(__file__).parent / "templates"
_PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "deny",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Pages show agent-supplied text: even if escaping ever failed, no script would run."""


def negotiate(accept: str | None) -> tuple[bool, str]:
    """(OpenMetrics?, the content type), decided as client_python's `choose_encoder` does:
    OpenMetrics when the scraper asks for it (Prometheus does, first), text 0.0.4 else."""
    _, content_type = choose_encoder(accept or "")
    return content_type.startswith("application/openmetrics-text"), content_type


class WebService(Protocol):
    """What the web app needs from the running exporter; the service implements it.

    Every method but `reload` and `probe` is called on the event loop and must
    not block: it reads the snapshot store, it never polls.
    """

    def state(self) -> ExporterState:
        """Everything `/metrics` shows, built from the store now."""
        ...

    async def metrics_body(self, *, openmetrics: bool = False) -> bytes:
        """The `/metrics` body for the current state, in text 0.0.4 or OpenMetrics.

        The service owns rendering so that it can keep the render cache warm in
        the background as polls land: a scrape then formats only the devices
        polled since the last render, however large the fleet.
        """
        ...

    def entries(self) -> Sequence[DeviceEntry]:
        """Every device the exporter polls, sorted by target, masking already applied."""
        ...

    def entry(self, target: str) -> DeviceEntry | None:
        """One device by its (masked) target as shown on the pages, or None."""
        ...

    def ready(self) -> bool:
        """True once the first poll cycle has finished."""
        ...

    async def reload(self) -> tuple[bool, str]:
        """Reload the config; (ok, message). A failed reload keeps the old config."""
        ...

    async def probe(self, target: str, params: Mapping[str, str]) -> Snapshot:
        """Poll one target now. Raise ProbeRefused for a target the config does not allow:
        the target comes from a remote user. `params` are the other query parameters."""
        ...


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the app behaves, from the exporter config (`web:`); TLS and users come from the
    separate `--web.config.file` instead, given to `uvicorn_config`."""

    snapshot_api_loopback_only: bool = True
    """Serve /api/v1/snapshot only to loopback clients, or to clients that passed basic auth."""
    probe_enabled: bool = True
    external_url: str | None = None
    """The URL users reach the exporter at; its path is the route prefix unless one is given."""
    route_prefix: str | None = None

    @property
    def prefix(self) -> str:
        """'' or '/path', without a trailing slash."""
        raw = self.route_prefix
        if raw is None:
            raw = urlsplit(self.external_url).path if self.external_url else ""
        return "/" + raw.strip("/") if raw.strip("/") else ""


def build_app(
    service: WebService, settings: WebSettings, limits: WebLimits | None = None
) -> Starlette:
    """The ASGI app. TLS, basic auth and configured headers are added by `uvicorn_config`;
    `limits` gives the reload rate (the documented defaults when None)."""
    handlers = _Handlers(service, settings, limits or WebLimits())
    routes: list[BaseRoute] = [
        Route("/", handlers.landing, methods=["GET"]),
        Route("/device/{target:path}", handlers.device, methods=["GET"]),
        Route("/metrics", handlers.metrics, methods=["GET"]),
        Route("/-/healthy", handlers.healthy, methods=["GET"]),
        Route("/-/ready", handlers.ready, methods=["GET"]),
        Route("/-/reload", handlers.reload, methods=["POST"]),
        Route("/api/v1/snapshot", handlers.snapshot_api, methods=["GET"]),
        Route("/probe", handlers.probe, methods=["GET"]),
        Route("/static/style.css", handlers.stylesheet, methods=["GET"]),
    ]
    if settings.prefix:
        routes = [Mount(settings.prefix, routes=routes)]
    return Starlette(routes=routes, exception_handlers={404: handlers.not_found})


def uvicorn_config(
    app: ASGIApp,
    listen_address: str,
    web_config: WebConfigFile | None,
    limits: WebLimits | None = None,
) -> GuardedConfig:
    """A uvicorn config for `app` on `listen_address` ('host:port', '[v6]:port', ':port'),
    held to `limits` (the documented defaults when None); serve it with `WebServer`.

    Wraps the app in the web config's basic auth and headers, the body cap, and
    gzip. Logging is left to the exporter (`log_config=None`), and uvicorn's
    access log is off. uvicorn's proxy-header handling is off: the app judges
    forwarding headers itself (`clients.client_host`), because it needs to
    know both who connected and who they say they forward for.
    """
    web = web_config or WebConfigFile()
    limits = limits or WebLimits()
    return guarded_config(
        secure_app(app, web, limits), listen_address, web, limits, graceful_shutdown=5
    )


def secure_app(
    app: ASGIApp, web_config: WebConfigFile | None, limits: WebLimits | None = None
) -> ASGIApp:
    """`app` behind the web config's basic auth and headers and the body cap, with gzip
    inside them. The body cap comes first: an oversized request costs no bcrypt."""
    web = web_config or WebConfigFile()
    wrapped: ASGIApp = GZipMiddleware(app, minimum_size=1024, compresslevel=6)
    if web.basic_auth_users:
        wrapped = BasicAuthMiddleware(wrapped, web.basic_auth_users)
    wrapped = BodyLimitMiddleware(wrapped, (limits or WebLimits()).max_body_bytes)
    return HeadersMiddleware(wrapped, web.http_server_config.headers)


class _Handlers:
    def __init__(self, service: WebService, settings: WebSettings, limits: WebLimits) -> None:
        self.service = service
        self.settings = settings
        self.reloads = ReloadGate(service.reload, limits.reload_burst, limits.reload_refill_seconds)
        self.env = Environment(
            loader=FileSystemLoader(_TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["devurl"] = lambda target: device_href(settings.prefix, target)
        self.css = (_TEMPLATES / "style.css").read_bytes()

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            prefix=self.settings.prefix,
            version=__version__,
            generated=moment(time.time(), time.time()),
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)

    async def landing(self, request: Request) -> Response:
        now = time.time()
        rows = [fleet_row(entry, now) for entry in self.service.entries()]
        return self.page("index.html", rows=rows, summary=summarise(rows))

    async def device(self, request: Request) -> Response:
        target = request.path_params["target"]
        entry = self.service.entry(target)
        if entry is None:
            return self.page("not_found.html", 404, what=f"No device with target {target}.")
        detail = device_detail(entry, time.time())
        return self.page("device.html", row=detail.row, d=detail)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.page("not_found.html", 404, what="No page at this address.")

    async def metrics(self, request: Request) -> Response:
        openmetrics, content_type = negotiate(request.headers.get("accept"))
        body = await self.service.metrics_body(openmetrics=openmetrics)
        return Response(body, media_type=content_type)

    async def healthy(self, request: Request) -> Response:
        return PlainTextResponse("OK")

    async def ready(self, request: Request) -> Response:
        if self.service.ready():
            return PlainTextResponse("OK")
        return PlainTextResponse("Not ready: waiting for the first poll cycle", 503)

    async def reload(self, request: Request) -> Response:
        """Refuses what a browser sends for another site (a form POST needs no script,
        so CSRF is the threat); curl and Prometheus tooling send no Origin and pass."""
        if cross_origin(request.headers, self.settings.external_url):
            return PlainTextResponse(
                "Forbidden: cross-origin request; POST /-/reload from this origin or "
                "without an Origin header",
                403,
            )
        try:
            ok, message = await self.reloads()
        except TooManyReloads as limited:
            return PlainTextResponse(
                f"Too Many Requests: {limited}",
                429,
                headers={"Retry-After": str(limited.retry_after)},
            )
        return PlainTextResponse(
            _one_line(message) or ("OK" if ok else "failed"), 200 if ok else 500
        )

    async def snapshot_api(self, request: Request) -> Response:
        peer = request.client.host if request.client else None
        client = client_host(peer, request.headers)
        authenticated = request.scope.get(AUTH_USER_KEY) is not None
        if not snapshot_api_allowed(
            client, authenticated, self.settings.snapshot_api_loopback_only
        ):
            return PlainTextResponse(
                "Forbidden: the snapshot API is served to loopback clients only, "
                "or with basic auth (see basic_auth_users in the web config)",
                403,
            )
        docs = [entry.snapshot.to_json() for entry in self.service.entries()]
        return JSONResponse(docs)

    async def probe(self, request: Request) -> Response:
        if not self.settings.probe_enabled:
            return PlainTextResponse("Not Found: /probe is disabled", 404)
        target = request.query_params.get("target", "").strip()
        if not target:
            return PlainTextResponse("Bad Request: 'target' parameter must be specified", 400)
        params = {k: v for k, v in request.query_params.items() if k != "target"}
        try:
            snap = await self.service.probe(target, params)
        except ProbeRefused as refused:
            return PlainTextResponse(f"Bad Request: {_one_line(str(refused))}", 400)
        state = probe_state(self.service.state(), snap)
        body = await anyio.to_thread.run_sync(render, state)
        return Response(body, media_type=METRICS_CONTENT_TYPE)

    async def stylesheet(self, request: Request) -> Response:
        return Response(self.css, media_type="text/css", headers={"Cache-Control": "max-age=300"})


def probe_state(current: ExporterState, snap: Snapshot) -> ExporterState:
    """The state a /probe answer renders: the probed device, and the exporter's own values.

    Per-device self-metrics of the poller (traffic, reader runs) are left out:
    they describe scheduled polls, not this probe.
    """
    success = {snap.target: timestamp(snap.taken_at) or time.time()} if snap.reachable else {}
    return replace(
        current,
        snapshots=(snap,),
        last_success=success,
        reader_runs={},
        traffic={},
        counter_regressions={},
        counter_events_total={},
    )


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


# --- what the pages show: plain values, so templates only lay them out --------------

_SEVERITY_RANK: Final = {"critical": 3, "warning": 2, "warning_binary": 1, "other": 0}
_PRINTER_WORDS: Final = {"idle": "Idle", "printing": "Printing", "warmup": "Warming up"}
_INKS: Final = {"black": "K", "cyan": "C", "magenta": "M", "yellow": "Y"}
_LOW_STATES: Final = frozenset({"low", "empty", "near_full", "full"})
"""States that need someone to order or swap something."""


@dataclass(frozen=True, slots=True)
class When:
    ago: str
    iso: str
    utc: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One level: a bar only when the ratio is known; a sentinel shows as its state word."""

    name: str
    short: str
    colour: str
    percent: int | None
    state: str
    word: str


@dataclass(frozen=True, slots=True)
class FleetRow:
    target: str
    status: str
    """ok | warning | error | down: the dot's colour."""
    label: str
    reason: str
    snap: Snapshot
    """What the row shows: the latest snapshot, or the last good one while the device is down."""
    stale: bool
    pages: str | None
    bars: tuple[Bar, ...]
    alerts: int
    alert_level: str
    polled: When | None
    last_success: When | None


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    row: FleetRow
    entry: DeviceEntry
    supplies: tuple[tuple[Any, Bar], ...]
    trays: tuple[tuple[Any, Bar], ...]


def device_href(prefix: str, target: str) -> str:
    return f"{prefix}/device/{quote(target, safe='')}"


def timestamp(rfc3339: str) -> float | None:
    try:
        moment_ = datetime.fromisoformat(rfc3339)
    except ValueError:
        return None
    return (moment_ if moment_.tzinfo else moment_.replace(tzinfo=UTC)).timestamp()


def moment(at: float, now: float) -> When:
    seconds = now - at
    if seconds < 1:
        ago = "just now"
    elif seconds < 120:
        ago = f"{int(seconds)} s ago"
    elif seconds < 7200:
        ago = f"{int(seconds // 60)} min ago"
    elif seconds < 172800:
        ago = f"{int(seconds // 3600)} h ago"
    else:
        ago = f"{int(seconds // 86400)} d ago"
    when = datetime.fromtimestamp(at, UTC)
    return When(ago, when.isoformat(timespec="seconds"), when.strftime("%Y-%m-%d %H:%M:%S UTC"))


_DOWN_WORDS: Final = {
    "host_down": ("Host down", "no answer to SNMP or ping: off, unplugged or moved"),
    "snmp_silent": ("SNMP silent", "answers ping, not SNMP: agent off or a wrong community"),
    "snmp_refused": ("Credential refused", "the agent refused the SNMPv3 credentials"),
}
"""What a technician needs before driving out: which of these the poll saw (exporter/icmp.py)."""


def _status(snap: Snapshot) -> tuple[str, str, str]:
    if not snap.reachable:
        reach = snap.reachability.state if snap.reachability else "no_answer"
        label, why = _DOWN_WORDS.get(reach, ("Down", ""))
        return "down", label, " · ".join(t for t in (why, snap.error or "no answer") if t)
    errors = snap.status.errors
    severe = sorted(SEVERE_ERRORS.intersection(errors))
    critical = [a for a in snap.alerts if a.severity == "critical"]
    if snap.status.device == "down" or severe or critical:
        reason = ", ".join(e.replace("_", " ") for e in severe) or (
            critical[0].description or critical[0].code if critical else ""
        )
        return "error", "Error", reason or "device status down"
    warned = [a for a in snap.alerts if a.severity in ("warning", "warning_binary")]
    if snap.status.device == "warning" or errors or warned:
        reason = ", ".join(e.replace("_", " ") for e in errors)
        return "warning", "Warning", reason or "device status warning"
    return "ok", _PRINTER_WORDS.get(snap.status.printer, "Up"), ""


def _bar(name: str | None, colour: str | None, ratio: float | None, state: str) -> Bar:
    colour = colour if colour in _INKS else "other"
    label = name or "(unnamed)"
    short = _INKS.get(colour) or label[:3]
    percent = round(ratio * 100) if ratio is not None else None
    return Bar(label, short, colour, percent, state, state.replace("_", " ").capitalize())


def _markers(snap: Snapshot) -> tuple[Bar, ...]:
    """Toner and ink for the fleet table; every supply when a device has neither."""
    inks = [
        s
        for s in snap.supplies
        if ("toner" in s.type or "ink" in s.type) and not s.type.startswith("waste")
    ]
    return tuple(
        _bar(s.description, s.color, s.remaining_ratio, s.state)
        for s in (inks or snap.supplies[:6])
    )


def fleet_row(entry: DeviceEntry, now: float) -> FleetRow:
    snap = entry.snapshot
    shown = snap if snap.reachable or entry.last_good is None else entry.last_good
    status, label, reason = _status(snap)
    total = shown.counter("total")
    worst = max(shown.alerts, key=lambda a: _SEVERITY_RANK.get(a.severity, 0), default=None)
    polled = timestamp(snap.taken_at)
    return FleetRow(
        target=snap.target,
        status=status,
        label=label,
        reason=reason,
        snap=shown,
        stale=shown is not snap,
        pages=f"{total.running_total:,}" if total else None,
        bars=_markers(shown),
        alerts=len(shown.alerts),
        alert_level=worst.severity if worst else "none",
        polled=moment(polled, now) if polled is not None else None,
        last_success=moment(entry.last_success, now) if entry.last_success else None,
    )


def summarise(rows: Sequence[FleetRow]) -> dict[str, int]:
    return {
        "printers": len(rows),
        "up": sum(row.status != "down" for row in rows),
        "down": sum(row.status == "down" for row in rows),
        "errors": sum(row.status == "error" or bool(row.snap.status.errors) for row in rows),
        "low": sum(any(s.state in _LOW_STATES for s in row.snap.supplies) for row in rows),
    }


def device_detail(entry: DeviceEntry, now: float) -> DeviceDetail:
    row = fleet_row(entry, now)
    snap = row.snap
    return DeviceDetail(
        row=row,
        entry=entry,
        supplies=tuple(
            (s, _bar(s.description, s.color, s.remaining_ratio, s.state)) for s in snap.supplies
        ),
        trays=tuple((t, _bar(t.name, None, t.remaining_ratio, t.state)) for t in snap.trays),
    )
