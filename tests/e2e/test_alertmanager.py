"""End to end: alerts over a simulated fleet with bad states reach a webhook through a real
Alertmanager, routed by severity, and a down printer's supply alerts are inhibited.

snmpsim printers -> the exporter process -> a real Prometheus with alert_rules/ (every `for:`
cut to 0s, evaluated each second) -> a real Alertmanager (Debian's prometheus-alertmanager)
-> a webhook receiver this test runs on a thread. Everything is on 127.0.0.0/8 with ports
picked free; every wait is bounded.

The fleet: the fixtures as they are, plus `critical_mfp`, the colour MFP fixture with three
values changed, written into the test's directory: alert row 3 becomes a critical fuser
failure, and the error state adds no_paper to low_toner. The Alertmanager config is the
test's own (deploy/alertmanager/ holds the example for the compose stack); its route and
inhibit rule are the shape that example is meant to have.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.simulator import Simulator, free_tcp_port, free_udp_port
from tests.e2e.processes import (
    Delivery,
    Process,
    WebhookReceiver,
    fast_rules,
    fleet_config,
    require_binaries,
    silent_agent_alert,
    wait_for,
)
from tests.oracle import FIXTURES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PRINTERS = {
    "127.2.1.11": "color_mfp",  # yellow at 5 %: PrinterTonerLow
    "127.2.1.12": "mono_printer",  # an empty MP tray and no paper condition: no PrinterPaperOut
    "127.2.1.13": "sentinels",  # jam and open door, also as critical rows: no PrinterCriticalAlert
    "127.2.1.14": "critical_mfp",  # a critical fuser row and no_paper
}
DEAD = "127.2.1.19"
WAIT = 90.0

CRITICAL_MFP_CHANGES = {
    # prtAlertSeverityLevel of row 3: warning(4) -> critical(3)
    "1.3.6.1.2.1.43.18.1.1.2.1.3|2|4": "1.3.6.1.2.1.43.18.1.1.2.1.3|2|3",
    # prtAlertGroup: markerSupplies(11) -> marker(10)
    "1.3.6.1.2.1.43.18.1.1.4.1.3|2|11": "1.3.6.1.2.1.43.18.1.1.4.1.3|2|10",
    # prtAlertCode: markerTonerAlmostEmpty(1104) -> subunitUnrecoverableFailure(30)
    "1.3.6.1.2.1.43.18.1.1.7.1.3|2|1104": "1.3.6.1.2.1.43.18.1.1.7.1.3|2|30",
    "1.3.6.1.2.1.43.18.1.1.8.1.3|4|Yellow cartridge low": (
        "1.3.6.1.2.1.43.18.1.1.8.1.3|4|Fuser failure 50.1"
    ),
    # hrPrinterDetectedErrorState: lowToner (0x20) -> noPaper and lowToner (0x60)
    "1.3.6.1.2.1.25.3.5.1.2.1|4x|2000": "1.3.6.1.2.1.25.3.5.1.2.1|4x|6000",
}

SUPPLY_ALERTS = "PrinterTonerLow|PrinterSupply.*|PrinterPaperOut|PrinterCriticalAlert"


def write_agents(directory: Path) -> Path:
    """The fixtures to serve, and critical_mfp derived from color_mfp line by line."""
    directory.mkdir()
    for name in set(PRINTERS.values()) - {"critical_mfp"}:
        (directory / f"{name}.snmprec").write_bytes((FIXTURES / f"{name}.snmprec").read_bytes())
    lines = (FIXTURES / "color_mfp.snmprec").read_text(encoding="utf-8").splitlines()
    for old, new in CRITICAL_MFP_CHANGES.items():
        assert lines.count(old) == 1, f"color_mfp.snmprec no longer has the line {old!r}"
        lines[lines.index(old)] = new
    (directory / "critical_mfp.snmprec").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def alertmanager_config(hook: WebhookReceiver) -> dict[str, Any]:
    """Critical to the pager, the rest to the team; PrinterDown inhibits its device's
    supply alerts. Short waits so that a group is sent within a second or two."""
    return {
        "route": {
            "receiver": "team",
            "group_by": ["alertname", "target"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
            "routes": [{"matchers": ['severity="critical"'], "receiver": "pager"}],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['alertname="PrinterDown"'],
                "target_matchers": [f'alertname=~"{SUPPLY_ALERTS}"'],
                "equal": ["target"],
            }
        ],
        "receivers": [
            {"name": "team", "webhook_configs": [{"url": hook.url("/team")}]},
            {"name": "pager", "webhook_configs": [{"url": hook.url("/pager")}]},
        ],
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    binaries = require_binaries("prometheus", "prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("e2e-am")
    agents = write_agents(tmp / "agents")
    hosts = [*PRINTERS, DEAD]
    snmp_port = free_udp_port(hosts)
    exporter_port, prom_port, am_port = free_tcp_port(), free_tcp_port(), free_tcp_port()

    config = fleet_config({**PRINTERS, DEAD: "color_mfp"}, snmp_port)
    (tmp / "exporter.yml").write_text(yaml.safe_dump(config))
    fast_rules(ROOT / "alert_rules" / "printer.rules.yml", tmp / "rules.yml")
    (tmp / "prometheus.yml").write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(tmp / "rules.yml")],
                "alerting": {
                    "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
                },
                "scrape_configs": [
                    {
                        "job_name": "printers",
                        "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
                    }
                ],
            }
        )
    )

    processes: list[Process] = []
    with WebhookReceiver() as hook, Simulator(agents, [(h, snmp_port) for h in PRINTERS]):
        (tmp / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(hook)))
        try:
            processes.append(
                Process(
                    [
                        binaries["prometheus-alertmanager"],
                        f"--config.file={tmp / 'alertmanager.yml'}",
                        f"--storage.path={tmp / 'am-data'}",
                        f"--web.listen-address=127.0.0.1:{am_port}",
                        "--cluster.listen-address=",
                    ],
                    tmp / "alertmanager.log",
                )
            )
            processes.append(
                Process(
                    [
                        binaries["prometheus"],
                        f"--config.file={tmp / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp / 'prom-data'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}",
                    ],
                    tmp / "prometheus.log",
                )
            )
            processes.append(
                Process(
                    [
                        sys.executable, "-m", "exporter.cli",
                        "--config.file", str(tmp / "exporter.yml"),
                        "--web.listen-address", f"127.0.0.1:{exporter_port}",
                        "--storage.path", str(tmp / "data"),
                    ],
                    tmp / "exporter.log",
                )
            )  # fmt: skip
            yield {
                "target": {name: f"{host}:{snmp_port}" for host, name in PRINTERS.items()},
                "dead": f"{DEAD}:{snmp_port}",
                "prometheus": f"http://127.0.0.1:{prom_port}",
                "alertmanager": f"http://127.0.0.1:{am_port}",
                "config": tmp / "alertmanager.yml",
                "hook": hook,
                "processes": processes,
            }
        finally:
            for process in reversed(processes):
                process.stop()


def _delivered(hook: WebhookReceiver) -> set[tuple[str, str, str]]:
    """(path, alertname, target) of every firing alert the webhook has received."""
    return {
        (d.path, a["labels"]["alertname"], a["labels"].get("target", ""))
        for d in hook.deliveries()
        for a in d.alerts()
        if a.get("status") == "firing"
    }


def _once_delivered(
    hook: WebhookReceiver, wanted: set[tuple[str, str, str]]
) -> set[tuple[str, str, str]] | None:
    """Everything delivered so far once it includes `wanted`; None before."""
    got = _delivered(hook)
    return got if wanted <= got else None


def _targets(stack: dict[str, Any], promql: str) -> set[str]:
    """The `target` labels of the series `promql` returns in Prometheus now."""
    response = httpx.get(f"{stack['prometheus']}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    return {r["metric"].get("target", "") for r in response.json()["data"]["result"]}


def _firing(stack: dict[str, Any], alertname: str) -> set[str]:
    """Targets of `alertname` firing in Prometheus now."""
    return _targets(stack, f'ALERTS{{alertname="{alertname}",alertstate="firing"}}')


def _diagnose(stack: dict[str, Any]) -> str:
    deliveries = "\n".join(f"{d.path}: {d.body}" for d in stack["hook"].deliveries()[-10:])
    logs = "\n\n".join(f"--- {p.log.name}\n{p.tail()}" for p in stack["processes"])
    return f"--- last deliveries\n{deliveries}\n\n{logs}"


def _wait(stack: dict[str, Any], what: str, check: Any) -> Any:
    try:
        return wait_for(what, check, WAIT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_diagnose(stack)}") from None


def test_the_test_config_passes_amtool(stack: dict[str, Any]) -> None:
    amtool = require_binaries("amtool")["amtool"]
    result = subprocess.run(
        [amtool, "check-config", str(stack["config"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_reach_the_webhook_routed_by_severity(stack: dict[str, Any]) -> None:
    target = stack["target"]
    wanted = {
        ("/pager", "PrinterCriticalAlert", target["critical_mfp"]),
        ("/pager", "PrinterSupplyFull", target["sentinels"]),  # waste toner bottle 2 full
        ("/team", "PrinterTonerLow", target["color_mfp"]),
        ("/team", "PrinterPaperOut", target["critical_mfp"]),
        ("/team", "PrinterPaperJam", target["sentinels"]),
        ("/team", silent_agent_alert(), stack["dead"]),  # loopback answers ping
    }
    got = _wait(
        stack,
        "the alerts at the webhook",
        lambda: _once_delivered(stack["hook"], wanted),
    )
    assert not {(p, n, t) for p, n, t in got if p == "/team" and n == "PrinterCriticalAlert"}

    critical = next(
        a
        for d in stack["hook"].deliveries()
        for a in d.alerts()
        if a["labels"]["alertname"] == "PrinterCriticalAlert"
    )
    assert critical["labels"]["severity"] == "critical"
    assert critical["labels"]["code"] == "subunit_unrecoverable_failure"
    assert critical["labels"]["description"] == "Fuser failure 50.1"
    assert critical["annotations"]["runbook_url"] == "docs/runbook.md#printercriticalalert"


def test_the_bad_states_that_are_not_alerts_stay_silent(stack: dict[str, Any]) -> None:
    """Sentinels' critical rows are a jam and an open door that the error bits report too
    (PrinterPaperJam and PrinterDoorOpen have them); mono_printer's MP tray is empty the way
    bypass trays are. Both are read once the alerts they do raise are firing."""
    target = stack["target"]
    _wait(
        stack,
        "sentinels' own alerts",
        lambda: target["sentinels"] in _firing(stack, "PrinterDoorOpen"),
    )
    _wait(
        stack,
        "critical_mfp's critical alert",
        lambda: target["critical_mfp"] in _firing(stack, "PrinterCriticalAlert"),
    )
    _wait(
        stack,
        "mono_printer's empty MP tray in Prometheus",
        lambda: target["mono_printer"] in _targets(stack, 'printer_tray_state{state="empty"} == 1'),
    )
    assert _firing(stack, "PrinterCriticalAlert") == {target["critical_mfp"]}
    assert _firing(stack, "PrinterPaperOut") == {target["critical_mfp"]}


def test_a_down_printer_inhibits_its_supply_alerts(stack: dict[str, Any]) -> None:
    """A down printer has no supply series, so Prometheus resolves its supply alerts by
    itself; the inhibit rule covers those already on their way. Posted straight to
    Alertmanager's API: one device down with a toner alert, another with a toner alert only."""
    now = datetime.now(UTC)
    window = {"startsAt": now.isoformat(), "endsAt": (now + timedelta(minutes=10)).isoformat()}
    down, up = "127.9.9.1:161", "127.9.9.2:161"
    posted = [
        {"labels": {"alertname": "PrinterDown", "target": down, "severity": "warning"}},
        {"labels": {"alertname": "PrinterTonerLow", "target": down, "severity": "warning"}},
        {"labels": {"alertname": "PrinterTonerLow", "target": up, "severity": "warning"}},
    ]
    response = httpx.post(
        f"{stack['alertmanager']}/api/v2/alerts",
        json=[{**alert, **window} for alert in posted],
        timeout=5,
    )
    response.raise_for_status()

    def states() -> dict[tuple[str, str], dict[str, Any]] | None:
        response = httpx.get(f"{stack['alertmanager']}/api/v2/alerts", timeout=5)
        response.raise_for_status()
        got = {
            (a["labels"]["alertname"], a["labels"]["target"]): a["status"]
            for a in response.json()
            if a["labels"].get("target") in (down, up)
        }
        return got if len(got) == 3 else None

    status = _wait(stack, "the posted alerts in Alertmanager", states)
    assert status[("PrinterTonerLow", down)]["state"] == "suppressed"
    assert status[("PrinterTonerLow", down)]["inhibitedBy"]
    assert status[("PrinterTonerLow", up)]["state"] == "active"
    assert status[("PrinterDown", down)]["state"] == "active"

    wanted = {("/team", "PrinterTonerLow", up), ("/team", "PrinterDown", down)}
    delivered = _wait(
        stack,
        "the uninhibited alerts at the webhook",
        lambda: _once_delivered(stack["hook"], wanted),
    )
    assert ("/team", "PrinterTonerLow", down) not in delivered


def test_deliveries_carry_the_annotations(stack: dict[str, Any]) -> None:
    """What a receiver needs to act: summary, description and the runbook link."""
    target = stack["target"]
    _wait(
        stack,
        "PrinterTonerLow of color_mfp at the webhook",
        lambda: ("/team", "PrinterTonerLow", target["color_mfp"]) in _delivered(stack["hook"]),
    )
    toner: list[Delivery] = [
        d
        for d in stack["hook"].deliveries()
        if any(a["labels"].get("target") == target["color_mfp"] for a in d.alerts())
    ]
    alert = next(
        a for d in toner for a in d.alerts() if a["labels"]["alertname"] == "PrinterTonerLow"
    )
    assert (
        alert["annotations"]["summary"]
        == f"Yellow Cartridge HP W2022A low on {target['color_mfp']}"
    )
    assert alert["annotations"]["runbook_url"] == "docs/runbook.md#printertonerlow"
    assert "order a replacement" in alert["annotations"]["description"]
