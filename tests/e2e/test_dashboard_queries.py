"""Every query of every dashboard, run on a real Prometheus over a simulated fleet.

snmpsim serves the living demo printers (demo/living.py: meters rise, toner drains, the
HP's meter wraps, the Kyocera jams) and two static recordings on 127.2.1.0/24; a fifth
printer is only in a discovery range, so the sweep finds it; one address answers nothing.
The exporter polls them, a real Debian Prometheus scrapes it every second with the
bundled rules loaded (each `for:` cut to 0s) and a `site` label on the job.

Then each panel query (and each variable's query) goes through Prometheus's HTTP API
with Grafana's variables replaced by values that select the whole fleet, and must return
data, unless it is in EMPTY_HERE, where each entry says why it is correctly empty over
this fleet (those must be empty, so the list cannot go stale). The device dashboard's
queries are run for each printer in turn: a query has data when some printer gives it.
The test prints the count per dashboard.

Everything is on loopback with ports picked free; every wait is bounded and none judges
speed. Without Debian's prometheus the test skips, or fails when
PRINTER_EXPORTER_REQUIRE_PROMTOOL is set (CI).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.living import VARIATION_DIR, write_recordings
from demo.simulator import Simulator, free_tcp_port, free_udp_port
from tests.e2e.processes import Process, fast_rules, wait_for
from tests.oracle import FIXTURES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
PACE = 0.5
"""Seconds per step of the living printers: the HP's meter wraps after 24 steps."""
POLLED = {"127.2.1.11": "color_mfp", "127.2.1.12": "mono_printer", "127.2.1.13": "sentinels"}
FOUND = {"127.2.1.14": "pwg_counters"}
"""Served but not listed: discovery finds it (its range also holds one silent address)."""
DEAD = "127.2.1.19"
JOB = "printers"
SITE = "e2e-site"
RANGE = "30s"
"""The dashboards' time range ($__range) in this test: the data are a minute or two old."""
WAIT = 120.0

EMPTY_HERE: dict[tuple[str, str, str], str] = {
    # pull_sync does not run in this test (its own tests cover its /metrics): every
    # pull_sync panel and the pull_sync job variable are correctly empty.
    **{
        ("printer-exporter-health", title, ref): "no pull_sync runs here"
        for title, ref in (
            ("Outbox batches", "A"),
            ("Oldest waiting batch", "A"),
            ("Outbox used", "A"),
            ("Since last upload", "A"),
            ("Upload attempts by result", "A"),
            ("Upload duration, 90th percentile", "A"),
            ("Outbox and losses", "A"),
            ("Outbox and losses", "B"),
            ("Outbox and losses", "C"),
            ("Collections and check-ins by result", "A"),
            ("Collections and check-ins by result", "B"),
            ("Last check-in outcome", "A"),
            ("Check-in age and config", "A"),
            ("Check-in age and config", "B"),
            ("variable", "pull_sync_job"),
        )
    },
}
"""(dashboard, panel title or "variable", refId or variable name): why it is empty here."""


@dataclass(frozen=True, slots=True)
class Check:
    """One query of a dashboard, ready to run."""

    dashboard: str
    panel: str
    ref: str
    expr: str
    instant: bool
    interval: str
    series_of: str | None = None
    """For a `label_values(selector, label)` variable: the label; the expr is the selector."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.dashboard, self.panel, self.ref)


def _require_prometheus() -> str:
    """The prometheus binary; skip without it, fail instead when CI requires it."""
    path = shutil.which("prometheus")
    if path is None:
        reason = "needs Debian's prometheus (apt-get install prometheus)"
        if os.environ.get("PRINTER_EXPORTER_REQUIRE_PROMTOOL"):
            pytest.fail(f"{reason}, and PRINTER_EXPORTER_REQUIRE_PROMTOOL is set")
        pytest.skip(reason)
    return path


def _write_configs(tmp: Path, snmp_port: int, exporter_port: int) -> None:
    names = sorted({*POLLED.values(), *FOUND.values()})
    (found_host,) = FOUND
    config = {
        "credentials": [{"name": n, "version": "2c", "community": n} for n in names],
        "targets": [
            {"address": f"{host}:{snmp_port}", "credentials": [name]}
            for host, name in POLLED.items()
        ]
        + [{"address": f"{DEAD}:{snmp_port}", "credentials": ["color_mfp"]}],
        "discovery": {
            "ranges": [{"range": f"{found_host}-15", "credentials": list(FOUND.values())}],
            "port": snmp_port,
            "interval": "1m",
            "timeout": "500ms",
        },
        "poll": {"interval": "2s", "timeout": "1s", "retries": 1},
    }
    (tmp / "exporter.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    fast_rules(ROOT / "alert_rules" / "printer.rules.yml", tmp / "rules.yml")
    prometheus = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "rules.yml")],
        "scrape_configs": [
            {
                "job_name": JOB,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{exporter_port}"], "labels": {"site": SITE}}
                ],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(prometheus), encoding="utf-8")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    binary = _require_prometheus()
    tmp = tmp_path_factory.mktemp("dashboards")
    served = {**POLLED, **FOUND}
    snmp_port = free_udp_port([*served, DEAD])
    exporter_port, prom_port = free_tcp_port(), free_tcp_port()
    _write_configs(tmp, snmp_port, exporter_port)
    data = tmp / "recordings"
    write_recordings(FIXTURES, data, sorted(set(served.values())), PACE)
    processes: list[Process] = []
    endpoints = [(host, snmp_port) for host in served]
    with Simulator(data, endpoints, variation_dirs=[VARIATION_DIR]):
        try:
            exporter = [
                sys.executable, "-m", "exporter.cli",
                "--config.file", str(tmp / "exporter.yml"),
                "--web.listen-address", f"127.0.0.1:{exporter_port}",
                "--storage.path", str(tmp / "data"),
            ]  # fmt: skip
            processes.append(Process(exporter, tmp / "exporter.log"))
            server = [
                binary,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ]
            processes.append(Process(server, tmp / "prometheus.log"))
            stack = {
                "url": f"http://127.0.0.1:{prom_port}",
                "targets": [f"{host}:{snmp_port}" for host in served],
                "processes": processes,
            }
            _wait_for_history(stack)
            yield stack
        finally:
            for process in reversed(processes):
                process.stop()


def _get(stack: dict[str, Any], path: str, params: dict[str, Any]) -> Any:
    response = httpx.get(f"{stack['url']}{path}", params=params, timeout=30)
    if response.status_code == 400:
        raise AssertionError(f"Prometheus refused {params}: {response.text}")
    response.raise_for_status()
    return response.json()["data"]


def _instant(stack: dict[str, Any], expr: str) -> list[Any]:
    result: list[Any] = _get(stack, "/api/v1/query", {"query": expr})["result"]
    return result


def _wait_for_history(stack: dict[str, Any]) -> None:
    """Until every printer is polled, the discovered one too, a forecast exists, and the
    meters have a reading from $__range ago: what the panels need to have something."""
    wanted = len(stack["targets"])
    conditions = {
        "every printer up": f'count(printer_up{{job="{JOB}"}} == 1) >= {wanted}',
        "a days-to-empty forecast": "target_supply:printer_supply_days_to_empty:deriv7d",
        "a meter wrap": 'printer_counter_events_total{kind="wrap"}',
        f"meters {RANGE} old": f"printer_pages_total offset {RANGE}",
    }
    try:
        for what, expr in conditions.items():
            wait_for(what, lambda e=expr: _instant(stack, e), WAIT)  # type: ignore[misc]
    except AssertionError as exc:
        logs = "\n\n".join(f"--- {p.log.name}\n{p.tail()}" for p in stack["processes"])
        raise AssertionError(f"{exc}\n{logs}") from None


_SUBSTITUTIONS = {
    "$__rate_interval": "10s",
    "${__range}": RANGE,
    "$__range": RANGE,
    "$job": JOB,
    "$site": SITE,
    "$location": ".*",
    "$manufacturer": ".*",
    "$model": ".*",
    "$pull_sync_job": ".*",
}


def plain(expr: str, interval: str, target: str) -> str:
    """`expr` with Grafana's variables replaced: the whole fleet, or one device."""
    for variable, value in {"$__interval": interval, **_SUBSTITUTIONS}.items():
        expr = expr.replace(variable, value)
    expr = expr.replace("$target", target)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


def checks(path: Path) -> list[Check]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            out.append(
                Check(
                    path.stem,
                    panel["title"],
                    target["refId"],
                    target["expr"],
                    target["instant"],
                    panel.get("interval", "15s"),
                )
            )
    for variable in doc["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query: str = variable["query"]["query"]
        if query.startswith("label_values("):
            selector, label = query.removeprefix("label_values(").removesuffix(")").rsplit(",", 1)
            out.append(
                Check(path.stem, "variable", variable["name"], selector, True, "15s", label.strip())
            )
        else:
            expr = query.removeprefix("query_result(").removesuffix(")")
            out.append(Check(path.stem, "variable", variable["name"], expr, True, "15s"))
    return out


def has_data(stack: dict[str, Any], check: Check, target: str) -> bool:
    expr = plain(check.expr, check.interval, target)
    if check.series_of is not None:
        series = _get(stack, "/api/v1/series", {"match[]": expr, "start": time.time() - 300})
        return any(s.get(check.series_of) for s in series)
    if check.instant:
        return bool(_instant(stack, expr))
    end = time.time()
    params = {"query": expr, "start": end - 90, "end": end, "step": "5s"}
    result = _get(stack, "/api/v1/query_range", params)["result"]
    return any(series["values"] for series in result)


def _targets_for(stack: dict[str, Any], dashboard: str) -> list[str]:
    """The device dashboard is about one printer: try each; the others select them all."""
    return list(stack["targets"]) if dashboard == "printer-device" else [".*"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_query_returns_data_or_is_known_empty(prometheus: dict[str, Any], path: Path) -> None:
    found = checks(path)
    assert found, f"no queries in {path.name}"
    with_data, empty, unexpected = [], [], []
    for check in found:
        got = any(has_data(prometheus, check, t) for t in _targets_for(prometheus, path.stem))
        reason = EMPTY_HERE.get(check.key)
        if got and reason is None:
            with_data.append(check)
        elif not got and reason is not None:
            empty.append(f"{check.panel} {check.ref} ({reason})")
        else:
            unexpected.append((check, got))
    summary = (
        f"{path.stem}: {len(found)} queries, {len(with_data)} with data,"
        f" {len(empty)} correctly empty" + (f": {'; '.join(empty)}" if empty else "")
    )
    print(summary)
    problems = [
        f"{c.panel} {c.ref}: "
        + ("has data but is listed in EMPTY_HERE" if got else "no data")
        + f"\n    {plain(c.expr, c.interval, '.*')}"
        for c, got in unexpected
    ]
    assert not problems, summary + "\n" + "\n".join(problems)


def test_every_dashboard_is_checked() -> None:
    """EMPTY_HERE names only queries that exist (a renamed panel must be renamed here)."""
    keys = {check.key for path in DASHBOARDS for check in checks(path)}
    assert set(EMPTY_HERE) <= keys, set(EMPTY_HERE) - keys


def _panel_expr(stem: str, title: str) -> str:
    (check,) = [c for c in checks(ROOT / "dashboards" / f"{stem}.json") if c.panel == title]
    return check.expr


def test_ship_list_says_why(prometheus: dict[str, Any]) -> None:
    """The list holds supplies forecast to run out (the draining toner) and the yellow
    that the HP itself calls low, each with its device's model."""
    expr = plain(_panel_expr("printer-supplies", "What to ship this week"), "15s", ".*")
    rows = _instant(prometheus, expr)
    why = {row["metric"]["state"] for row in rows}
    assert {"forecast", "low"} <= why, rows
    assert all(row["metric"].get("model") for row in rows), rows


def test_identity_variables_narrow_the_fleet(prometheus: dict[str, Any]) -> None:
    """Choosing a model keeps that model's devices only; All keeps every device."""
    expr = _panel_expr("printer-fleet", "Up")
    every = _instant(prometheus, plain(expr, "15s", ".*"))
    one = _instant(prometheus, plain(expr.replace("$model", "ECOSYS P3145dn"), "15s", ".*"))
    assert float(every[0]["value"][1]) == len(POLLED) + len(FOUND)
    assert float(one[0]["value"][1]) == 1
