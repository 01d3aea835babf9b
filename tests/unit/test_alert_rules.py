"""alert_rules/: promtool accepts the rules, their unit tests pass, and they cover every alert.

Rules read the exporter's series (`exporter.metrics.METRIC_NAMES`) and pull_sync's (taken
from its own collector, so a renamed series fails here). Every alert links its section of
docs/runbook.md.

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
from pull_sync.metrics import Stats, build_registry
from pull_sync.outbox import OutboxStats

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "alert_rules" / "printer.rules.yml"
RULE_TESTS = ROOT / "alert_rules" / "tests" / "printer.rules.test.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
SEVERITIES = {"critical", "warning", "info"}
PREFIXES = ("Printer", "Exporter", "PullSync")

_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
_IDENTIFIER = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_:][A-Za-z0-9_:]*')


def metric_names_in(expr: str) -> set[str]:
    """The printer and pull_sync metric names a PromQL expression reads (quoted strings skipped).

    Good enough for our own expressions: every metric we emit starts with
    `printer_` or `pull_sync_`, and no function, keyword or label name we use does.
    """
    tokens = (t for t in _IDENTIFIER.findall(expr) if not t.startswith('"'))
    return {t for t in tokens if t.startswith(("printer_", "pull_sync_"))}


def pull_sync_metric_names() -> set[str]:
    """Every sample name pull_sync's /metrics can show, from its real collector.

    Taken from the families, not the samples: a labelled counter with nothing counted
    yet (uploads by result) has a family but no sample. The series that appear only
    once something happened (a last success, an announced release) are switched on.
    """
    stats = Stats(
        last_collect_success=1.0,
        last_upload_success=1.0,
        last_checkin=1.0,
        profiles_version="1.0",
        latest_agent="0.0.1",
    )
    outbox = OutboxStats(oldest_created=1.0)
    registry = build_registry(stats, lambda: outbox, 1 << 20)
    suffixes = {"counter": ("_total",), "info": ("_info",), "histogram": _HISTOGRAM_SUFFIXES}
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }


def runbook_anchors() -> set[str]:
    """The anchors GitHub gives the runbook's headings (lower case; no punctuation)."""
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^a-z0-9_ -]", "", h.strip().lower()).replace(" ", "-") for h in headings}


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
    assert alert["alert"].startswith(PREFIXES)


@pytest.mark.parametrize("alert", alerts(), ids=lambda alert: str(alert["alert"]))
def test_alert_links_its_runbook_section(alert: dict[str, Any]) -> None:
    link = alert["annotations"]["runbook_url"]
    page, _, anchor = link.partition("#")
    assert page == "docs/runbook.md", link
    assert anchor == alert["alert"].lower(), link
    assert anchor in runbook_anchors(), f"docs/runbook.md has no section {alert['alert']}"


def test_rules_read_only_metrics_the_exporter_or_pull_sync_emits() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    known = METRIC_NAMES | pull_sync_metric_names() | recorded
    for rule in rules():
        names = metric_names_in(rule["expr"])
        assert names, f"{rule}: reads no printer or pull_sync metric"
        assert names <= known, names - known


def test_pull_sync_names_come_from_its_collector() -> None:
    names = pull_sync_metric_names()
    assert "pull_sync_outbox_oldest_batch_timestamp_seconds" in names
    assert "pull_sync_upload_attempts_total" in names
    assert "pull_sync_last_checkin_status" in names
    assert "pull_sync_upload_duration_seconds_bucket" in names
    assert "pull_sync_build_info" in names
    assert "pull_sync_outbox_batch_age_seconds" not in names


def test_metric_name_extraction() -> None:
    expr = (
        'sum by (target) (rate(printer_pages_total{counter="printer_fake"}[1d]))'
        " * on (target) group_left (model) printer_info"
        " / target:printer_pages:rate1d"
    )
    assert metric_names_in(expr) == {"printer_pages_total", "printer_info"}
    assert metric_names_in('pull_sync_outbox_bytes{instance="printer_x"}') == {
        "pull_sync_outbox_bytes"
    }
