"""Pictures of the exporter's pages: a real exporter polling simulated printers (snmpsim on
127.0.0.0/8), its landing page and a device page rendered by headless Chromium.

    python -m tests.web.screenshots docs/img        # writes landing.png and device.png

Why a real exporter and not the web tests' fake service: the pictures in the README should
show what a user sees after starting the exporter, snapshots from real polls included. The
test (tests/web/test_screenshots.py) runs the same code into its artifacts directory.

Safety: the printers and the exporter listen on loopback, Chromium's resolver maps every
name to nothing but 127.0.0.1 and its background services are off; every wait is bounded.
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from demo.simulator import Simulator, free_tcp_port, free_udp_port
from tests.chromium import CHROMIUM, fenced_command

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
PRINTERS = {
    "127.6.0.11": "color_mfp",
    "127.6.0.12": "mono_printer",
    "127.6.0.13": "sentinels",
    "127.6.0.14": "pwg_counters",
}
"""Address -> the fixture (community) it answers as."""
DOWN = "127.6.0.19"
"""Listed in the config, answered by nothing: a printer that is down."""
DEVICE = "127.6.0.11"
"""The device page shown: the colour MFP, four toners, trays, meters and an alert."""

LANDING_WINDOW = (1280, 900)
DEVICE_WINDOW = (1280, 1500)
"""Tall enough for the device page's supplies table, its reason to be looked at."""
POLL_WAIT = 60.0
CHROMIUM_TIMEOUT = 90.0


class ScreenshotError(RuntimeError):
    """The exporter did not poll its printers in time, or Chromium made no picture."""


@dataclass(frozen=True, slots=True)
class Shot:
    name: str
    url: str
    path: Path
    window: tuple[int, int]


def chromium_command(chromium: str, profile: Path, window: tuple[int, int]) -> list[str]:
    """Fenced to loopback (tests/chromium.py), at the picture's window size."""
    return fenced_command(
        chromium, profile, "--hide-scrollbars", f"--window-size={window[0]},{window[1]}"
    )


def screenshot(
    chromium: str, url: str, path: Path, window: tuple[int, int]
) -> subprocess.CompletedProcess[str]:
    """Render `url` into the PNG `path`; raise ScreenshotError when no picture came out."""
    path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        result = subprocess.run(
            [*chromium_command(chromium, Path(profile), window), f"--screenshot={path}", url],
            capture_output=True,
            text=True,
            timeout=CHROMIUM_TIMEOUT,
            check=False,
        )
    if not path.exists():
        raise ScreenshotError(f"chromium made no {path.name}: {result.stderr[-2000:]}")
    return result


def dump_dom(chromium: str, url: str) -> str:
    """The page as Chromium laid it out, serialised: what the picture shows, as text."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        result = subprocess.run(
            [*chromium_command(chromium, Path(profile), LANDING_WINDOW), "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=CHROMIUM_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        raise ScreenshotError(f"chromium --dump-dom failed: {result.stderr[-2000:]}")
    return result.stdout


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ScreenshotError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def exporter_config(snmp_port: int) -> dict[str, object]:
    names = sorted(set(PRINTERS.values()))
    return {
        "credentials": [{"name": n, "version": "2c", "community": n} for n in names],
        "targets": [
            {"address": f"{host}:{snmp_port}", "credentials": [name]}
            for host, name in PRINTERS.items()
        ]
        + [{"address": f"{DOWN}:{snmp_port}", "credentials": ["color_mfp"]}],
        "poll": {"interval": "30s", "timeout": "1s", "retries": 1},
    }


def printer_up(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        if family.name == "printer_up":
            return {s.labels["target"]: s.value for s in family.samples}
    return {}


def wait_polled(base: str, targets: Sequence[str], process: subprocess.Popen[bytes]) -> None:
    """Until every target has been polled once (printer_up present); bounded in time and
    count. The pictures are of a fleet the exporter has read, not of an empty start."""
    deadline = time.monotonic() + POLL_WAIT
    seen: dict[str, float] = {}
    for _ in range(int(POLL_WAIT / 0.5) + 1):
        if process.poll() is not None:
            raise ScreenshotError(f"the exporter exited with {process.returncode}")
        try:
            seen = printer_up(base)
        except httpx.HTTPError:
            seen = {}
        if set(targets) <= set(seen):
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    raise ScreenshotError(f"the exporter polled {sorted(seen)} of {sorted(targets)}")


@contextmanager
def running_exporter(workdir: Path) -> Iterator[tuple[str, int]]:
    """snmpsim serving the fixtures, and the exporter polling them: (base URL, SNMP port)."""
    snmp_port = free_udp_port([*PRINTERS, DOWN])
    web_port = free_tcp_port()
    config = workdir / "exporter.yml"
    config.write_text(yaml.safe_dump(exporter_config(snmp_port)), encoding="utf-8")
    log = workdir / "exporter.log"
    base = f"http://127.0.0.1:{web_port}"
    with (
        Simulator(FIXTURES, [(host, snmp_port) for host in PRINTERS]),
        log.open("ab") as out,
    ):
        process = subprocess.Popen(
            [
                sys.executable, "-m", "exporter.cli",
                "--config.file", str(config),
                "--web.listen-address", f"127.0.0.1:{web_port}",
                "--storage.path", str(workdir / "data"),
            ],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        try:
            targets = [f"{host}:{snmp_port}" for host in [*PRINTERS, DOWN]]
            try:
                wait_polled(base, targets, process)
            except ScreenshotError as exc:
                tail = log.read_text(errors="replace")[-3000:]
                raise ScreenshotError(f"{exc}\n--- exporter.log\n{tail}") from None
            yield base, snmp_port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def shots(base: str, snmp_port: int, out_dir: Path) -> list[Shot]:
    target = quote(f"{DEVICE}:{snmp_port}", safe="")
    return [
        Shot("landing", f"{base}/", out_dir / "landing.png", LANDING_WINDOW),
        Shot("device", f"{base}/device/{target}", out_dir / "device.png", DEVICE_WINDOW),
    ]


def render_pages(out_dir: Path, chromium: str) -> list[Shot]:
    """Start the printers and the exporter, take both pictures into `out_dir`, stop all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="screenshots-") as work,
        running_exporter(Path(work)) as (base, snmp_port),
    ):
        taken = shots(base, snmp_port, out_dir)
        for shot in taken:
            screenshot(chromium, shot.url, shot.path, shot.window)
    return taken


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.web.screenshots",
        description="Render the exporter's landing and device pages into PNG files.",
    )
    parser.add_argument("out_dir", type=Path, help="where landing.png and device.png go")
    args = parser.parse_args(argv)
    chromium = CHROMIUM
    if chromium is None:
        print("chromium is not installed (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    try:
        taken = render_pages(args.out_dir, chromium)
    except ScreenshotError as exc:
        print(exc, file=sys.stderr)
        return 1
    for shot in taken:
        print(f"{shot.path}  {shot.path.stat().st_size:,} bytes  ({shot.url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
