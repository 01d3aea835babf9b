"""What a browser sends the console, checked: forms, periods, where to go after sign-in,
whether the connection is fit for a password; and the cookies the console sets.

Each function answers one question about a request and raises `BadRequest` (with
the status and a reason naming the bad value) when the answer is no, so the page
handlers in `pages` stay about pages.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from archive.errors import BadRequest
from archive.times import parse_bound
from exporter.web.clients import is_loopback

FORM_LIMIT: Final = 8 * 1024
FORM_FIELDS: Final = 10
TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{43}")
"""A session id or CSRF token as `secrets.token_urlsafe(32)` makes them."""
NEXT_RE: Final = re.compile(r"/console/[A-Za-z0-9/_.~?=&%:+-]{0,500}")
MAX_PERIOD: Final = timedelta(days=366)
CONSOLE_HOME: Final = "/console/"


def insecure_transport(request: Request) -> bool:
    """True when a browser elsewhere reaches the console over plain HTTP: it would send
    the password in clear, and drop the Secure session cookie. Plain HTTP from loopback
    (a browser on this host, or a TLS-terminating proxy on it) is fine, and so is a
    proxy elsewhere that says it took the request over HTTPS."""
    if request.url.scheme == "https":
        return False
    if request.headers.get("x-forwarded-proto", "").strip().lower() == "https":
        return False
    return not is_loopback(request.client.host if request.client else None)


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a console path, never another site (`//evil`)."""
    if value and NEXT_RE.fullmatch(value) and "//" not in value and "/../" not in value:
        return value
    return CONSOLE_HOME


def cookie(name: str, value: str, max_age: int) -> str:
    """A `Set-Cookie` value with every flag the console's cookies carry, always: `__Host-`
    requires Secure, and browsers treat http://127.0.0.1 and localhost as secure, so a
    browser on the archive host works over plain HTTP too."""
    return f"{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Strict"


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form; BadRequest (413, 415, 400) for anything else."""
    kind = request.headers.get("content-type", "")
    if kind.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise BadRequest(
            415, f"the form must be application/x-www-form-urlencoded, got {kind[:60]!r}"
        )
    length = request.headers.get("content-length")
    if length is not None and (not length.strip().isdigit() or int(length) > FORM_LIMIT):
        raise BadRequest(413, f"the form is over {FORM_LIMIT} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > FORM_LIMIT:
                raise BadRequest(413, f"the form is over {FORM_LIMIT} bytes")
    except ClientDisconnect:
        raise BadRequest(400, "the browser went away before the form was complete") from None
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            max_num_fields=FORM_FIELDS,
            encoding="utf-8",
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError) as problem:
        raise BadRequest(400, f"the form cannot be read: {str(problem)[:80]}") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise BadRequest(400, f"the form has field {key[:40]!r} twice")
        form[key] = value
    return form


def period(start_text: str, end_text: str) -> tuple[datetime, datetime]:
    """A [from, to) period as the forms send it; BadRequest naming the bad value."""
    if not start_text or not end_text:
        raise BadRequest(400, "from and to are required, as YYYY-MM-DD")
    try:
        start = parse_bound(start_text[:64], end=False)
        end = parse_bound(end_text[:64], end=True)
    except ValueError as problem:
        raise BadRequest(400, f"from/to: {problem}") from None
    if end <= start:
        raise BadRequest(
            400, f"to ({end_text[:40]!r}) must not be before from ({start_text[:40]!r})"
        )
    if end - start > MAX_PERIOD:
        raise BadRequest(400, f"the period is over {MAX_PERIOD.days} days: choose a shorter one")
    return start.astimezone(UTC), end.astimezone(UTC)
