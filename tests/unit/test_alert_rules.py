"""alert_rules/: promtool accepts the rules, their unit tests pass, and they cover every alert.

promtool comes from Debian's `prometheus` package (`apt-get install prometheus`). Without
it the promtool tests skip and say so; set PRINTER_EXPORTER_REQUIRE_PROMTOOL=1 (CI does)
to make a missing promtool a failure instead, so the rules cannot go untested by accident.
The coverage and naming checks need only Python and always run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.metrics import METRIC_NAMES

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "alert_rules" / "printer.rules.yml"
RULE_TESTS = ROOT / "alert_rules" / "tests" / "printer.rules.test.yml"
SEVERITIES = {"critical", "warning", "info"}

_IDENTIFIER = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_:][A-Za-z0-9_:]*')


def metric_names_in(expr: str) -> set[str]:
    """The printer metric names a PromQL expression reads (quoted strings skipped).

    Good enough for our own expressions: every metric we emit starts with
    `printer_`, and no function, keyword or label name we use does.
    """
    tokens = (t for t in _IDENTIFIER.findall(expr) if not t.startswith('"'))
    return {t for t in tokens if t.startswith("printer_")}


def promtool() -> str:
    """The promtool binary, or skip (fail when PRINTER_EXPORTER_REQUIRE_PROMTOOL is set)."""
    path = shutil.which("promtool")
    if path is None:
        reason = "promtool not installed (apt-get install prometheus)"
        if os.environ.get("PRINTER_EXPORTER_REQUIRE_PROMTOOL"):
            pytest.fail(f"{reason}, and PRINTER_EXPORTER_REQUIRE_PROMTOOL is set")
        pytest.skip(reason)
    return path


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict)
    return doc


def rules() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


# --- promtool ----------------------------------------------------------------------


def test_promtool_accepts_the_rules() -> None:
    result = run_promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_rule_unit_tests_pass() -> None:
    result = run_promtool("test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


# --- coverage and conventions --------------------------------------------------------


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    cases: dict[str, list[bool]] = {}
    for test in load(RULE_TESTS)["tests"]:
        for case in test.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(bool(case.get("exp_alerts")))
    for alert in alerts():
        name = alert["alert"]
        assert True in cases.get(name, []), f"{name}: no test where it fires"
        assert False in cases.get(name, []), f"{name}: no test where it stays silent"
    assert set(cases) <= {alert["alert"] for alert in alerts()}, "a test names no rule"


def test_every_recording_rule_is_tested() -> None:
    exprs = [
        case["expr"]
        for test in load(RULE_TESTS)["tests"]
        for case in test.get("promql_expr_test", [])
    ]
    for rule in rules():
        if "record" in rule:
            assert any(rule["record"] in expr for expr in exprs), rule["record"]


@pytest.mark.parametrize("alert", alerts(), ids=lambda alert: str(alert["alert"]))
def test_alert_has_severity_and_text(alert: dict[str, Any]) -> None:
    assert alert["labels"]["severity"] in SEVERITIES
    assert {"summary", "description"} <= set(alert["annotations"])
    assert alert["alert"].startswith(("Printer", "Exporter"))


def test_rules_read_only_metrics_the_exporter_emits() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    for rule in rules():
        names = metric_names_in(rule["expr"])
        assert names, f"{rule}: reads no printer metric"
        assert names <= METRIC_NAMES | recorded, names - METRIC_NAMES


def test_metric_name_extraction() -> None:
    expr = (
        'sum by (target) (rate(printer_pages_total{counter="printer_fake"}[1d]))'
        " * on (target) group_left (model) printer_info"
        " / target:printer_pages:rate1d"
    )
    assert metric_names_in(expr) == {"printer_pages_total", "printer_info"}
