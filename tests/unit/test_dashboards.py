"""dashboards/: importable Grafana JSON whose queries read only what the exporter emits.

Checks that need only Python: the structure Grafana needs to import a dashboard as
is, one `${DS_PROMETHEUS}` data source throughout, unique panel ids, a layout that
fits the 24-column grid, and every metric name in a query present in
`exporter.metrics.METRIC_NAMES`. With promtool (see test_alert_rules), every query
must also parse as PromQL: they go into a temporary rules file as recording rules,
Grafana's variables replaced by plain values, and `promtool check rules` judges them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.metrics import METRIC_NAMES
from tests.unit.test_alert_rules import metric_names_in, run_promtool

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
EXTRA_NAMES = {"ALERTS"}
"""Prometheus's own series a dashboard may read besides ours."""

GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1d",
    "${__range}": "1d",
    "$job": ".*",
    "$target": "127.0.0.1:161",
}
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*\w+\)$")


def load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def panels(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in doc["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels inside a collapsed row


def queries(doc: dict[str, Any]) -> Iterator[str]:
    """Every PromQL expression: panel targets, and the selectors of query variables."""
    for panel in panels(doc):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in doc["templating"]["list"]:
        if variable["type"] == "query":
            match = _LABEL_VALUES.match(variable["query"]["query"])
            assert match, variable["query"]
            yield match["selector"]


def plain(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


@pytest.fixture(params=DASHBOARDS, ids=lambda path: path.stem)
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    path: Path = request.param
    return load(path)


def test_both_dashboards_exist() -> None:
    assert {path.stem for path in DASHBOARDS} == {"printer-fleet", "printer-device"}


def test_importable_structure(dashboard: dict[str, Any]) -> None:
    assert dashboard["id"] is None  # Grafana assigns it on import
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["time"]["from"]
    assert dashboard["time"]["to"]
    assert (
        "__inputs" not in dashboard
    )  # a data source variable instead: works imported or provisioned
    (ds_var,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert ds_var["name"] == "DS_PROMETHEUS"
    assert ds_var["query"] == "prometheus"


def test_one_data_source_throughout(dashboard: dict[str, Any]) -> None:
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE


def test_panels_have_unique_ids_and_fit_the_grid(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert min(pos["w"], pos["h"]) > 0
        assert min(pos["x"], pos["y"]) >= 0
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area


def test_panel_titles_and_descriptions(dashboard: dict[str, Any]) -> None:
    for panel in panels(dashboard):
        assert panel["title"]
        if panel["type"] != "row":
            assert panel["description"], panel["title"]


def test_queries_read_only_emitted_metrics(dashboard: dict[str, Any]) -> None:
    for expr in queries(dashboard):
        names = metric_names_in(expr) | {n for n in EXTRA_NAMES if re.search(rf"\b{n}\b", expr)}
        assert names, f"reads no metric: {expr}"
        assert names <= METRIC_NAMES | EXTRA_NAMES, f"{names - METRIC_NAMES}: {expr}"


def test_device_dashboard_is_about_one_target() -> None:
    doc = load(ROOT / "dashboards" / "printer-device.json")
    names = {v["name"] for v in doc["templating"]["list"]}
    assert "target" in names
    for panel in panels(doc):
        for target in panel.get("targets", []):
            assert 'target="$target"' in target["expr"], target["expr"]


def test_fleet_dashboard_covers_the_brief() -> None:
    doc = load(ROOT / "dashboards" / "printer-fleet.json")
    exprs = "\n".join(queries(doc))
    for needle in (
        "printer_up",
        "printer_error_condition",
        "printer_supply_remaining_ratio",
        "printer_pages_total",
        "printer_alert",
        "ALERTS",
        "printer_poll_duration_seconds",
    ):
        assert needle in exprs, needle


def test_queries_parse_as_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    rules = [
        {"record": f"dashboard:query:{i}", "expr": plain(expr)}
        for i, expr in enumerate(queries(dashboard))
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run_promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
