"""dashboards/: importable Grafana JSON whose queries read only what the exporter emits.

Checks that need only Python: the JSON is what `dashboards/generate.py` builds (the code
is where dashboards are edited), the structure Grafana needs to import a dashboard as
is, one `${DS_PROMETHEUS}` data source throughout, unique panel ids, a layout that
fits the 24-column grid, the shared variables on every dashboard, and every metric name
in a query present in `exporter.metrics.METRIC_NAMES`, pull_sync's own collector, or the
recording rules of alert_rules/printer.rules.yml. With promtool (see test_alert_rules),
every query must also parse as PromQL: they go into a temporary rules file as recording
rules, Grafana's variables replaced by plain values, and `promtool check rules` judges
them. tests/e2e/test_dashboard_queries.py runs them on a real Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.generate import BUILDERS, stale
from exporter.metrics import METRIC_NAMES
from tests.unit.test_alert_rules import RULES, metric_names_in, pull_sync_metric_names, run_promtool

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
EXTRA_NAMES = {"ALERTS"}
"""Prometheus's own series a dashboard may read besides ours."""
RECORDED = {
    rule["record"]
    for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    for rule in group["rules"]
    if "record" in rule
}
"""The recording rules a dashboard may read (the days-to-empty forecast)."""
SHARED_VARIABLES = ["DS_PROMETHEUS", "job", "site", "location", "manufacturer", "model", "target"]
"""Every dashboard's variables, in this order (each narrows the next)."""

GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1d",
    "${__range}": "1d",
    "$job": ".*",
    "$site": ".*",
    "$location": ".*",
    "$manufacturer": ".*",
    "$model": ".*",
    "$pull_sync_job": ".*",
    "$target": "127.0.0.1:161",
}
_VARIABLE_QUERY = re.compile(
    r"^(?:label_values\((?P<selector>.+),\s*\w+\)|query_result\((?P<expr>.+)\))$", re.DOTALL
)


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
            match = _VARIABLE_QUERY.match(variable["query"]["query"])
            assert match, variable["query"]
            yield match["selector"] or match["expr"]


def plain(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


@pytest.fixture(params=DASHBOARDS, ids=lambda path: path.stem)
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    path: Path = request.param
    return load(path)


def test_every_dashboard_exists() -> None:
    assert {path.stem for path in DASHBOARDS} == {
        "printer-fleet",
        "printer-device",
        "printer-supplies",
        "printer-billing",
        "printer-exporter-health",
    }
    assert {path.stem for path in DASHBOARDS} == set(BUILDERS)


def test_json_is_what_the_generator_builds() -> None:
    assert stale() == [], "edit dashboards/*.py, then run python -m dashboards.generate"


def test_uid_is_the_file_name() -> None:
    for path in DASHBOARDS:
        assert load(path)["uid"] == path.stem


def test_shared_variables(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert list(variables)[: len(SHARED_VARIABLES)] == SHARED_VARIABLES
    for name in SHARED_VARIABLES[1:-1]:
        # All must also match a series without the label (a single site has no `site`).
        assert variables[name]["includeAll"], name
        assert variables[name]["allValue"] == ".*", name
    target = variables["target"]
    assert target["query"]["query"].startswith("query_result(label_join(printer_info")
    assert "(?<text>" in target["regex"]
    assert "(?<value>" in target["regex"]
    one_device = dashboard["uid"] == "printer-device"
    assert target["multi"] is not one_device


def test_target_picker_shows_name_and_model() -> None:
    """The picker's regex, run the way Grafana runs it on a query_result line."""
    doc = load(ROOT / "dashboards" / "printer-fleet.json")
    (target,) = [v for v in doc["templating"]["list"] if v["name"] == "target"]
    pattern = target["regex"].strip("/")
    python_pattern = pattern.replace("(?<", "(?P<")  # JavaScript's named groups, in Python
    line = (
        'printer_info{device="reception · ECOSYS P3145dn · 10.0.0.7:161",instance="a:9269",'
        'job="printers",model="ECOSYS P3145dn",name="reception",target="10.0.0.7:161"}'
        " 1 1700000000000"
    )
    match = re.match(python_pattern, line)
    assert match
    assert match["text"] == "reception · ECOSYS P3145dn · 10.0.0.7:161"
    assert match["value"] == "10.0.0.7:161"


def test_every_query_obeys_the_variables(dashboard: dict[str, Any]) -> None:
    """A panel that ignored a variable would show the whole fleet under a narrowed choice."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target["expr"]
            if "pull_sync_" in expr:
                assert 'job=~"$pull_sync_job"' in expr, expr
            else:
                assert '"$job"' in expr, expr
            assert 'site=~"$site"' in expr, expr
            if "target=~" in expr:  # per device, on a fleet dashboard: identity through a join
                assert 'model=~"$model"' in expr, expr


def test_importable_structure(dashboard: dict[str, Any]) -> None:
    assert dashboard["id"] is None  # Grafana assigns it on import
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["time"]["from"]
    assert dashboard["time"]["to"]
    # __inputs for the import wizard, a data source variable for file provisioning
    (ds_input,) = dashboard["__inputs"]
    assert (ds_input["name"], ds_input["type"], ds_input["pluginId"]) == (
        "DS_PROMETHEUS",
        "datasource",
        "prometheus",
    )
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
    known = METRIC_NAMES | pull_sync_metric_names() | EXTRA_NAMES | RECORDED
    for expr in queries(dashboard):
        extra = {n for n in EXTRA_NAMES | RECORDED if re.search(rf"(?<![\w:]){n}(?![\w:])", expr)}
        names = metric_names_in(expr) | extra
        assert names, f"reads no metric: {expr}"
        assert names <= known, f"{names - known}: {expr}"


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
