"""End to end: snmpsim printers -> the exporter process -> a real Prometheus -> a real Alertmanager.

Everything runs on 127.0.0.0/8 with ports picked free, and every wait is
bounded. The bundled alert rules are loaded with each `for:` cut to 0s, so
the real expressions fire against real scraped data within seconds; their
timing is covered by the promtool unit tests in alert_rules/tests/.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.simulator import Simulator, free_tcp_port, free_udp_port
from tests.e2e.processes import Process, fast_rules, fleet_config, silent_agent_alert, wait_for
from tests.oracle import FIXTURES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None or shutil.which("prometheus-alertmanager") is None,
        reason="needs Debian's prometheus and prometheus-alertmanager (.ci/run installs them)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
PRINTERS = {"127.2.0.11": "color_mfp", "127.2.0.12": "mono_printer", "127.2.0.13": "sentinels"}
DEAD = "127.2.0.19"
WAIT = 90.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("e2e")
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
    (tmp / "alertmanager.yml").write_text(
        yaml.safe_dump(
            {
                "route": {"receiver": "null", "group_wait": "1s", "group_interval": "1s"},
                "receivers": [{"name": "null"}],
            }
        )
    )

    processes: list[Process] = []
    with Simulator(FIXTURES, [(h, snmp_port) for h in PRINTERS]):
        try:
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
            processes.append(
                Process(
                    [
                        "prometheus-alertmanager",
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
                        "prometheus",
                        f"--config.file={tmp / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp / 'prom-data'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}",
                    ],
                    tmp / "prometheus.log",
                )
            )
            yield {
                "snmp_port": snmp_port,
                "exporter": f"http://127.0.0.1:{exporter_port}",
                "prometheus": f"http://127.0.0.1:{prom_port}",
                "alertmanager": f"http://127.0.0.1:{am_port}",
                "processes": processes,
            }
        finally:
            for process in reversed(processes):
                process.stop()


def _query(stack: dict[str, Any], promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack['prometheus']}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def _diagnose(stack: dict[str, Any]) -> str:
    return "\n\n".join(f"--- {p.log.name}\n{p.tail()}" for p in stack["processes"])


def test_prometheus_sees_every_simulated_printer_up(stack: dict[str, Any]) -> None:
    port = stack["snmp_port"]
    expected = {f"{host}:{port}": "1" for host in PRINTERS} | {f"{DEAD}:{port}": "0"}

    def up() -> dict[str, str] | None:
        got = {r["metric"]["target"]: r["value"][1] for r in _query(stack, "printer_up")}
        return got if got == expected else None

    try:
        assert wait_for("printer_up for every target", up, WAIT) == expected
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_diagnose(stack)}") from None


def test_sentinels_never_reach_ratio_series(stack: dict[str, Any]) -> None:
    port = stack["snmp_port"]
    target = f"127.2.0.13:{port}"  # sentinels: supplies 1-3 send -1, -2, -3
    states = wait_for(
        "supply states of the sentinel printer",
        lambda: _query(stack, f'printer_supply_state{{target="{target}"}} == 1'),
        WAIT,
    )
    by_supply = {r["metric"]["supply"]: r["metric"]["state"] for r in states}
    assert by_supply["1"] == "unrestricted"
    assert by_supply["2"] == "unknown"
    assert by_supply["3"] == "some_remaining"
    ratios = _query(stack, f'printer_supply_remaining_ratio{{target="{target}"}}')
    assert {"1", "2", "3"}.isdisjoint({r["metric"]["supply"] for r in ratios})
    assert ratios, "the measured supplies of the same printer must still have ratios"


def test_the_bundled_alerts_reach_alertmanager(stack: dict[str, Any]) -> None:
    port = stack["snmp_port"]

    def alerts() -> set[tuple[str, str]] | None:
        response = httpx.get(f"{stack['alertmanager']}/api/v2/alerts", timeout=5)
        response.raise_for_status()
        got = {(a["labels"]["alertname"], a["labels"].get("target", "")) for a in response.json()}
        wanted = {
            (silent_agent_alert(), f"{DEAD}:{port}"),  # loopback answers ping
            ("PrinterTonerLow", f"127.2.0.11:{port}"),  # yellow at 5 %
            ("PrinterPaperJam", f"127.2.0.13:{port}"),  # jammed bit set
            ("PrinterDoorOpen", f"127.2.0.13:{port}"),
        }
        return got if wanted <= got else None

    try:
        wait_for("the alerts in Alertmanager", alerts, WAIT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_diagnose(stack)}") from None
