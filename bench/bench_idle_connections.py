"""Benchmark (e): `/metrics` while 1,100 idle TCP connections sit on the exporter's port.

    .venv/bin/python -m bench.bench_idle_connections [--idle 1100] [--scrapes 20]

The attack of issue 7, replayed on loopback: the real exporter (`python -m
exporter.cli`) runs in a child process with a 1,024 file-descriptor limit,
polling the demo fleet (5 simulated printers, snmpsim on 127.0.0.11-15). The
bench opens `--idle` TCP connections to it that never send a byte, and keeps
that many open for the whole run: a connection the server closes is opened
again, as a persistent attacker would. Meanwhile it times `--scrapes`
scrapes of `/metrics`, each on a new connection with a 3 s timeout.

Prints one JSON line: scrape latency p50/p99/max in ms (of the scrapes that
answered), how many failed, the exporter's CPU seconds and log lines and bytes
during the attack (and the first line), and how many idle connections the
server closed. Nothing
leaves 127.0.0.0/8, and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from demo.__main__ import FIXTURES, FLEET, exporter_config
from demo.simulator import Simulator, free_tcp_port, free_udp_port

FD_LIMIT = 1024
"""The exporter's RLIMIT_NOFILE in the finding (a common systemd and shell default)."""
SCRAPE_TIMEOUT = 3.0
ATTACK_LIMIT = 300.0
"""The attack stops after this many seconds whatever happens."""


def _limit_fds(limit: int) -> None:  # runs in the child before exec
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Attacker:
    """Holds `count` idle connections to `port`, reopening those the server closes."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.count = count
        self.sockets: list[socket.socket] = []
        self.closed_by_server = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="attacker", daemon=True)

    def _open(self) -> None:
        while len(self.sockets) < self.count:
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", self.port))  # EINPROGRESS: no waiting
            self.sockets.append(sock)

    def _reap(self) -> None:
        """Drop the sockets the server closed (readable with EOF, or reset)."""
        poller = select.poll()
        by_fd = {sock.fileno(): sock for sock in self.sockets}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        for fd, _ in poller.poll(0):
            sock = by_fd[fd]
            try:
                data = sock.recv(1)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self.sockets.remove(sock)
                sock.close()
                self.closed_by_server += 1

    def _run(self) -> None:
        deadline = time.monotonic() + ATTACK_LIMIT
        while not self.stop.is_set() and time.monotonic() < deadline:
            self._reap()
            self._open()
            self.stop.wait(0.25)

    def __enter__(self) -> Attacker:
        self._open()
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)
        for sock in self.sockets:
            sock.close()


def _wait_ready(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            body = httpx.get(f"{base}/metrics", timeout=2).text
            if body.count("printer_up{") >= len(FLEET):
                return
        time.sleep(0.3)
    raise SystemExit("the exporter did not come up with the demo fleet")


@dataclass(frozen=True)
class DemoExporter:
    base: str
    """http://127.0.0.1:PORT"""
    log: Path
    """The child's stdout and stderr, while it runs."""
    pid: int


@contextlib.contextmanager
def running_demo_exporter(fd_limit: int | None = None) -> Iterator[DemoExporter]:
    """The real exporter in a child process, polling the demo fleet until the block ends.

    With `fd_limit`, the child runs under that RLIMIT_NOFILE.
    """
    udp = free_udp_port([p.host for p in FLEET])
    endpoints = [(p.host, udp) for p in FLEET]
    with (
        Simulator(FIXTURES, endpoints, probe_community=FLEET[0].recording),
        tempfile.TemporaryDirectory(prefix="bench-exporter-") as tmp,
    ):
        config = Path(tmp) / "exporter.yml"
        config.write_text(yaml.safe_dump(exporter_config(udp), sort_keys=False))
        port = free_tcp_port()
        base = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "exporter.log"
        with log.open("wb") as out:
            command = [sys.executable, "-m", "exporter.cli", "--config.file", str(config)]
            command += ["--storage.path", str(Path(tmp) / "data")]
            proc = subprocess.Popen(
                [*command, "--web.listen-address", f"127.0.0.1:{port}"],
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=(lambda: _limit_fds(fd_limit)) if fd_limit else None,
            )
        try:
            _wait_ready(base)
            yield DemoExporter(base, log, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)


def run(idle: int, scrapes: int) -> dict[str, object]:
    with running_demo_exporter(FD_LIMIT) as exporter:
        base, log, pid = exporter.base, exporter.log, exporter.pid
        port = int(base.rsplit(":", 1)[1])
        log_before = log.read_bytes()
        cpu_before = _cpu_seconds(pid)
        latencies: list[float] = []
        failures = 0
        with Attacker(port, idle) as attacker:
            time.sleep(2.0)  # let the idle connections land
            for _ in range(scrapes):
                start = time.perf_counter()
                try:
                    response = httpx.get(f"{base}/metrics", timeout=SCRAPE_TIMEOUT)
                    ok = response.status_code == 200 and "printer_up{" in response.text
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    failures += 1
                time.sleep(0.25)
            closed = attacker.closed_by_server
        cpu = _cpu_seconds(pid) - cpu_before
        attack_log = log.read_bytes()[len(log_before) :]
    ordered = sorted(latencies)
    return {
        "idle_connections": idle,
        "fd_limit": FD_LIMIT,
        "scrapes": scrapes,
        "failed": failures,
        "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)
        if ordered
        else None,
        "max_ms": round(ordered[-1], 1) if ordered else None,
        "exporter_cpu_s": round(cpu, 2),
        "log_lines": attack_log.count(b"\n"),
        "log_bytes": len(attack_log),
        "idle_closed_by_server": closed,
        "first_log_line": attack_log.split(b"\n", 1)[0][:300].decode("utf-8", "replace"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1100, help="idle connections (1100)")
    parser.add_argument("--scrapes", type=int, default=20, help="timed scrapes (20)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.idle, args.scrapes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
