"""Agent-supplied text is data, never markup: a printer's sysLocation or panel text
must not inject HTML into the pages (Jinja2 autoescape, and a CSP behind it)."""

from __future__ import annotations

import httpx
from markupsafe import escape

from tests.web.conftest import HOSTILE_LOCATION, HOSTILE_PANEL, HOSTILE_TARGET


def test_landing_page_escapes_a_hostile_location_and_model(base_url: str) -> None:
    page = httpx.get(f"{base_url}/").text
    assert HOSTILE_LOCATION not in page
    assert "<b>X</b>" not in page
    assert str(escape(HOSTILE_LOCATION)) in page
    assert "M&lt;b&gt;X&lt;/b&gt;" in page
    assert "<script" not in page.lower()


def test_device_page_escapes_hostile_panel_text(base_url: str) -> None:
    response = httpx.get(f"{base_url}/device/{HOSTILE_TARGET}")
    assert response.status_code == 200
    page = response.text
    assert HOSTILE_PANEL not in page
    assert "<img" not in page.lower()
    assert str(escape(HOSTILE_PANEL)) in page
    assert str(escape(HOSTILE_LOCATION)) in page
    assert "script-src" not in response.headers["content-security-policy"]  # none allowed


def test_a_hostile_device_path_is_escaped_in_the_404_page(base_url: str) -> None:
    response = httpx.get(f"{base_url}/device/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
