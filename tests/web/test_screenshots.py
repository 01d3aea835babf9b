"""Pictures of the pages as a user first sees them: a real exporter process polling simulated
printers (snmpsim on 127.6.0.x), its landing page and a device page rendered by headless
Chromium and kept as test artifacts.

The PNGs go to $PRINTER_EXPORTER_ARTIFACTS/screenshots when that is set, else to the test's
temporary directory; the path is printed. The same code makes docs/img/ for the README
(`.venv/bin/python -m tests.web.screenshots docs/img`). Chromium's DOM of the
same pages is checked too: a picture of an error page or an empty fleet would still be a
PNG, so the text shows it is the polled fleet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import CHROMIUM
from tests.web.screenshots import (
    DEVICE,
    DOWN,
    FIXTURES,
    PRINTERS,
    dump_dom,
    png_size,
    running_exporter,
    screenshot,
    shots,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (Debian: apt-get install chromium); CI installs it",
    ),
]


def expected(fixture: str) -> dict[str, Any]:
    """The fixture's oracle: what the readers must make of the recording."""
    found: dict[str, Any] = json.loads(
        (FIXTURES / f"{fixture}.expected.json").read_text(encoding="utf-8")
    )
    return found


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The exporter's base URL once it has polled every printer, and the SNMP port."""
    with running_exporter(tmp_path_factory.mktemp("screenshots")) as started:
        yield started


def artifacts_dir(tmp_path: Path) -> Path:
    root = os.environ.get("PRINTER_EXPORTER_ARTIFACTS")
    out = Path(root) / "screenshots" if root else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_landing_and_device_pages_are_rendered(exporter: tuple[str, int], tmp_path: Path) -> None:
    assert CHROMIUM is not None
    base, snmp_port = exporter
    out = artifacts_dir(tmp_path)
    taken = shots(base, snmp_port, out)
    for shot in taken:
        screenshot(CHROMIUM, shot.url, shot.path, shot.window)
        assert png_size(shot.path) == shot.window
        # A blank page or a short error page compresses to a few kB.
        assert shot.path.stat().st_size > 30_000, shot
    print(f"screenshots: {', '.join(str(s.path) for s in taken)}")


def test_the_landing_page_shows_the_polled_fleet(exporter: tuple[str, int]) -> None:
    assert CHROMIUM is not None
    base, snmp_port = exporter
    dom = dump_dom(CHROMIUM, f"{base}/")
    for host, fixture in PRINTERS.items():
        assert f"{host}:{snmp_port}" in dom
        assert expected(fixture)["identity"]["model"] in dom
    assert f"{DOWN}:{snmp_port}" in dom
    assert dom.count('class="status status-') == len(PRINTERS) + 1


def test_the_device_page_shows_the_colour_mfp(exporter: tuple[str, int]) -> None:
    assert CHROMIUM is not None
    base, snmp_port = exporter
    _, device = shots(base, snmp_port, Path("unused"))
    dom = dump_dom(CHROMIUM, device.url)
    oracle = expected(PRINTERS[DEVICE])
    assert f"{DEVICE}:{snmp_port}" in dom
    assert oracle["identity"]["model"] in dom
    for section in ("Identity", "Status", "Counters", "Supplies", "Trays"):
        assert f">{section}<" in dom, section
    for supply in oracle["supplies"]:
        assert supply["description"] in dom
