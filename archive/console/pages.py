"""The console's HTTP side: sign-in, sign-out, the pages and the billing downloads.

Who may see what: every page but the sign-in form needs a console session,
found by its cookie only. An `Authorization` header (an agent's bearer token,
or an admin's basic credentials) is never looked at here, so a token opens no
page; the agent and admin APIs read only that header, so a session cookie
opens no API route.

Requests that change something are POSTs (sign-in, sign-out), each checked
three ways before anything else: the form carries the CSRF token (the
session's, or for sign-in the double-submit token of the sign-in cookie); the
browser does not say the request came from another site (`Sec-Fetch-Site`,
`Origin`: exporter.web.clients.cross_origin); and the body is a small
urlencoded form. GET requests change nothing.

Pages are rendered by Jinja2 with autoescape on, and are served with a policy
that allows no script at all (`PAGE_HEADERS`): what a site sent is shown as
text, and even a slip in escaping would run nothing.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import anyio
import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from archive import auth, export, store
from archive.console import sessions, views
from archive.console.forms import TOKEN_RE, cookie, insecure_transport, period, read_form, safe_next
from archive.console.sessions import Rules, Session
from archive.errors import BadRequest, StorageError
from archive.times import utcnow
from exporter import __version__
from exporter.logs import ThrottledLog
from exporter.secret import Secret
from exporter.web.app import When, moment
from exporter.web.clients import client_host, cross_origin

log = logging.getLogger("archive.console")

PREFIX: Final = "/console"
TEMPLATES: Final = Path(__file__).resolve().parents[1] / "templates"
STATIC: Final = Path(__file__).resolve().parents[1] / "static"
SESSION_COOKIE: Final = "__Host-archive-session"
SIGNIN_COOKIE: Final = "__Host-archive-signin"
"""`__Host-` cookies: the browser keeps them only with Secure, Path=/ and no Domain, so
no other host (a sibling subdomain) can set or overwrite them."""
SIGNIN_COOKIE_SECONDS: Final = 3600
MAX_SEARCH: Final = 100
PREVIEW_ROWS: Final = 200
SIGN_IN_FAILED: Final = (
    "Sign-in failed: wrong user name or password. After repeated failures a name is "
    "locked for a while; ask another admin, or wait and try again."
)
"""The one answer to a wrong name, a wrong password and a locked name alike."""
PAGE_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "deny",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""No script at all, no framing, nothing cached: a page shows what sites sent, and a
signed-out browser's back button must not show it again."""
DOWNLOAD_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
LOG_EVERY_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """How the console behaves; the defaults are the documented ones (docs/archive.md)."""

    rules: Rules = field(default_factory=Rules)
    clock: Callable[[], datetime] = utcnow
    """Aware UTC now; tests pass a clock they move, instead of sleeping."""
    page_rows: int = 500
    """Devices listed at most on one page (the filter narrows a larger fleet)."""


Handler = Callable[[Request], Awaitable[Response]]
SignedIn = Callable[[Request, Session], Awaitable[Response]]


class Console:
    """The handlers, bound to one engine. `bcrypt` and `decoy` are the API's: one limit on
    password checks per process, and one decoy hash of the admins' cost."""

    def __init__(
        self,
        engine: Engine,
        settings: ConsoleSettings,
        bcrypt: anyio.CapacityLimiter,
        decoy: str,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.rules = settings.rules
        self.bcrypt = bcrypt
        self.decoy = decoy
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["num"] = lambda value: f"{value:,}"
        self.css = (STATIC / "console.css").read_bytes()
        self.failed = ThrottledLog(log, "console sign-in failed", LOG_EVERY_SECONDS)
        self.locked = ThrottledLog(log, "console sign-in refused: locked out", LOG_EVERY_SECONDS)
        self.refused = ThrottledLog(log, "console request refused", LOG_EVERY_SECONDS)

    def routes(self) -> BaseRoute:
        """Everything under /console, one mount (the API's route list stays the API's)."""
        routes = [
            Route("/", self.guard(self.agents), methods=["GET"]),
            Route("/sign-in", self.sign_in_form, methods=["GET"]),
            Route("/sign-in", self.sign_in, methods=["POST"]),
            Route("/sign-out", self.sign_out, methods=["POST"]),
            Route("/devices", self.guard(self.devices), methods=["GET"]),
            Route("/device", self.guard(self.device), methods=["GET"]),
            Route("/billing", self.guard(self.billing), methods=["GET"]),
            Route("/billing/export", self.guard(self.billing_export), methods=["GET"]),
            Route("/static/console.css", self.stylesheet, methods=["GET"]),
        ]
        return Mount(PREFIX, app=Router(routes=routes, default=self.not_found))

    # --- plumbing -----------------------------------------------------------------------

    def now(self) -> datetime:
        return self.settings.clock()

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(func, *args)

    def when(self, at: datetime | None) -> When | None:
        if at is None:
            return None
        return moment(at.timestamp(), self.now().timestamp())

    def render(
        self,
        template: str,
        status: int = 200,
        session: Session | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(
            prefix=PREFIX,
            version=__version__,
            session=session,
            when=self.when,
            generated=self.when(self.now()),
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)

    async def page(
        self, template: str, status: int = 200, session: Session | None = None, **context: Any
    ) -> HTMLResponse:
        """`render` in a worker thread: a long device list must not hold the event loop."""
        response: HTMLResponse = await self.run(
            lambda: self.render(template, status, session, **context)
        )
        return response

    def problem(self, status: int, message: str, session: Session | None = None) -> HTMLResponse:
        return self.render("problem.html", status, session, status_code=status, message=message)

    async def session(self, request: Request) -> Session | None:
        value = request.cookies.get(SESSION_COOKIE)
        if not value or not TOKEN_RE.fullmatch(value):
            return None
        found: Session | None = await self.run(
            sessions.find_session, self.engine, value, self.now(), self.rules
        )
        return found

    def guard(self, handler: SignedIn) -> Handler:
        """`handler` for signed-in requests only; anyone else is sent to sign in, and
        comes back to the page asked for once signed in."""

        async def endpoint(request: Request) -> Response:
            session = None
            try:
                session = await self.session(request)
                if session is None:
                    return self.to_sign_in(request)
                return await handler(request, session)
            except BadRequest as bad:
                return self.problem(bad.status, bad.reason, session)
            except StorageError as down:
                log.error("console: storage unavailable: %s", down)
                return self.problem(
                    503, "The archive's database is unavailable; try again.", session
                )

        return endpoint

    def to_sign_in(self, request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = {"next": path} if path != f"{PREFIX}/" else {}
        if request.cookies.get(SESSION_COOKIE):
            query["ended"] = "1"
        target = f"{PREFIX}/sign-in" + (f"?{urlencode(query)}" if query else "")
        response = RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
        if request.cookies.get(SESSION_COOKIE):
            response.headers.append("set-cookie", cookie(SESSION_COOKIE, "", 0))
        return response

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.problem(404, "No console page at this address.")(scope, receive, send)

    async def stylesheet(self, request: Request) -> Response:
        return Response(
            self.css,
            media_type="text/css",
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    def refuse(self, request: Request, why: str) -> HTMLResponse:
        self.refused.note(f"{why} from {_peer(request)}")
        return self.problem(
            403,
            "Refused: this request did not come from a console page of this site. "
            "Open the page again and repeat what you did.",
        )

    # --- sign-in and sign-out ------------------------------------------------------------

    def sign_in_page(
        self, request: Request, status: int = 200, message: str | None = None
    ) -> HTMLResponse:
        token = request.cookies.get(SIGNIN_COOKIE, "")
        if not TOKEN_RE.fullmatch(token):
            token = secrets.token_urlsafe(32)
        ended = request.query_params.get("ended") == "1"
        response = self.render(
            "sign_in.html",
            status,
            csrf=token,
            next=safe_next(request.query_params.get("next")),
            message=message,
            notice="Your session has ended; sign in again." if ended and not message else None,
            insecure=insecure_transport(request),
        )
        response.headers.append("set-cookie", cookie(SIGNIN_COOKIE, token, SIGNIN_COOKIE_SECONDS))
        return response

    async def sign_in_form(self, request: Request) -> Response:
        try:
            if await self.session(request) is not None:
                target = safe_next(request.query_params.get("next"))
                return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
        except StorageError as down:
            log.error("console: storage unavailable: %s", down)
            return self.problem(503, "The archive's database is unavailable; try again.")
        return self.sign_in_page(request)

    async def sign_in(self, request: Request) -> Response:
        if insecure_transport(request):
            return self.problem(
                403, "The console needs HTTPS: sign in at its https:// address (docs/archive.md)."
            )
        if cross_origin(request.headers):
            return self.refuse(request, "cross-origin sign-in")
        try:
            form = await read_form(request)
        except BadRequest as bad:
            return self.problem(bad.status, bad.reason)
        expected = request.cookies.get(SIGNIN_COOKIE, "")
        if not TOKEN_RE.fullmatch(expected) or not sessions.same_token(
            form.get("csrf", ""), expected
        ):
            return self.refuse(request, "sign-in without the sign-in cookie's token")
        name = form.get("user", "").strip()
        password = Secret(form.get("password", ""))
        address = client_host(request.client.host if request.client else None, request.headers)
        try:
            return await self.check_sign_in(request, form, name, password, address)
        except StorageError as down:
            log.error("console: storage unavailable: %s", down)
            return self.problem(503, "The archive's database is unavailable; try again.")

    async def check_sign_in(
        self,
        request: Request,
        form: dict[str, str],
        name: str,
        password: Secret,
        address: str | None,
    ) -> Response:
        """The password check and the lockout, answered alike for every way to fail."""
        now = self.now()
        keys = sessions.failure_keys(name, address, self.rules)
        lock = await self.run(sessions.is_locked, self.engine, keys, now, self.rules)
        known = lock is None and auth.NAME_RE.fullmatch(name) is not None
        hashed: str | None = await self.run(store.admin_hash, self.engine, name) if known else None
        ok = await anyio.to_thread.run_sync(
            auth.check_password, password, hashed or self.decoy, limiter=self.bcrypt
        )
        # The name only when it is an admin's: a password typed into the name field must
        # not end up in the log.
        who = f"admin {name!r}" if hashed is not None else "an unknown name"
        if lock is not None:
            self.locked.note(f"{lock.kind} locked; attempt for {who} from {address or 'unknown'}")
        elif ok and hashed is not None:
            await self.run(sessions.clear_failures, self.engine, keys[0])
            old = request.cookies.get(SESSION_COOKIE)
            if old and TOKEN_RE.fullmatch(old):
                await self.run(sessions.close_session, self.engine, old)
            try:
                session_id, _csrf = await self.run(
                    lambda: sessions.open_session(self.engine, name, now, self.rules, address)
                )
            except LookupError:  # the admin was removed while its password was checked
                return self.sign_in_page(request, 403, SIGN_IN_FAILED)
            log.info("admin %r signed in to the console from %s", name, address or "unknown")
            response = RedirectResponse(
                safe_next(form.get("next")), status_code=303, headers=PAGE_HEADERS
            )
            seconds = int(self.rules.absolute.total_seconds())
            response.headers.append("set-cookie", cookie(SESSION_COOKIE, session_id, seconds))
            response.headers.append("set-cookie", cookie(SIGNIN_COOKIE, "", 0))
            return response
        else:
            locked = await self.run(sessions.record_failure, self.engine, keys, now, self.rules)
            self.failed.note(f"{who} from {address or 'unknown'}")
            if locked is not None:
                log.warning(
                    "console sign-in: %s locked for %s after %d failures (%s from %s)",
                    locked.kind,
                    views.ago(self.rules.window),
                    locked.limit,
                    who,
                    address or "unknown",
                )
        return self.sign_in_page(request, 403, SIGN_IN_FAILED)

    async def sign_out(self, request: Request) -> Response:
        """Deletes the session. Needs the session's CSRF token, like every POST: another
        site must not be able to sign the dealer out either."""
        try:
            session = await self.session(request)
            if session is None:
                return self.to_sign_in(request)
            if cross_origin(request.headers):
                return self.refuse(request, "cross-origin sign-out")
            form = await read_form(request)
            if not sessions.same_token(form.get("csrf", ""), session.csrf):
                return self.refuse(request, "sign-out without the session's CSRF token")
            await self.run(
                sessions.close_session, self.engine, request.cookies.get(SESSION_COOKIE, "")
            )
        except BadRequest as bad:
            return self.problem(bad.status, bad.reason)
        except StorageError as down:
            log.error("console: storage unavailable: %s", down)
            return self.problem(503, "The archive's database is unavailable; try again.")
        log.info("admin %r signed out of the console", session.admin)
        response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=PAGE_HEADERS)
        response.headers.append("set-cookie", cookie(SESSION_COOKIE, "", 0))
        return response

    # --- pages --------------------------------------------------------------------------

    async def agents(self, request: Request, session: Session) -> Response:
        now = self.now()
        view = await self.run(views.agents_view, self.engine, now)
        activity = await self.run(sessions.activity, self.engine, now, self.rules)
        return await self.page(
            "agents.html", session=session, view=view, activity=activity, rules=self.rules
        )

    async def devices(self, request: Request, session: Session) -> Response:
        agent = request.query_params.get("agent", "").strip() or None
        if agent is not None and not auth.NAME_RE.fullmatch(agent):
            raise BadRequest(400, f"agent: not an agent name: {agent[:80]!r}")
        text = request.query_params.get("q", "").strip()
        if len(text) > MAX_SEARCH:
            raise BadRequest(400, f"q: at most {MAX_SEARCH} characters")
        view = await self.run(views.devices_view, self.engine, agent, text, self.settings.page_rows)
        return await self.page(
            "devices.html",
            session=session,
            view=view,
            agent=agent,
            q=text,
            limit=self.settings.page_rows,
            device_href=device_href,
        )

    async def device(self, request: Request, session: Session) -> Response:
        params = request.query_params
        agent, target = params.get("agent", ""), params.get("target", "")
        if not auth.NAME_RE.fullmatch(agent) or not 0 < len(target) <= 300:
            raise BadRequest(400, "agent and target are required: open a device from the list")
        today = self.now().date()
        start_text = params.get("from") or (today - timedelta(days=29)).isoformat()
        end_text = params.get("to") or today.isoformat()
        start, end = period(start_text, end_text)
        detail = await self.run(views.device_view, self.engine, agent, target, start, end)
        if detail is None:
            return self.problem(404, f"No device {target!r} of agent {agent!r}.", session)
        counters = [m.counter for m in detail.meters]
        chosen = params.get("counter") or ("total" if "total" in counters else "")
        return await self.page(
            "device.html",
            session=session,
            d=detail,
            row=detail.row,
            s=detail.row.shown,
            start_text=start_text,
            end_text=end_text,
            chosen=chosen if chosen in counters else (counters[0] if counters else ""),
            device_href=device_href,
        )

    async def billing(self, request: Request, session: Session) -> Response:
        params = request.query_params
        first_of_month = self.now().date().replace(day=1)
        last_month_end = first_of_month - timedelta(days=1)
        start_text = params.get("from") or last_month_end.replace(day=1).isoformat()
        end_text = params.get("to") or last_month_end.isoformat()
        asked = "from" in params or "to" in params
        rows: list[export.BillingRow] = []
        start = end = None
        if asked:
            start, end = period(start_text, end_text)
            rows = await self.run(export.billing_rows, self.engine, start, end)
        query = urlencode({"from": start_text, "to": end_text})
        return await self.page(
            "billing.html",
            session=session,
            start_text=start_text,
            end_text=end_text,
            asked=asked,
            total=len(rows),
            fields=[export.row_fields(r, start, end) for r in rows[:PREVIEW_ROWS]]
            if start and end
            else [],
            csv_href=f"{PREFIX}/billing/export?{query}&format=csv",
            json_href=f"{PREFIX}/billing/export?{query}&format=json",
        )

    async def billing_export(self, request: Request, session: Session) -> Response:
        """The API's export, for a signed-in browser (the API itself takes basic auth)."""
        params = request.query_params
        start, end = period(params.get("from", ""), params.get("to", ""))
        fmt = params.get("format", "csv")
        if fmt not in ("csv", "json"):
            raise BadRequest(400, f"format must be csv or json, got {fmt[:40]!r}")
        rows = await self.run(export.billing_rows, self.engine, start, end)
        stem = f"meter-reads-{start.date().isoformat()}-{end.date().isoformat()}"
        log.info("admin %r exported meter reads %s (%s)", session.admin, stem, fmt)
        if fmt == "json":
            body = json.dumps(export.to_json(rows, start, end), indent=1).encode()
            media = "application/json"
        else:
            body = export.to_csv(rows, start, end).encode("utf-8")
            media = "text/csv; charset=utf-8"
        return Response(
            body,
            media_type=media,
            headers={
                **DOWNLOAD_HEADERS,
                "Content-Disposition": f'attachment; filename="{stem}.{fmt}"',
            },
        )


def device_href(agent: str, target: str, **extra: str) -> str:
    return f"{PREFIX}/device?" + urlencode({"agent": agent, "target": target, **extra})


def _peer(request: Request) -> str:
    return request.client.host if request.client else "unknown"
