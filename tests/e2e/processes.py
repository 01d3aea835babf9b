"""What the end-to-end tests share: child processes with a log file, and bounded waits."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


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
