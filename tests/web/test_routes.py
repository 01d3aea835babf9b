"""Every route and status code, against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import gzip
import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.model import Reachability, ReachState
from exporter.store import DeviceEntry
from exporter.web import METRICS_CONTENT_TYPE, WebSettings, build_app
from tests.web.conftest import (
    DOWN_TARGET,
    FLEET,
    MODELS,
    PROBE_TARGET,
    FakeService,
    serve,
)


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def test_metrics_is_valid_exposition_for_every_device(base_url: str) -> None:
    response = httpx.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == METRICS_CONTENT_TYPE
    series = samples(response.text)
    up = {labels["target"]: value for labels, value in series["printer_up"]}
    assert up[DOWN_TARGET] == 0
    for _, target in FLEET:
        assert up[target] == 1
    assert ({"target": FLEET[0][1], "supply": "4", "state": "low"}, 1.0) in series[
        "printer_supply_state"
    ]


def test_metrics_is_gzipped_when_the_client_accepts_it(base_url: str) -> None:
    with httpx.Client() as client:
        with client.stream(
            "GET", f"{base_url}/metrics", headers={"Accept-Encoding": "gzip"}
        ) as zipped:
            assert zipped.headers["content-encoding"] == "gzip"
            body = b"".join(zipped.iter_raw())
        plain = client.get(f"{base_url}/metrics", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(body) == plain.content
    assert len(body) < len(plain.content) // 3


def test_landing_page_lists_every_printer(base_url: str) -> None:
    response = httpx.get(f"{base_url}/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html = response.text
    for name, target in FLEET:
        assert MODELS[name] in html
        assert target in html
    for link in ("/metrics", "/api/v1/snapshot", "/-/healthy"):
        assert f'href="{link}"' in html
    # The summary header counts the fleet: 7 printers, 1 down.
    assert '<span class="num">7</span><span class="lbl">printers</span>' in html
    assert '<span class="num">1</span><span class="lbl">down</span>' in html


def test_landing_page_shows_sentinels_as_words_not_bars(base_url: str) -> None:
    html = httpx.get(f"{base_url}/").text
    sentinel_row = html.split("127.0.0.13:161", 1)[1].split("</tr>", 1)[0]
    assert "Unrestricted" in sentinel_row
    assert "Some remaining" in sentinel_row
    assert "Unknown" in sentinel_row
    assert sentinel_row.count("<svg") == 1  # only yellow has a real ratio


def test_device_page_shows_counters_with_sources_and_supplies(base_url: str) -> None:
    target = FLEET[0][1]
    response = httpx.get(f"{base_url}/device/{target}")
    assert response.status_code == 200
    html = response.text
    assert "1.3.6.1.2.1.43.10.2.1.4.1.1" in html  # the source OID of the total counter
    assert "Yellow Cartridge HP W2022A" in html
    assert "Yellow cartridge low" in html  # panel text
    assert "Front Door" in html  # covers
    assert "marker_toner_almost_empty" in html  # alerts
    assert "identity" in html  # reader durations
    # a supply's and a tray's level and maximum, each cell through the `num` macro
    assert len(re.findall(r'<td class="num">\d+</td><td class="num">\d+</td>', html)) >= 2


def test_device_page_url_encoded_target_works(base_url: str) -> None:
    response = httpx.get(f"{base_url}/device/127.0.0.12%3A161")
    assert response.status_code == 200
    assert "ECOSYS P3145dn" in response.text


def test_down_device_page_shows_last_good_data_as_stale(base_url: str) -> None:
    html = httpx.get(f"{base_url}/device/{DOWN_TARGET}").text
    assert "did not answer its last poll" in html
    assert "ECOSYS P3145dn" in html


def test_unknown_device_and_unknown_path_are_404_pages(base_url: str) -> None:
    response = httpx.get(f"{base_url}/device/192.0.2.1:161")
    assert response.status_code == 404
    assert "No device with target 192.0.2.1:161" in response.text
    assert httpx.get(f"{base_url}/nope").status_code == 404


def test_healthy(base_url: str) -> None:
    response = httpx.get(f"{base_url}/-/healthy")
    assert (response.status_code, response.text) == (200, "OK")


@pytest.mark.parametrize(("ready", "status"), [(True, 200), (False, 503)])
def test_ready_follows_the_first_poll_cycle(service: FakeService, ready: bool, status: int) -> None:
    service.is_ready = ready
    with serve(build_app(service, WebSettings())) as url:
        assert httpx.get(f"{url}/-/ready").status_code == status


def test_reload_success_failure_and_get(service: FakeService) -> None:
    with serve(build_app(service, WebSettings())) as url:
        ok = httpx.post(f"{url}/-/reload")
        assert (ok.status_code, ok.text) == (200, "config reloaded: 5 targets")
        service.reload_result = (False, "targets[2]: not a host:port\nold config kept")
        failed = httpx.post(f"{url}/-/reload")
        assert failed.status_code == 500
        assert failed.text == "targets[2]: not a host:port old config kept"
        assert httpx.get(f"{url}/-/reload").status_code == 405
    assert service.reloads == 2


def test_snapshot_api_serves_loopback_clients(base_url: str) -> None:
    response = httpx.get(f"{base_url}/api/v1/snapshot")
    assert response.status_code == 200
    docs = response.json()
    assert len(docs) == 7
    assert {doc["schema"] for doc in docs} == {"printer-snapshot/1"}
    by_target = {doc["target"]: doc for doc in docs}
    assert by_target[FLEET[1][1]]["identity"]["model"] == "ECOSYS P3145dn"
    assert by_target[DOWN_TARGET]["reachable"] is False


def test_snapshot_api_refuses_a_forwarded_remote_client(base_url: str) -> None:
    """A reverse proxy on loopback says who the client is: that client is not local."""
    response = httpx.get(f"{base_url}/api/v1/snapshot", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.status_code == 403
    assert "loopback" in response.text


def test_probe_renders_one_device(service: FakeService, base_url: str) -> None:
    response = httpx.get(
        f"{base_url}/probe", params={"target": PROBE_TARGET, "credentials": "office"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == METRICS_CONTENT_TYPE
    series = samples(response.text)
    assert series["printer_up"] == [({"target": PROBE_TARGET}, 1.0)]
    assert {labels["target"] for labels, _ in series["printer_info"]} == {PROBE_TARGET}
    assert service.probes == [(PROBE_TARGET, {"credentials": "office"})]


def test_probe_refused_target_is_400_with_the_reason(base_url: str) -> None:
    response = httpx.get(f"{base_url}/probe", params={"target": "198.51.100.1:161"})
    assert response.status_code == 400
    assert "not in the config's targets" in response.text
    assert "\n" not in response.text.strip()
    assert httpx.get(f"{base_url}/probe").status_code == 400


def test_probe_can_be_disabled(service: FakeService) -> None:
    with serve(build_app(service, WebSettings(probe_enabled=False))) as url:
        assert httpx.get(f"{url}/probe", params={"target": PROBE_TARGET}).status_code == 404
    assert service.probes == []


def test_route_prefix_from_external_url(service: FakeService) -> None:
    settings = WebSettings(external_url="https://printers.example/exporter/")
    with serve(build_app(service, settings)) as url:
        html = httpx.get(f"{url}/exporter/").text
        assert 'href="/exporter/metrics"' in html
        assert httpx.get(f"{url}/exporter/metrics").status_code == 200
        assert httpx.get(f"{url}/exporter/static/style.css").status_code == 200
        assert httpx.get(f"{url}/metrics").status_code == 404


def test_stylesheet_is_served(base_url: str) -> None:
    response = httpx.get(f"{base_url}/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_pages_show_the_running_total_after_a_wrap(fleet: list[DeviceEntry]) -> None:
    """What the pages call the total is what /metrics and the bill use: the device's
    value plus the wraps it made; the device's own value is shown beside it."""
    entry = fleet[0]
    counters = tuple(
        dataclasses.replace(c, value=50, offset=2**24) if c.name == "total" else c
        for c in entry.snapshot.counters
    )
    wrapped = dataclasses.replace(
        entry, snapshot=dataclasses.replace(entry.snapshot, counters=counters)
    )
    service = FakeService([wrapped])
    target = wrapped.snapshot.target
    with serve(build_app(service, WebSettings())) as url:
        landing = httpx.get(f"{url}/").text
        device = httpx.get(f"{url}/device/{target}").text
    assert "16,777,266" in landing.split(target, 1)[1].split("</tr>", 1)[0]
    assert "16,777,266" in device
    assert "(device: 50)" in device


@pytest.mark.parametrize(
    ("state", "label"),
    [("host_down", "Host down"), ("snmp_silent", "SNMP silent"), ("snmp_refused", "Credential")],
)
def test_a_down_printer_says_why(fleet: list[DeviceEntry], state: ReachState, label: str) -> None:
    (down,) = [e for e in fleet if e.snapshot.target == DOWN_TARGET]
    snap = dataclasses.replace(down.snapshot, reachability=Reachability(state))
    service = FakeService([dataclasses.replace(down, snapshot=snap)])
    with serve(build_app(service, WebSettings())) as url:
        row = httpx.get(f"{url}/").text.split(DOWN_TARGET, 1)[1].split("</tr>", 1)[0]
    assert label in row
