"""The pages in a real browser: headless Chromium (Debian's `chromium`) renders the
landing and device pages from a real server, and keeps screenshots in artifacts/.

Why a browser and not only HTML asserts: a page that parses but lays out as a mess
(a bar that does not draw, a table that overflows) passes every string check. The
screenshots are for a human to look at; the DOM dump checks what was rendered.
Chromium is fenced to loopback: its resolver maps every name to nothing except
127.0.0.1, and its background services are off.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.web import WebSettings, build_app
from tests.chromium import CHROMIUM, fenced_command
from tests.web.conftest import FLEET, MODELS, FakeService, serve

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TIMEOUT_SECONDS = 90

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (Debian: apt-get install chromium); CI installs it",
    ),
]


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = fenced_command(CHROMIUM, profile, "--window-size=1280,900", *args)
    return subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def url(service: FakeService) -> Iterator[str]:
    with serve(build_app(service, WebSettings())) as base:
        yield base


def test_landing_page_screenshot(url: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "landing.png"
    shot.unlink(missing_ok=True)
    result = chromium(tmp_path / "profile", f"--screenshot={shot}", f"{url}/")
    assert shot.exists(), result.stderr[-2000:]
    assert png_size(shot) == (1280, 900)
    assert shot.stat().st_size > 20_000  # a blank or error page compresses to a few KB


def test_landing_page_dom_has_every_printer(url: str, tmp_path: Path) -> None:
    result = chromium(tmp_path / "profile", "--dump-dom", f"{url}/")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for name, target in FLEET:
        assert MODELS[name] in dom
        assert target in dom
    assert dom.count('class="status status-') == 7
    assert "<script" not in dom.lower()  # the hostile sysLocation stayed text


def test_device_page_screenshot(url: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "device.png"
    shot.unlink(missing_ok=True)
    target = FLEET[2][1]  # the sentinels printer: every supply state at once
    result = chromium(tmp_path / "profile", f"--screenshot={shot}", f"{url}/device/{target}")
    assert shot.exists(), result.stderr[-2000:]
    assert shot.stat().st_size > 20_000
