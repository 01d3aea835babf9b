"""End to end: many sites, one store. Each site's Prometheus runs in agent mode and
remote-writes to a central Prometheus with the remote-write receiver on; the central one
answers the fleet dashboard's queries for every site.

    north: snmpsim printers -> exporter           -> Prometheus agent --remote_write--+
    south: snmpsim printers -> 2 exporters (shards) -> Prometheus agent --remote_write--+-> central

All real processes (Debian's `prometheus`, the exporter, snmpsim) on 127.0.0.0/8 with ports
picked free; every wait is bounded. The sites reuse one printer address, as sites with
private address ranges do, so the queries must tell printers apart by `site`. The agents'
configs are deploy/remote-write/site-agent.yml with this test's addresses put in, so the
example is the thing that runs; both examples are checked with `promtool check config`.
The central Prometheus scrapes no site: it is proven to hold the sites' series only because
they were pushed to it (outbound from each site).

A missing `prometheus` skips, unless PRINTER_EXPORTER_REQUIRE_PROMTOOL is set (CI).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.simulator import Simulator, free_tcp_port, free_udp_port
from exporter.config import shard_of
from tests.e2e.processes import Process, fast_rules, fleet_config, require_binaries, wait_for
from tests.oracle import FIXTURES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "deploy" / "remote-write"
FLEET_DASHBOARD = ROOT / "dashboards" / "printer-fleet.json"
RULES = ROOT / "alert_rules" / "printer.rules.yml"

SITES: dict[str, dict[str, str]] = {
    # address -> the fixture (community) it answers as
    "north": {"127.5.1.11": "color_mfp", "127.5.1.12": "mono_printer", "127.5.1.13": "sentinels"},
    "south": {"127.5.2.11": "color_mfp", "127.5.1.11": "pwg_counters"},
}
"""Sites reuse private address ranges: south has a printer at the same address as one of
north's (`127.5.1.11`), a different device (another community on the simulator). Both are
the same `target` in the central store, told apart only by `site`."""
GOING_DOWN = {"north": ("127.5.1.14", "mono_printer"), "south": ("127.5.2.14", "color_mfp")}
"""One printer per site that answers, then stops (its own simulator is stopped): a device
that went down, as the dashboard's "Devices down" table expects (time since its last good
poll). A printer that never answered has no such time."""

SHARDS = {"north": 1, "south": 2}
"""Exporters per site: south is "too big for one exporter" and runs shards 0/2 and 1/2,
both scraped by its one agent (docs/many-sites.md)."""

WAIT = 120.0
MAIN_METRICS = re.compile(r"\bprinter_(up|info|supply_\w+)\b")
"""The fleet dashboard's queries proven here: those over up, identity and supplies."""


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    snmp_port: int
    exporter_ports: tuple[int, ...]
    agent_port: int

    def targets(self) -> set[str]:
        hosts = [*SITES[self.name], GOING_DOWN[self.name][0]]
        return {f"{host}:{self.snmp_port}" for host in hosts}

    def going_down(self) -> str:
        return f"{GOING_DOWN[self.name][0]}:{self.snmp_port}"

    def polled_by(self) -> dict[str, str]:
        """target -> the exporter (`instance`) whose shard holds it."""
        count = len(self.exporter_ports)
        return {
            target: f"127.0.0.1:{self.exporter_ports[shard_of(target, count)]}"
            for target in self.targets()
        }


@dataclass(frozen=True, slots=True)
class Stack:
    central: str
    sites: tuple[Site, ...]
    processes: tuple[Process, ...]

    def diagnose(self) -> str:
        return "\n\n".join(f"--- {p.log.name}\n{p.tail()}" for p in self.processes)


# -- configs -------------------------------------------------------------------------------


def exporter_config(site: str, snmp_port: int, shard: str) -> dict[str, Any]:
    return fleet_config(SITES[site] | dict([GOING_DOWN[site]]), snmp_port, shard=shard)


def site_agent_config(example: dict[str, Any], site: Site, central: str) -> dict[str, Any]:
    """deploy/remote-write/site-agent.yml with this site's name and loopback addresses, and
    short intervals so that samples reach the central store within seconds."""
    config = copy.deepcopy(example)
    config["global"]["scrape_interval"] = "1s"
    config["global"]["external_labels"]["site"] = site.name
    (job,) = config["scrape_configs"]
    job["scrape_timeout"] = "1s"
    job["static_configs"] = [{"targets": [f"127.0.0.1:{p}" for p in site.exporter_ports]}]
    (write,) = config["remote_write"]
    write["url"] = f"{central}/api/v1/write"
    write["queue_config"]["batch_send_deadline"] = "1s"
    return config


def central_config(rules: Path) -> dict[str, Any]:
    """The receiver needs no config of its own (it is a flag), and no site is scraped. The
    alert rules run here, as in central.yml, evaluated each second."""
    return {
        "global": {"evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [],
    }


# -- processes -----------------------------------------------------------------------------


def start_exporters(tmp: Path, site: Site) -> list[Process]:
    """One exporter per shard of the site, all with the same targets."""
    started = []
    count = len(site.exporter_ports)
    for index, port in enumerate(site.exporter_ports):
        name = f"exporter-{site.name}-{index}"
        config = exporter_config(site.name, site.snmp_port, f"{index}/{count}")
        (tmp / f"{name}.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        started.append(
            Process(
                [
                    sys.executable, "-m", "exporter.cli",
                    "--config.file", str(tmp / f"{name}.yml"),
                    "--web.listen-address", f"127.0.0.1:{port}",
                    "--storage.path", str(tmp / f"{name}-data"),
                ],
                tmp / f"{name}.log",
            )
        )  # fmt: skip
    return started


def start_agent(prometheus: str, tmp: Path, config: dict[str, Any], site: Site) -> Process:
    path = tmp / f"agent-{site.name}.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return Process(
        [
            prometheus,
            "--enable-feature=agent",
            f"--config.file={path}",
            f"--storage.agent.path={tmp / f'agent-{site.name}-wal'}",
            f"--web.listen-address=127.0.0.1:{site.agent_port}",
        ],
        tmp / f"agent-{site.name}.log",
    )


def start_central(prometheus: str, tmp: Path, port: int) -> Process:
    path = tmp / "central.yml"
    rules = tmp / "rules.yml"
    fast_rules(RULES, rules)
    path.write_text(yaml.safe_dump(central_config(rules)), encoding="utf-8")
    return Process(
        [
            prometheus,
            "--web.enable-remote-write-receiver",
            f"--config.file={path}",
            f"--storage.tsdb.path={tmp / 'central-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        tmp / "central.log",
    )


def up_by_site(central: str) -> dict[tuple[str, str], str]:
    """(site, target) -> printer_up: a target alone is not unique across sites."""
    return {
        (row["metric"].get("site", ""), row["metric"]["target"]): row["value"][1]
        for row in query(central, "printer_up")
    }


def take_down(central: str, sites: Sequence[Site], simulator: Simulator) -> None:
    """Wait until the central store has seen each site's going-down printer up, then stop
    its simulator and wait until the central store sees it down."""
    wanted = {(site.name, site.going_down()) for site in sites}
    wait_for(
        "the going-down printers up in the central store",
        lambda: all(up_by_site(central).get(key) == "1" for key in wanted),
        WAIT,
    )
    simulator.stop()
    wait_for(
        "the going-down printers down in the central store",
        lambda: all(up_by_site(central).get(key) == "0" for key in wanted),
        WAIT,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus = require_binaries("prometheus")["prometheus"]
    tmp = tmp_path_factory.mktemp("e2e-remote-write")
    example = yaml.safe_load((EXAMPLES / "site-agent.yml").read_text(encoding="utf-8"))
    central_port = free_tcp_port()
    central = f"http://127.0.0.1:{central_port}"
    processes: list[Process] = []
    sites: list[Site] = []
    always_up = sorted({host for printers in SITES.values() for host in printers})
    going_down = [host for host, _ in GOING_DOWN.values()]
    snmp_port = free_udp_port([*always_up, *going_down])
    with ExitStack() as exits:
        exits.callback(lambda: [p.stop() for p in reversed(processes)])
        exits.enter_context(Simulator(FIXTURES, [(h, snmp_port) for h in always_up]))
        stopping = exits.enter_context(Simulator(FIXTURES, [(h, snmp_port) for h in going_down]))
        processes.append(start_central(prometheus, tmp, central_port))
        for name in SITES:
            ports = tuple(free_tcp_port() for _ in range(SHARDS[name]))
            site = Site(name, snmp_port, ports, free_tcp_port())
            processes.extend(start_exporters(tmp, site))
            processes.append(
                start_agent(prometheus, tmp, site_agent_config(example, site, central), site)
            )
            sites.append(site)
        built = Stack(central, tuple(sites), tuple(processes))
        try:
            take_down(central, sites, stopping)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{built.diagnose()}") from None
        yield built


# -- queries -------------------------------------------------------------------------------


class QueryRefused(AssertionError):
    """Prometheus answered with an error about the query itself (400 or 422): no retry helps."""


def query(base: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=10)
    if response.status_code in (400, 422):
        raise QueryRefused(f"{response.json().get('error')} (query: {promql})")
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expression) of every query target, rows' nested panels included."""
    found: list[tuple[str, str]] = []
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append((panel.get("title", ""), target["expr"]))
        found.extend(panel_queries(panel))
    return found


GRAFANA_RANGES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


def substitute(expr: str, values: dict[str, str]) -> str:
    """Grafana's variables replaced as Grafana would: the range ones by a duration, `$site`
    and the rest by `values` or, failing that, the regex for "All" (the dashboards match
    every variable with =~)."""

    def one(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        return GRAFANA_RANGES.get(name) or values.get(name, ".*")

    return VARIABLE.sub(one, expr)


def sites_of(rows: Sequence[dict[str, Any]]) -> set[str]:
    return {row["metric"]["site"] for row in rows if "site" in row["metric"]}


def test_example_configs_pass_promtool(tmp_path: Path) -> None:
    """Both examples as a user installs them: central.yml beside rules/ with the real rules."""
    promtool = require_binaries("promtool")["promtool"]
    shutil.copy(EXAMPLES / "central.yml", tmp_path)
    (tmp_path / "rules").mkdir()
    shutil.copy(RULES, tmp_path / "rules")
    shutil.copy(EXAMPLES / "site-agent.yml", tmp_path)
    outputs = []
    for args in (["central.yml"], ["--agent", "site-agent.yml"]):
        result = subprocess.run(
            [promtool, "check", "config", *args],
            capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        )  # fmt: skip
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == 0, outputs[-1]
    # The rules were found through central.yml's glob and checked with it.
    assert "rules/printer.rules.yml" in outputs[0], outputs[0]


def test_central_holds_every_site_with_a_site_label(stack: Stack) -> None:
    """Each printer once, under its site, from the exporter whose shard holds it."""
    expected = {site.name: site.targets() for site in stack.sites}

    def by_site() -> dict[str, set[str]] | None:
        got: dict[str, set[str]] = {}
        for row in query(stack.central, "printer_up"):
            got.setdefault(row["metric"].get("site", "<none>"), set()).add(row["metric"]["target"])
        return got if got == expected else None

    try:
        wait_for("printer_up from both sites in the central store", by_site, WAIT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.diagnose()}") from None
    rows = query(stack.central, "printer_up")
    up = {(r["metric"]["site"], r["metric"]["target"]): r["value"][1] for r in rows}
    assert len(up) == len(rows), f"a printer reached the central store twice: {rows}"
    for site in stack.sites:
        assert up[(site.name, site.going_down())] == "0"
        for host in SITES[site.name]:
            assert up[(site.name, f"{host}:{site.snmp_port}")] == "1", up
        polled = {
            r["metric"]["target"]: r["metric"]["instance"]
            for r in rows
            if r["metric"]["site"] == site.name
        }
        assert polled == site.polled_by()
    # Outbound only: the central one scrapes nothing, so every series above was pushed.
    targets = httpx.get(f"{stack.central}/api/v1/targets", timeout=10).json()["data"]
    assert targets["activeTargets"] == []
    print(f"central: {len(expected)} sites, {len(up)} printers, printer_up from both")


def test_one_agent_scrapes_every_shard_of_a_site(stack: Stack) -> None:
    """The sharded site's exporters all reach the central store through its one agent."""

    def scraped(site: Site) -> set[str]:
        rows = query(stack.central, f'up{{site="{site.name}"}} == 1')
        return {r["metric"]["instance"] for r in rows}

    def exporters(site: Site) -> set[str]:
        return {f"127.0.0.1:{port}" for port in site.exporter_ports}

    def all_scraped(site: Site) -> bool:
        return scraped(site) == exporters(site)

    for site in stack.sites:
        try:
            wait_for(
                f"every exporter of {site.name} scraped",
                functools.partial(all_scraped, site),
                WAIT,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {scraped(site)} of {exporters(site)}") from None
    shards = {site.name: len(site.exporter_ports) for site in stack.sites}
    print(f"central: exporters per site {shards}, each printer from one shard")


def test_fleet_dashboard_queries_return_every_site(stack: Stack) -> None:
    """The fleet dashboard's up, identity and supply queries, over the central store, return
    both sites: a query whose rows keep `site` shows both; one that aggregates it away must
    still answer; and where the dashboard has a `$site` variable, each site on its own answers
    with rows of that site only."""
    names = {site.name for site in stack.sites}
    wait_for(
        "printer_info and supplies from both sites",
        lambda: (
            sites_of(query(stack.central, "printer_info")) == names
            and sites_of(query(stack.central, "printer_supply_remaining_ratio")) == names
        ),
        WAIT,
    )
    dashboard = json.loads(FLEET_DASHBOARD.read_text(encoding="utf-8"))
    chosen = [(t, expr) for t, expr in panel_queries(dashboard) if MAIN_METRICS.search(expr)]
    assert len(chosen) >= 5, f"the fleet dashboard lost its main queries: {chosen}"
    both = aggregated = per_site = 0
    problems: list[str] = []
    for title, expr in chosen:
        try:
            rows = query(stack.central, substitute(expr, {}))
        except QueryRefused as exc:
            problems.append(f"{title}: {exc}")
            continue
        seen = sites_of(rows)
        if not rows:
            problems.append(f"{title}: no rows for {expr}")
        elif seen and seen != names:
            problems.append(f"{title}: sites {sorted(seen)}, wanted {sorted(names)}")
        elif seen:
            both += 1
        else:
            aggregated += 1
        if re.search(r"\$\{?site\b", expr):
            per_site += 1
            for name in names:
                rows = query(stack.central, substitute(expr, {"site": name}))
                if not rows or sites_of(rows) - {name}:
                    problems.append(f"{title} with site={name}: {sites_of(rows) or rows}")
    assert not problems, "\n".join(problems)
    print(
        f"central: {len(chosen)} fleet dashboard queries answered; {both} with rows from both "
        f"sites, {aggregated} aggregated across them; {per_site} also checked per $site"
    )


def test_alert_rules_evaluate_over_every_site(stack: Stack) -> None:
    """The alert rules, run centrally, evaluate without error although two sites share a
    printer address: an error would silence that rule for the whole fleet."""

    def rules() -> list[dict[str, Any]]:
        response = httpx.get(f"{stack.central}/api/v1/rules", timeout=10)
        response.raise_for_status()
        groups: list[dict[str, Any]] = response.json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    before = {rule["name"]: rule["lastEvaluation"] for rule in rules()}

    def evaluated_since() -> list[dict[str, Any]] | None:
        """Every rule once more after the test began, so over both sites' series."""
        found = rules()
        fresh = all(r["lastEvaluation"] != before.get(r["name"]) for r in found)
        return found if found and fresh else None

    evaluated: list[dict[str, Any]] = wait_for("every rule evaluated again", evaluated_since, WAIT)
    failing = {r["name"]: r["lastError"] for r in evaluated if r["health"] == "err"}
    print(f"central: {len(evaluated) - len(failing)} of {len(evaluated)} rules evaluate")
    assert not failing, "\n".join(f"{name}: {error}" for name, error in failing.items())
