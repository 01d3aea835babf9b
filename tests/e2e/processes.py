"""What the end-to-end tests share: child processes with a log file, bounded waits, the
skip-or-fail check for the Prometheus binaries, fast rules, and a webhook receiver."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml


class Process:
    """A child process (exporter, Prometheus, Alertmanager) writing to `log`, appended to
    across restarts."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.proc = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it lingers; the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._fh.close()
        return self.proc.returncode

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def wait_for(what: str, check: Callable[[], Any], timeout: float, poll: float = 0.5) -> Any:
    """Call `check` until it returns something true; at most `timeout` s and a bounded count.

    A check that raises an HTTP or lookup error counts as "not yet" (the server is still
    starting, the series not yet scraped). Never a judgement of speed: the bound only ends a
    wait that would otherwise never end.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    for _ in range(int(timeout / poll) + 1):
        try:
            result = check()
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        if time.monotonic() >= deadline:
            break
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last: {last!r}")


def require_binaries(*names: str) -> dict[str, str]:
    """The path of each named program, or skip the test when one is missing.

    With PRINTER_EXPORTER_REQUIRE_PROMTOOL set (CI sets it), a missing program fails the
    test instead, so the Prometheus tier cannot go untested by accident.
    """
    found = {name: shutil.which(name) for name in names}
    missing = sorted(name for name, path in found.items() if path is None)
    if missing:
        reason = f"needs {', '.join(missing)} (apt-get install prometheus prometheus-alertmanager)"
        if os.environ.get("PRINTER_EXPORTER_REQUIRE_PROMTOOL"):
            pytest.fail(f"{reason}, and PRINTER_EXPORTER_REQUIRE_PROMTOOL is set")
        pytest.skip(reason)
    return {name: path for name, path in found.items() if path is not None}


def fleet_config(printers: Mapping[str, str], snmp_port: int, **extra: Any) -> dict[str, Any]:
    """The exporter's config for a simulated fleet: each address (host -> the recording it
    serves) read with the community that names its recording, polled every 5 s, with
    `extra` top-level keys beside."""
    return {
        "credentials": [
            {"name": name, "version": "2c", "community": name}
            for name in sorted(set(printers.values()))
        ],
        "targets": [
            {"address": f"{host}:{snmp_port}", "credentials": [name]}
            for host, name in printers.items()
        ],
        "poll": {"interval": "5s", "timeout": "1s", "retries": 1},
        **extra,
    }


def fast_rules(source: Path, dest: Path, interval: str = "1s") -> dict[str, Any]:
    """Write `source`'s rules to `dest` with every group evaluated each `interval` and every
    `for:` cut to 0s, so the real expressions fire on scraped data within seconds (their
    timing is the promtool unit tests' business). Returns the rules written."""
    rules: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        group["interval"] = interval
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "0s"
    dest.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return rules


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST an Alertmanager made to the webhook: the path it was sent to and its body."""

    path: str
    body: dict[str, Any]

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.body.get("alerts", [])
        return alerts


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST: the receiving end of an
    Alertmanager `webhook_configs` entry, run on a thread for the length of a test.

        with WebhookReceiver() as hook:
            url = hook.url("/pager")
            ...
            hook.deliveries()
    """

    MAX_BODY = 1 << 20

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), receiver.MAX_BODY)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {"unreadable": True}
                with receiver._lock:
                    receiver._deliveries.append(Delivery(self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the deliveries are the record."""

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def silent_agent_alert() -> str:
    """The alert for a loopback target with no SNMP agent behind it: the host answers ping,
    so an exporter that may send ICMP says PrinterSnmpUnreachable; one that may not (no root,
    no ping_group_range for its group) cannot tell and says PrinterDown."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    may_ping = os.geteuid() == 0 or low <= os.getegid() <= high
    return "PrinterSnmpUnreachable" if may_ping else "PrinterDown"
