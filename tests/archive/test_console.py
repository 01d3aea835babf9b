"""The dealer's web console over HTTP: the archive on a real uvicorn on 127.0.0.1, driven by
httpx as a browser would (cookies, forms, the headers browsers send).

The client keeps its cookies by hand (`Visitor`): the console's cookies are always
`Secure`, which browsers honour on http://127.0.0.1 but Python's cookie jar does
not; `test_sign_in_over_tls_with_a_real_cookie_jar` runs the whole flow over TLS with
httpx's own jar. Time is a clock the tests move (`Clock`), never a sleep: session
expiry and lockout windows do not depend on the machine's speed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text
from starlette.requests import Request

from archive import auth, ingest, store
from archive.app import build_app
from archive.billing import Reading
from archive.console import ConsoleSettings, Rules
from archive.console.documents import read_document
from archive.console.forms import insecure_transport, safe_next
from archive.console.views import health, history
from archive.server import load_archive_web_config, uvicorn_config
from archive.store import AgentInfo
from archive.tables import console_sessions, login_failures
from archive.times import utcnow
from exporter.secret import Secret
from exporter.web import WebConfigFile, WebLimits
from tests.archive.conftest import ADMIN, ADMIN_PASSWORD, add_admin, batch_body, snapshot
from tests.threaded_server import running

pytestmark = pytest.mark.integration

SESSION = "__Host-archive-session"
SIGNIN = "__Host-archive-signin"
HOSTILE_MODEL = "<script>document.title='pwned'</script>LaserJet"
HOSTILE_LOCATION = '"><img src=x onerror=alert(1) id=pwned>Lobby \u202eevil'
HOSTILE_PANEL = "</div><script>alert('panel')</script>"
HOSTILE_SUPPLY = "<b id=pwned2 onmouseover=alert(1)>Black</b>"
HOSTILE_TARGET = "127.0.0.66:161<i>x</i>"
HOSTILE_CONFIG_ERROR = "<script>alert('cfg')</script> 10.0.0.0/8 is outside allowed_cidrs"
HOSTILE_DETAIL = "<img src=x id=pwned3> vendor total 5100"


# --- the world ---------------------------------------------------------------------------


class Clock:
    """Aware UTC now, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextmanager
def serve_console(
    engine: Engine,
    clock: Clock,
    rules: Rules | None = None,
    web_config: WebConfigFile | None = None,
    scheme: str = "http",
) -> Iterator[str]:
    """The archive (API and console) on the archive's uvicorn, 127.0.0.1, a free port."""
    settings = ConsoleSettings(rules=rules or Rules(), clock=clock)
    app = build_app(engine, decoy_cost=4, console=settings)
    config = uvicorn_config(app, "127.0.0.1:0", web_config, WebLimits())
    with running(config, scheme) as url:
        yield url


def fleet_snapshots(now: datetime) -> list[dict[str, Any]]:
    """Three printers of one site over three days, one hostile in every text field, one
    down at its latest poll."""
    docs: list[dict[str, Any]] = []
    for day in range(3):
        at = (now - timedelta(days=2 - day)).replace(microsecond=0)
        stamp = at.isoformat().replace("+00:00", "Z")
        good = snapshot("127.0.0.11:161", stamp, (("total", 1000 + 100 * day), ("mono", 900)))
        good["identity"].update(manufacturer="HP", model="LaserJet M507", location="Reception")
        good["supplies"] = [supply("Black Cartridge HP 89A", "black", 0.42 - 0.1 * day)]
        good["status"]["console"] = ["Ready", "Tray 2 low"]
        docs.append(good)
        hostile = snapshot(HOSTILE_TARGET, stamp, (("total", 5000 + 7 * day),), serial="=1+2")
        hostile["identity"].update(
            manufacturer="<b>ACME</b>", model=HOSTILE_MODEL, location=HOSTILE_LOCATION
        )
        hostile["status"].update(console=[HOSTILE_PANEL], errors=["jammed", "<i>x</i>"])
        hostile["supplies"] = [
            {**supply(HOSTILE_SUPPLY, 'black" class="x', 0.05), "state": 'ok" onclick="x'}
        ]
        hostile["alerts"] = [
            {
                "index": 1,
                "severity": "<critical>",
                "group": "<g>",
                "code": "jam",
                "description": "javascript:alert(1)",
                "location": "x",
                "training_level": None,
            }
        ]
        hostile["error"] = None
        if day == 1:
            hostile["counter_events"] = [
                {
                    "kind": "total_mismatch",
                    "counter": "total",
                    "previous": 5007,
                    "current": 5100,
                    "detail": HOSTILE_DETAIL,
                }
            ]
        docs.append(hostile)
        down = snapshot("127.0.0.12:161", stamp, (("total", 20),))
        down["identity"].update(manufacturer="Brother", model="HL-L5100DN")
        if day == 2:
            down.update(reachable=False, error="timeout", counters=[])
            down["identity"] = {}
        docs.append(down)
    return docs


def supply(name: str, colour: str, ratio: float) -> dict[str, Any]:
    state = "low" if ratio <= 0.1 else "ok"
    return {
        "index": 1,
        "description": name,
        "type": "toner",
        "color": colour,
        "class": "consumed",
        "unit": "percent",
        "level": round(ratio * 100),
        "max_capacity": 100,
        "remaining_ratio": ratio,
        "state": state,
    }


@dataclass
class World:
    url: str
    engine: Engine
    clock: Clock
    token: Secret

    visitors: list[Visitor] = field(default_factory=list)

    def visitor(self, **headers: str) -> Visitor:
        """A new browser (its own cookies); closed when the test ends."""
        visitor = Visitor(self.url, headers)
        self.visitors.append(visitor)
        return visitor


def stock(engine: Engine, now: datetime) -> Secret:
    token = store.add_agent(engine, "site-a")
    store.add_agent(engine, "site-b")
    add_admin(engine)
    batch = ingest.parse_batch(batch_body(fleet_snapshots(now)), gzipped=False)
    site = store.agent_id(engine, "site-a")
    ingest.store_batch(engine, site, "k1", batch, "0.1.0")
    store.record_checkin(engine, site, "0.1.0")
    store.add_agent(engine, "site-c")  # checks in, uploads nothing, its config failed
    failing = store.agent_id(engine, "site-c")
    store.record_checkin(engine, failing, "0.0.9")
    store.record_status(
        engine,
        failing,
        version=3,
        sha256="sha256:" + "0" * 64,
        status="failed",
        error=HOSTILE_CONFIG_ERROR,
        agent_version="0.0.9",
    )
    return token


@pytest.fixture
def world(sqlite_engine: Engine) -> Iterator[World]:
    clock = Clock()
    token = stock(sqlite_engine, clock.now)
    with serve_console(sqlite_engine, clock) as url:
        world = World(url, sqlite_engine, clock, token)
        yield world
        for visitor in world.visitors:
            visitor.client.close()


# --- a browser, by hand -------------------------------------------------------------------


@dataclass
class Visitor:
    """An httpx client that keeps cookies like a browser on http://127.0.0.1 (Secure ones
    included) and sends the fetch metadata a browser sends for its own pages."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=60, follow_redirects=False)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Sec-Fetch-Site": "same-origin", **self.headers, **kwargs.pop("headers", {})}
        headers = {k: v for k, v in headers.items() if v is not None}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.request(method, path, headers=headers, **kwargs)
        for line in response.headers.get_list("set-cookie"):
            pair, _, attributes = line.partition(";")
            name, _, value = pair.partition("=")
            if "Max-Age=0" in attributes:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def __enter__(self) -> Visitor:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def sign_in(self, user: str = ADMIN, password: str = ADMIN_PASSWORD, **extra: str) -> Any:
        page = self.get("/console/sign-in")
        assert page.status_code == 200, page.text
        return self.post(
            "/console/sign-in",
            data={"csrf": csrf(page.text), "user": user, "password": password, **extra},
        )

    def csrf(self) -> str:
        """The session's CSRF token, from the sign-out form of any page."""
        return csrf(self.get("/console/").text)


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([A-Za-z0-9_-]{43})"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def without_tokens(html: str) -> str:
    return re.sub(r'value="[A-Za-z0-9_-]{43}"', 'value="TOKEN"', html)


# --- sign-in, sessions, sign-out ----------------------------------------------------------


def test_sign_in_sets_a_session_cookie_with_every_flag(engine: Engine) -> None:
    """Both backends: the session is in the database, by its SHA-256 only; the pages,
    sign-out and the lockout work on each."""
    clock = Clock()
    stock(engine, clock.now)
    with serve_console(engine, clock) as url, Visitor(url) as visitor:
        answer = visitor.sign_in()
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/"
        lines = [c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION)]
        assert len(lines) == 1
        value = lines[0].split(";")[0].split("=", 1)[1]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
        flags = [part.strip() for part in lines[0].split(";")[1:]]
        assert set(flags) == {"Max-Age=43200", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"}
        with engine.connect() as conn:
            stored = conn.execute(select(console_sessions.c.id_sha256)).scalars().all()
        assert stored == [hashlib.sha256(value.encode()).hexdigest()]
        page = visitor.get("/console/")
        assert page.status_code == 200
        assert "site-a" in page.text
        assert "site-b" in page.text
        assert value not in page.text
        assert "LaserJet M507" in visitor.get("/console/devices?q=reception").text
        device = visitor.get(
            "/console/device", params={"agent": "site-a", "target": "127.0.0.11:161"}
        )
        assert ">200<" in device.text
        out = visitor.post("/console/sign-out", data={"csrf": visitor.csrf()})
        assert out.status_code == 303
        with engine.connect() as conn:
            assert conn.execute(select(console_sessions.c.id_sha256)).all() == []
        for _ in range(5):
            assert visitor.sign_in(password="wrong password!").status_code == 403
        assert visitor.sign_in().status_code == 403  # locked, on this backend too


def test_every_page_needs_a_session_and_comes_back_after_sign_in(world: World) -> None:
    visitor = world.visitor()
    for path in (
        "/console/",
        "/console/devices?q=hp",
        "/console/billing",
        "/console/billing/export?from=2026-01-01&to=2026-01-31&format=csv",
        "/console/device?agent=site-a&target=127.0.0.11:161",
    ):
        answer = visitor.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/sign-in")
    answer = visitor.get("/console/devices?q=hp")
    back = answer.headers["location"].split("next=", 1)[1]
    signed = visitor.sign_in(next=httpx.QueryParams(f"next={back}")["next"])
    assert signed.headers["location"] == "/console/devices?q=hp"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/api/v1/agents",
        "/console/../api",
        "/console//evil.example",
    ],
)
def test_sign_in_never_sends_the_browser_elsewhere(world: World, target: str) -> None:
    assert world.visitor().sign_in(next=target).headers["location"] == "/console/"
    assert safe_next(target) == "/console/"


def test_wrong_password_unknown_name_and_lockout_answer_alike(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "archive.console")
    wrong = world.visitor().sign_in(password="not the password at all")
    unknown = world.visitor().sign_in(user="mallory", password="not the password at all")
    typed = world.visitor().sign_in(user=ADMIN_PASSWORD, password="x")  # the password as a name
    assert wrong.status_code == unknown.status_code == typed.status_code == 403
    assert SESSION not in str(wrong.headers.get_list("set-cookie"))
    assert without_tokens(wrong.text) == without_tokens(unknown.text)
    assert "wrong user name or password" in wrong.text
    for _ in range(4):
        world.visitor().sign_in(password="still wrong, still wrong")
    locked = world.visitor().sign_in()  # the right password, now locked
    assert locked.status_code == 403
    assert without_tokens(locked.text) == without_tokens(wrong.text)
    assert ADMIN_PASSWORD not in caplog.text
    assert "console sign-in failed" in caplog.text
    assert "locked" in caplog.text
    with world.engine.connect() as conn:
        keys = conn.execute(select(login_failures.c.key_sha256)).scalars().all()
    assert all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
    assert ADMIN not in str(keys)


def test_lockout_lifts_after_the_window_and_success_clears_it(world: World) -> None:
    for _ in range(5):
        assert world.visitor().sign_in(password="wrong password!").status_code == 403
    assert world.visitor().sign_in().status_code == 403
    world.clock.advance(minutes=14)
    assert world.visitor().sign_in().status_code == 403  # refusals do not extend the lock
    world.clock.advance(minutes=1, seconds=1)
    assert world.visitor().sign_in().status_code == 303
    for _ in range(4):  # cleared by the success: four more do not lock
        world.visitor().sign_in(password="wrong password!")
    assert world.visitor().sign_in().status_code == 303


def test_an_unknown_name_locks_like_an_admin(world: World) -> None:
    """Otherwise the lockout would tell which names are admins'."""
    for _ in range(5):
        world.visitor().sign_in(user="ghost", password="wrong password!")
    with world.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM login_failures WHERE kind='name'"))
        assert count.scalar_one() == 5


def test_lockout_per_client_address(sqlite_engine: Engine) -> None:
    clock = Clock()
    stock(sqlite_engine, clock.now)
    rules = Rules(name_failures=100, address_failures=3)
    with serve_console(sqlite_engine, clock, rules) as url, Visitor(url) as visitor:
        for name in ("a1", "a2", "a3"):  # a spray over names from one address
            assert visitor.sign_in(user=name, password="nope nope").status_code == 403
        assert visitor.sign_in().status_code == 403
        clock.advance(minutes=16)
        assert visitor.sign_in().status_code == 303


def test_session_ends_when_idle_and_when_old(world: World) -> None:
    visitor = world.visitor()
    assert visitor.sign_in().status_code == 303
    for _ in range(28):  # used every 25 minutes: stays open up to its 12 hours
        world.clock.advance(minutes=25)
        assert visitor.get("/console/").status_code == 200
    world.clock.advance(minutes=25)  # 12 h 5 min old
    ended = visitor.get("/console/")
    assert ended.status_code == 303
    assert "ended=1" in ended.headers["location"]
    assert SESSION not in visitor.cookies
    notice = visitor.get(ended.headers["location"])
    assert "Your session has ended" in notice.text

    idle = world.visitor()
    idle.sign_in()
    world.clock.advance(minutes=31)
    assert idle.get("/console/").status_code == 303
    with world.engine.connect() as conn:
        assert conn.execute(select(console_sessions.c.id_sha256)).all() == []


def test_a_new_password_ends_every_session(world: World) -> None:
    visitor = world.visitor()
    visitor.sign_in()
    store.add_admin(
        world.engine, ADMIN, auth.hash_password(Secret("another long password"), 4), replace=True
    )
    assert visitor.get("/console/").status_code == 303


def test_sign_out_deletes_the_session(world: World) -> None:
    visitor = world.visitor()
    visitor.sign_in()
    old = visitor.cookies[SESSION]
    token = visitor.csrf()
    answer = visitor.post("/console/sign-out", data={"csrf": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in"
    assert f"{SESSION}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict" in (
        answer.headers.get_list("set-cookie")
    )
    replay = world.visitor()
    replay.cookies[SESSION] = old  # a copy of the cookie kept from before
    assert replay.get("/console/").status_code == 303


# --- CSRF -----------------------------------------------------------------------------------


def test_csrf_refusals(world: World) -> None:
    visitor = world.visitor()
    page = visitor.get("/console/sign-in")
    form = {"csrf": csrf(page.text), "user": ADMIN, "password": ADMIN_PASSWORD}
    for data, headers in (
        ({**form, "csrf": ""}, {}),
        ({**form, "csrf": "A" * 43}, {}),
        (form, {"Sec-Fetch-Site": "cross-site"}),
        (form, {"Sec-Fetch-Site": "same-site"}),
        (form, {"Sec-Fetch-Site": None, "Origin": "http://evil.example"}),
        (form, {"Sec-Fetch-Site": None, "Origin": "null"}),
    ):
        answer = visitor.post("/console/sign-in", data=data, headers=headers)
        assert answer.status_code == 403, (data, headers)
        assert "did not come from a console page" in answer.text
    stranger = world.visitor()  # a token of its own, but not this browser's cookie
    stolen = stranger.post("/console/sign-in", data=form)
    assert stolen.status_code == 403
    assert visitor.post("/console/sign-in", data=form).status_code == 303

    token = visitor.csrf()
    for data, headers in (
        ({"other": "1"}, {}),
        ({"csrf": form["csrf"]}, {}),  # the sign-in token is not the session's
        ({"csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
        ({"csrf": token}, {"Sec-Fetch-Site": None, "Origin": "http://127.0.0.1:1"}),
    ):
        answer = visitor.post("/console/sign-out", data=data, headers=headers)
        assert answer.status_code == 403, (data, headers)
    assert visitor.get("/console/").status_code == 200  # still signed in
    assert visitor.post("/console/sign-out", data={"csrf": token}).status_code == 303


def test_forms_are_small_urlencoded_forms(world: World) -> None:
    visitor = world.visitor()
    page = visitor.get("/console/sign-in")
    token = csrf(page.text)
    as_json = visitor.post("/console/sign-in", json={"csrf": token, "user": ADMIN})
    assert as_json.status_code == 415
    huge = visitor.post("/console/sign-in", data={"csrf": token, "user": "x" * 9000})
    assert huge.status_code == 413
    twice = visitor.post(
        "/console/sign-in",
        content=f"csrf={token}&user=a&user=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twice.status_code == 400
    assert "twice" in twice.text


# --- who may open what ----------------------------------------------------------------------


def test_an_agent_token_never_opens_the_console(world: World) -> None:
    basic = base64.b64encode(f"{ADMIN}:{ADMIN_PASSWORD}".encode()).decode()
    for authorization in (f"Bearer {world.token.reveal()}", f"Basic {basic}"):
        visitor = world.visitor(Authorization=authorization)
        for path in (
            "/console/",
            "/console/devices",
            "/console/billing/export?from=2026-01-01&to=2026-01-02",
        ):
            answer = visitor.get(path)
            assert answer.status_code == 303, (authorization[:6], path)
            assert "site-a" not in answer.text
        out = visitor.post("/console/sign-out", data={"csrf": "x"})
        assert out.status_code == 303


def test_a_console_session_never_opens_the_api(world: World) -> None:
    visitor = world.visitor()
    visitor.sign_in()
    assert visitor.get("/console/").status_code == 200
    for method, path in (
        ("GET", "/api/v1/agents"),
        ("GET", "/api/v1/config"),
        ("GET", "/api/v1/export?from=2026-01-01&to=2026-01-02"),
    ):
        assert visitor.request(method, path).status_code == 401, path
    upload = visitor.post(
        "/api/v1/snapshots",
        content=batch_body([snapshot()]),
        headers={"Content-Type": "application/json", "Idempotency-Key": "cookie-1"},
    )
    assert upload.status_code == 401


# --- the pages ------------------------------------------------------------------------------


def test_pages_carry_the_strict_headers(world: World) -> None:
    visitor = world.visitor()
    pages = [visitor.get("/console/sign-in")]
    visitor.sign_in()
    pages += [
        visitor.get(p)
        for p in (
            "/console/",
            "/console/devices",
            "/console/billing",
            "/console/device?agent=site-a&target=127.0.0.11:161",
            "/console/nowhere",
        )
    ]
    for page in pages:
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script" not in csp
        assert "form-action 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-frame-options"] == "deny"
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text.lower()
    assert pages[-1].status_code == 404


def test_hostile_strings_are_shown_as_text(world: World) -> None:
    visitor = world.visitor()
    visitor.sign_in()
    listing = visitor.get("/console/devices").text
    device = visitor.get(
        "/console/device", params={"agent": "site-a", "target": HOSTILE_TARGET}
    ).text
    for html in (listing, device):
        assert "<script" not in html.lower()
        assert "<img" not in html
        assert "<b>ACME" not in html
        assert "<i>x" not in html
        assert "onerror=alert(1) id=pwned>" not in html
        assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;LaserJet" in html
        assert "\u202e" not in html
    assert "&lt;/div&gt;&lt;script&gt;alert(&#39;panel&#39;)&lt;/script&gt;" in device
    assert 'class="x' not in device
    assert 'onclick="x' not in device
    assert "&lt;img src=x id=pwned3&gt; vendor total 5100" in device  # a counter event
    assert "javascript:alert(1)" in device  # as text, never as a link
    assert 'href="javascript' not in device
    assert "sev-critical" not in device.split("Alerts")[1].split("</table>")[0]


def test_fleet_pages_show_agents_devices_and_meters(world: World) -> None:
    visitor = world.visitor()
    visitor.sign_in()
    agents = visitor.get("/console/").text
    assert "Healthy" in agents  # site-a uploaded and checked in just now
    assert "Never seen" in agents  # site-b
    assert "Failing" in agents  # site-c
    assert "config v3 failed: &lt;script&gt;alert(&#39;cfg&#39;)&lt;/script&gt;" in agents
    assert "<script" not in agents
    devices = visitor.get("/console/devices").text
    assert "3 devices" in devices
    assert "LaserJet M507" in devices
    assert "1,200" in devices
    assert "S/N CNB1234567" in devices
    assert "HL-L5100DN" in devices  # the down printer, from its last good snapshot
    assert "values from its last good snapshot" in devices
    assert "Black Cartridge HP 89A" in devices
    assert "22&nbsp;%" in devices
    assert "1 devices" not in visitor.get("/console/devices?q=reception").text
    assert "1 device." in visitor.get("/console/devices?q=reception").text
    assert "0 devices" in visitor.get("/console/devices?agent=site-b").text
    assert visitor.get("/console/devices?agent=%3Cx%3E").status_code == 400
    device = visitor.get(
        "/console/device", params={"agent": "site-a", "target": "127.0.0.11:161"}
    ).text
    assert "Tray 2 low" in device
    assert "Reception" in device
    history_table = device.split("per day (UTC)")[1]
    assert history_table.count("<tr>") == 4  # the head and three days
    assert ">200<" in device  # total: 1000 -> 1200 over the period
    missing = visitor.get("/console/device", params={"agent": "site-a", "target": "nope:1"})
    assert missing.status_code == 404
    bad = visitor.get(
        "/console/device",
        params={"agent": "site-a", "target": "127.0.0.11:161", "from": "2026-13-01"},
    )
    assert bad.status_code == 400
    assert "2026-13-01" in bad.text


def test_billing_page_and_downloads(world: World) -> None:
    visitor = world.visitor()
    visitor.sign_in()
    today = world.clock.now.date()
    start, end = (today - timedelta(days=3)).isoformat(), today.isoformat()
    page = visitor.get("/console/billing", params={"from": start, "to": end})
    assert page.status_code == 200
    assert "Download CSV" in page.text
    assert "=1+2" in page.text
    csv = visitor.get("/console/billing/export", params={"from": start, "to": end, "format": "csv"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert "'=1+2" in csv.text  # the export's formula guard
    as_json = visitor.get(
        "/console/billing/export", params={"from": start, "to": end, "format": "json"}
    )
    rows = json.loads(as_json.text)["rows"]
    total = next(r for r in rows if r["target"] == "127.0.0.11:161" and r["counter"] == "total")
    assert total["pages"] == 200
    refused = visitor.get(
        "/console/billing/export", params={"from": start, "to": end, "format": "xlsx"}
    )
    assert refused.status_code == 400
    assert "xlsx" in refused.text


def test_sign_in_over_tls_with_a_real_cookie_jar(sqlite_engine: Engine, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "server.crt")
    cert.private_key_pem.write_to_path(tmp_path / "server.key")
    (tmp_path / "web.yml").write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
    )
    clock = Clock()
    stock(sqlite_engine, clock.now)
    web = load_archive_web_config(tmp_path / "web.yml")
    with serve_console(sqlite_engine, clock, web_config=web, scheme="https") as url:
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        with httpx.Client(base_url=url, verify=ctx, follow_redirects=True, timeout=60) as client:
            form = client.get("/console/sign-in")
            signed = client.post(
                "/console/sign-in",
                data={"csrf": csrf(form.text), "user": ADMIN, "password": ADMIN_PASSWORD},
            )
            assert signed.status_code == 200
            assert str(signed.url).endswith("/console/")
            assert "site-a" in signed.text
            out = client.post("/console/sign-out", data={"csrf": csrf(signed.text)})
            assert str(out.url).endswith("/console/sign-in")
            assert client.get("/console/").url.path == "/console/sign-in"


# --- pure parts -----------------------------------------------------------------------------


def request_from(scheme: str, peer: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "client": (peer, 1234),
            "headers": raw,
            "method": "GET",
            "path": "/",
            "query_string": b"",
            "server": ("a", 1),
        }
    )


def test_plain_http_is_refused_only_from_elsewhere() -> None:
    assert not insecure_transport(request_from("https", "192.0.2.7"))
    assert not insecure_transport(request_from("http", "127.0.0.1"))
    assert not insecure_transport(request_from("http", "::1"))
    assert not insecure_transport(request_from("http", "10.0.0.2", {"X-Forwarded-Proto": "https"}))
    assert insecure_transport(request_from("http", "192.0.2.7"))


def info(**values: Any) -> AgentInfo:
    base: dict[str, Any] = {
        "name": "site",
        "created_at": NOW - timedelta(days=9),
        "last_checkin_at": NOW,
        "last_upload_at": NOW,
        "agent_version": "0.1.0",
        "config_version": None,
        "config_hash": None,
        "config_status": None,
        "config_error": None,
        "config_reported_at": None,
        "published_version": None,
        "snapshots_stored": 3,
    }
    return AgentInfo(**{**base, **values})


NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("values", "verdict", "says"),
    [
        ({}, "ok", ""),
        ({"last_checkin_at": None, "last_upload_at": None}, "unknown", "never"),
        ({"last_upload_at": NOW - timedelta(hours=2)}, "warning", "last upload 2 h ago"),
        ({"last_upload_at": NOW - timedelta(days=3)}, "error", "no upload for 3 d"),
        ({"last_checkin_at": NOW - timedelta(hours=4)}, "warning", "last check-in 4 h"),
        (
            {"config_version": 3, "config_status": "failed", "config_error": "bad range"},
            "error",
            "config v3 failed: bad range",
        ),
        (
            {"published_version": 4, "config_version": 3, "config_status": "applied"},
            "warning",
            "config v4 not confirmed yet (applied: v3)",
        ),
    ],
)
def test_agent_health(values: dict[str, Any], verdict: str, says: str) -> None:
    found = health(info(**values), None, NOW)
    assert found.verdict == verdict
    assert says in " ".join(text for _, text in found.reasons)


def test_an_announced_release_is_a_note_not_a_warning() -> None:
    found = health(info(), "0.2.0", NOW)
    assert found.verdict == "ok"
    assert found.reasons == (("note", "runs 0.1.0; 0.2.0 is announced"),)


def test_daily_history_adds_up_to_the_period() -> None:
    """Each step counts on the day it ends, by billing's rules: a reset, a withheld
    reading (the step across it counts nothing) and a 24-bit wrap."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    readings = [
        Reading(at + timedelta(hours=h), v)
        for h, v in [(0, 1000), (5, 1050), (26, 10), (30, 40), (49, 16_777_000), (51, 100)]
    ]
    found = history("total", "impressions", readings, [at + timedelta(hours=48)])
    assert [d.pages for d in found.days] == [50, 30, 316]
    assert sum(d.pages for d in found.days) == found.usage.pages == 396
    assert [d.flags for d in found.days] == [(), ("reset",), ("wrapped", "counter_event")]
    assert [d.last_value for d in found.days] == [1050, 40, 100]


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "[]",
        "{",
        '{"identity": 5, "supplies": {"a": 1}}',
        '{"counters": [{"name": 1, "value": "x"}], "status": []}',
        '{"taken_at": 12, "alerts": [1, null, "x"]}',
    ],
)
def test_any_stored_text_reads_without_raising(stored: str) -> None:
    view = read_document(stored, "127.0.0.1:161")
    assert view.target == "127.0.0.1:161"
    assert view.counters == ()
