"""The demo's central side: the reference archive and the site's pull_sync, on loopback.

`Central` starts `printer-archive serve` (SQLite in the demo's temp folder, plain HTTP on
127.0.0.1, which pull_sync allows only to a loopback address) with an agent and a signing
key made for the occasion, and `pull-sync` beside the exporter with its intervals cut to
seconds. `publish` signs a config bundle with `printer-archive config publish`, as the
dealer would; `agent` reads what the archive knows of the site.

Both run as child processes of the demo, log to files in the temp folder, and stop with
it. Nothing here leaves 127.0.0.0/8.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from demo.simulator import free_tcp_port

AGENT = "demo-site"
INTERVAL = "5s"
"""pull_sync's upload and check-in interval in the demo (a site uses 15m and 1h)."""


class Central:
    """The archive and pull_sync for one demo run, in `folder`."""

    def __init__(self, folder: Path, exporter_config: Path, exporter_url: str) -> None:
        self.folder = folder
        self.db = f"sqlite:///{folder / 'archive.db'}"
        self.url = f"http://127.0.0.1:{free_tcp_port()}"
        self._exporter_config = exporter_config
        self._exporter_url = exporter_url
        self._procs: list[subprocess.Popen[bytes]] = []

    def _archive(self, *args: str, db: bool = True) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "archive", *args, *(("--db", self.db) if db else ())],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"printer-archive {args[0]}: {done.stderr.decode().strip()}")
        return done.stdout.decode()

    def _start(self, name: str, *args: str) -> None:
        with (self.folder / f"{name}.log").open("wb") as log:
            self._procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT
                )
            )

    def __enter__(self) -> Central:
        self._archive("keygen", "--out", str(self.folder / "keys"), db=False)
        token = self._archive("agent", "add", AGENT).strip().splitlines()[-1]
        (self.folder / "token").write_text(token + "\n")
        host_port = self.url.removeprefix("http://")
        self._start(
            "archive", "archive", "serve", "--web.listen-address", host_port, "--db", self.db
        )
        self._wait_healthy()
        config = {
            "agent": {"name": AGENT},
            "archive": {"url": self.url, "token_file": "token"},
            "exporter": {"url": self._exporter_url, "config_file": str(self._exporter_config)},
            "signing": {"public_key_file": "keys/archive-signing.pub"},
            "outbox": {"path": "outbox.db"},
            "upload": {"interval": INTERVAL},
            "checkin": {"interval": INTERVAL},
        }
        path = self.folder / "pull-sync.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self._start("pull-sync", "pull_sync", "--config.file", str(path), "--log.level", "warn")
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/healthy", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the archive did not start; see {self.folder / 'archive.log'}")

    def publish(self, settings: dict[str, Any]) -> str:
        """Sign and store a bundle for the demo site, as the dealer would; its description."""
        bundle = self.folder / "bundle.yaml"
        bundle.write_text(yaml.safe_dump({"settings": settings}, sort_keys=False))
        key = self.folder / "keys" / "archive-signing.key"
        args = ("config", "publish", "--agent", AGENT, "--file", str(bundle), "--key", str(key))
        return self._archive(*args).strip().splitlines()[-1]

    def agent(self) -> dict[str, Any]:
        """What the archive knows of the demo site: `agent list --output json`'s entry."""
        agents = json.loads(self._archive("agent", "list", "--output", "json"))["agents"]
        found: dict[str, Any] = next(a for a in agents if a["name"] == AGENT)
        return found

    def export(self, *args: str) -> str:
        """`printer-archive export ARGS`: the meter reads a dealer would bill from."""
        return self._archive("export", *args)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for proc in reversed(self._procs):
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)
