"""Headless Chromium as every browser test and the screenshot script start it.

One flag list, because it is the fence: every host name but 127.0.0.1 resolves to
nothing, and the browser's own background traffic (updates, sync, safe browsing,
pings) is off, so a page under test can reach nothing off loopback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
"""Debian's `chromium`, or None where it is not installed (the tests then skip)."""


def fenced_command(chromium: str, profile: Path, *extra: str) -> list[str]:
    """The command line: headless, fenced to loopback, a fresh `profile`, then `extra`."""
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--no-pings",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
        *extra,
    ]
