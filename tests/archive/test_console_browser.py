"""The console in a real browser: headless Chromium (Debian's `chromium`) signs in through the
real form, walks every page, signs out, and keeps a screenshot of each page in artifacts/.

How Chromium is driven, and why this way: a sign-in is a form POST, and `--dump-dom` or
`--screenshot` cannot post a form or keep a cookie between two runs. Chromium speaks the
DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON messages ending in NUL, on its
file descriptors 3 and 4), which needs no websocket library and opens no port; `DevTools`
below is a small client for it. The alternatives were worse: writing a cookie into a
fresh profile's SQLite `Cookies` database depends on Chromium's private schema and value
encryption, and a test-only sign-in route would be a way round sign-in in the product.

Chromium is fenced to loopback as in tests/web/test_browser.py: its resolver maps every
name to nothing except 127.0.0.1, and its background services are off. Every wait is
bounded in time and in count, and waits for a state (a URL, a loaded document), never for
a fixed delay.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from archive import store
from tests.archive.conftest import ADMIN, ADMIN_PASSWORD
from tests.archive.test_console import (
    HOSTILE_MODEL,
    HOSTILE_PANEL,
    HOSTILE_TARGET,
    Clock,
    serve_console,
    stock,
)
from tests.chromium import CHROMIUM, fenced_command

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.05
MAX_POLLS = int(TIMEOUT_SECONDS / POLL_SECONDS)
SESSION = "__Host-archive-session"
_HELPER = (
    "import os, sys; a, b = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2])); "
    "os.dup2(a, 3); os.dup2(b, 4); os.set_inheritable(3, True); os.set_inheritable(4, True); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)
"""Puts the pipe ends on fds 3 and 4 and becomes Chromium: no preexec_fn, which is unsafe
while the test's server threads run. (`os.dup` may itself land on 3 or 4, and then
`dup2` keeps its close-on-exec flag: hence `set_inheritable`.)"""

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (Debian: apt-get install chromium); CI installs it",
    ),
]


class DevToolsError(RuntimeError):
    """Chromium answered a command with an error, went away, or did not answer in time."""


class DevTools:
    """A DevTools-protocol client for one headless Chromium over its debugging pipe."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        to_chromium, self._write = os.pipe()
        self._read, from_chromium = os.pipe()
        command = [
            sys.executable,
            "-c",
            _HELPER,
            str(to_chromium),
            str(from_chromium),
            *fenced_command(
                CHROMIUM,
                profile,
                "--remote-debugging-pipe",
                "--window-size=1280,900",
                "about:blank",
            ),
        ]
        self.process = subprocess.Popen(
            command,
            pass_fds=(to_chromium, from_chromium),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chromium)
        os.close(from_chromium)
        self._buffer = b""
        self._next_id = 0

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Send one command and return its result (events in between are dropped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._write, json.dumps(message).encode() + b"\0")
        except OSError as error:
            raise DevToolsError(f"{method}: chromium went away ({error})") from None
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            answer = self._receive(deadline, method)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise DevToolsError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def _receive(self, deadline: float, method: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(0.0, left))
            if not ready:
                raise DevToolsError(f"{method}: no answer in {TIMEOUT_SECONDS:g} s")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise DevToolsError(f"{method}: chromium closed the pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        found: dict[str, Any] = json.loads(raw)
        return found

    def close(self) -> None:
        with contextlib.suppress(DevToolsError):
            self.call("Browser.close")
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(20)
        os.close(self._write)
        os.close(self._read)


class Tab:
    """One page of the browser, at 1280x900."""

    def __init__(self, tools: DevTools) -> None:
        self.tools = tools
        target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session: str = tools.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        self.call("Page.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.tools.call(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression[:60]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def go(self, url: str, path: str | None = None) -> None:
        """Open `url` and wait until a page at `path` (the url's own by default) is loaded."""
        self.call("Page.navigate", {"url": url})
        self.wait_for(path or "/" + url.split("/", 3)[3].split("?")[0])

    def wait_for(self, path: str) -> None:
        """Wait until the document at `path` has loaded (a redirect or a form post)."""
        state = None
        for _ in range(MAX_POLLS):
            try:
                state = self.evaluate("[location.pathname, document.readyState]")
            except DevToolsError:  # the document is being replaced
                state = None
            if state == [path, "complete"]:
                return
            time.sleep(POLL_SECONDS)
        raise DevToolsError(f"never reached {path}: last state {state}")

    def type_into(self, element_id: str, text: str) -> None:
        """Focus a field and type into it, as a user does (Input events, not a script)."""
        self.evaluate(f"document.getElementById({json.dumps(element_id)}).focus()")
        self.call("Input.insertText", {"text": text})

    def click(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def text(self) -> str:
        value: str = self.evaluate("document.body.innerText")
        return value

    def cookies(self, url: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("Network.getCookies", {"urls": [url]})["cookies"]
        return found

    def screenshot(self, name: str) -> Path:
        """The whole page (not only the window) as artifacts/NAME.png."""
        metrics = self.call("Page.getLayoutMetrics")["cssContentSize"]
        height = min(int(metrics["height"]), 6000)
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
            },
        )
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Tab]:
    tools = DevTools(tmp_path / "profile")
    try:
        yield Tab(tools)
    finally:
        tools.close()


@pytest.fixture
def url(sqlite_engine: Engine) -> Iterator[str]:
    clock = Clock()
    stock(sqlite_engine, clock.now)
    with serve_console(sqlite_engine, clock) as base:
        yield base


def sign_in(tab: Tab, url: str, then: str = "/console/") -> None:
    tab.go(f"{url}{then}", "/console/sign-in")
    tab.type_into("user", ADMIN)
    tab.type_into("password", ADMIN_PASSWORD)
    tab.click("#sign-in")
    tab.wait_for(then)


def assert_inert(tab: Tab) -> None:
    """Nothing a site sent became markup or ran."""
    assert tab.evaluate("document.scripts.length") == 0
    assert tab.evaluate("document.querySelector('#pwned, #pwned2, img') === null")
    assert tab.evaluate("document.title") != "pwned"


def test_sign_in_through_the_form_then_every_page(browser: Tab, url: str) -> None:
    browser.go(f"{url}/console/devices", "/console/sign-in")
    assert browser.evaluate("document.querySelector('input[name=next]').value") == (
        "/console/devices"
    )
    assert browser.screenshot("console-sign-in").stat().st_size > 10_000
    browser.type_into("user", ADMIN)
    browser.type_into("password", ADMIN_PASSWORD)
    browser.click("#sign-in")
    browser.wait_for("/console/devices")  # back where the browser was sent from

    session = [c for c in browser.cookies(url) if c["name"] == SESSION]
    assert len(session) == 1
    assert session[0]["httpOnly"] is True
    assert session[0]["secure"] is True
    assert session[0]["sameSite"] == "Strict"
    assert session[0]["path"] == "/"
    assert browser.evaluate("document.cookie") == ""  # HttpOnly: no script can read it

    text = browser.text()
    assert "LaserJet M507" in text
    assert HOSTILE_MODEL in text  # shown as the text it is
    assert HOSTILE_TARGET in text
    assert_inert(browser)
    assert browser.evaluate("document.querySelectorAll('table.devices tbody tr').length") == 3
    browser.screenshot("console-devices")

    browser.go(f"{url}/console/")
    assert "Healthy" in browser.text()
    assert "Never seen" in browser.text()
    browser.screenshot("console-agents")

    browser.go(f"{url}/console/devices?q=reception")
    browser.click("a.model")
    browser.wait_for("/console/device")
    text = browser.text()
    assert "Black Cartridge HP 89A" in text
    assert "Tray 2 low" in text
    assert browser.evaluate("document.querySelectorAll('table.days tbody tr').length") == 3
    browser.screenshot("console-device")

    browser.go(f"{url}/console/devices?q=acme")
    browser.click("a.model")
    browser.wait_for("/console/device")
    assert HOSTILE_PANEL in browser.text()
    assert_inert(browser)
    browser.screenshot("console-device-hostile")

    browser.go(f"{url}/console/billing")
    today = datetime.now(UTC).date()
    week_ago = (today - timedelta(days=7)).isoformat()
    browser.evaluate(f"document.getElementById('from').value = '{week_ago}'")
    browser.evaluate(f"document.getElementById('to').value = '{today.isoformat()}'")
    browser.click("form.filter button")
    browser.wait_for("/console/billing")
    assert "Download CSV" in browser.text()
    assert browser.evaluate("document.querySelectorAll('section table tbody tr').length") >= 4
    browser.screenshot("console-billing")

    browser.click("form.signout button")
    browser.wait_for("/console/sign-in")
    assert not [c for c in browser.cookies(url) if c["name"] == SESSION]
    browser.go(f"{url}/console/", "/console/sign-in")


def test_an_agent_token_in_the_browser_opens_nothing(
    browser: Tab, url: str, sqlite_engine: Engine
) -> None:
    token = store.rotate_token(sqlite_engine, "site-a").reveal()
    browser.call("Network.enable")
    browser.call("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {token}"}})
    browser.go(f"{url}/console/", "/console/sign-in")
    assert "site-a" not in browser.text()


class _Evil(BaseHTTPRequestHandler):
    """Another site's page: a form that posts to the console's sign-out."""

    console = ""

    def do_GET(self) -> None:
        body = (
            f'<form method="post" action="{self.console}/console/sign-out">'
            '<input type="hidden" name="csrf" value="guessed">'
            '<button id="go" type="submit">win a prize</button></form>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_another_site_cannot_post_to_the_console(browser: Tab, url: str) -> None:
    """Same host, another port: the browser sends the SameSite=Strict cookie (same site),
    but says `Sec-Fetch-Site: same-site`, and the form has no valid token."""
    sign_in(browser, url)
    handler = type("Evil", (_Evil,), {"console": url})
    evil = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=evil.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        browser.go(f"http://127.0.0.1:{evil.server_address[1]}/", "/")
        browser.click("#go")
        browser.wait_for("/console/sign-out")
        assert "did not come from a console page" in browser.text()
    finally:
        evil.shutdown()
        evil.server_close()
        thread.join(20)
    browser.go(f"{url}/console/")  # still signed in
    assert "Agents" in browser.text()
