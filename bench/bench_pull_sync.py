"""Benchmark: pull_sync's traffic, outbox speed and memory. Prints figures; asserts nothing.

    .venv/bin/python -m bench.bench_pull_sync                  # all three
    .venv/bin/python -m bench.bench_pull_sync --only traffic --devices 1 10 100 1000

1. traffic: bytes on the wire per device per day at the default intervals (upload every
   15 min, check-in every hour). Each upload and check-in opens its own TLS connection,
   as it does in production (the 15-minute gap outlives keep-alive), through a byte-
   counting TCP relay between pull_sync's real client and an HTTPS archive, so the figure
   includes TLS handshakes, HTTP headers and gzip bodies. Snapshots are the readers' own
   output for the project's recordings (tests/fixtures, vendors included), one device per
   copy with its own serial, MAC, meters, levels and timings.
2. outbox: appends per second of a 200-device batch, with synchronous=FULL (what the
   outbox uses) and NORMAL (for the argument in pull_sync/outbox.py).
3. rss: peak RSS of a real `pull-sync --once` process that collects 10,000 devices from
   a fake exporter and uploads them (os.wait4's ru_maxrss for that one child), against the
   same process with no device.

The archive is the test archive of tests/pull_sync/servers.py (it records what reached
it). Everything listens on 127.0.0.1 and every step is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trustme

from bench.relay import Relay
from exporter.device import read_device
from exporter.snmp.memory import MemoryClient, load_snmprec
from pull_sync.archive import ArchiveClient
from pull_sync.batches import build_batches
from pull_sync.config import parse_config
from pull_sync.outbox import Outbox
from tests.pull_sync.servers import FakeExporter, ServerTls, Signer, TestArchive, serve

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
TOKEN = "pa1_bench-token-000000000000000000000000000"
UPLOADS_PER_DAY = 96  # every 15 min
CHECKINS_PER_DAY = 24  # every hour
STEP_TIMEOUT = 600.0


# --- realistic snapshots -----------------------------------------------------------------


async def _read_all() -> list[dict[str, Any]]:
    docs = []
    for path in sorted([*FIXTURES.glob("*.snmprec"), *FIXTURES.glob("vendors/*.snmprec")]):
        client = MemoryClient(load_snmprec(path), target="127.0.0.1:161")
        docs.append((await read_device(client)).snapshot.to_json())
    return docs


def fleet(templates: list[dict[str, Any]], count: int, tick: int) -> list[dict[str, Any]]:
    """`count` devices as of poll `tick`: each its own serial, MAC, meters, levels, times."""
    out = []
    for index in range(count):
        device, now = random.Random(index), random.Random(index * 7919 + tick)
        base = templates[index % len(templates)]
        doc = dict(base)
        doc["target"] = f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}:161"
        doc["taken_at"] = (
            f"2026-12-{4 + tick // 96:02d}T{tick // 4 % 24:02d}:{tick % 4 * 15:02d}:"
            f"{now.randrange(60):02d}.{now.randrange(1000):03d}Z"
        )
        doc["duration_seconds"] = round(now.uniform(0.05, 2.5), 6)
        identity = dict(base["identity"])
        identity["serial"] = f"{device.choice('ABCDEFGHJK')}{device.randrange(10**9):09d}"
        identity["mac"] = ":".join(f"{device.randrange(256):02x}" for _ in range(6))
        identity["sys_name"] = f"NPI{device.randrange(16**6):06X}"
        if identity.get("uptime_seconds") is not None:
            identity["uptime_seconds"] = float(device.randrange(10**7) + tick * 900)
        doc["identity"] = identity
        start = device.randrange(10**6)
        doc["counters"] = [
            {**c, "value": c["value"] + start + tick * device.randrange(1, 40)}
            if isinstance(c.get("value"), int)
            else c
            for c in base["counters"]
        ]
        doc["supplies"] = [
            {**s, "level": max(0, s["level"] - device.randrange(50) - tick // 50)}
            if isinstance(s.get("level"), int) and s["level"] > 0
            else s
            for s in base["supplies"]
        ]
        out.append(doc)
    return out


@contextmanager
def certificates() -> Iterator[tuple[Path, ServerTls]]:
    with tempfile.TemporaryDirectory(prefix="bench-pull-sync-") as tmp:
        folder = Path(tmp)
        ca = trustme.CA()
        ca.cert_pem.write_to_path(folder / "ca.crt")
        leaf = ca.issue_cert("127.0.0.1")
        leaf.cert_chain_pems[0].write_to_path(folder / "server.crt")
        leaf.private_key_pem.write_to_path(folder / "server.key")
        yield folder, ServerTls(str(folder / "server.crt"), str(folder / "server.key"))


def sidecar_yaml(folder: Path, archive_url: str, exporter_url: str, extra: str = "") -> Path:
    (folder / "token").write_text(TOKEN + "\n")
    path = folder / "pull-sync.yml"
    path.write_text(
        "agent: {name: site-a}\n"
        f"archive: {{url: '{archive_url}', token_file: token, ca_file: ca.crt}}\n"
        f"exporter: {{url: '{exporter_url}'}}\n"
        "outbox: {path: outbox.db, max_bytes: 1GiB}\n" + extra
    )
    return path


# --- 1. traffic ---------------------------------------------------------------------------


async def traffic(templates: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    with certificates() as (folder, server_tls):
        archive = TestArchive(TOKEN)
        signer = Signer()
        archive.publish(signer.envelope(b'{"schema": "archive-config/1"}'))
        with serve(archive.app, tls=server_tls) as running:
            for devices in sizes:
                relay = Relay(running.port)
                await relay.start()
                config = parse_config(
                    sidecar_yaml(
                        folder, f"https://127.0.0.1:{relay.port}", "http://127.0.0.1:9"
                    ).read_text(),
                    base_dir=folder,
                )
                raw_json = body_bytes = 0
                for tick in range(UPLOADS_PER_DAY):
                    raw = json.dumps(fleet(templates, devices, tick)).encode()
                    built = build_batches(raw, max_snapshots=config.upload.max_batch_snapshots)
                    raw_json += len(raw)
                    for body, _ in built.bodies:
                        body_bytes += len(body)
                        client = ArchiveClient(config.archive)  # a new connection each time
                        try:
                            await client.upload(f"bench-{devices}-{tick}-{body_bytes}", body)
                        finally:
                            await client.aclose()
                uploads_wire = relay.up + relay.down
                etag = archive.etag
                for _ in range(CHECKINS_PER_DAY):
                    client = ArchiveClient(config.archive)
                    try:
                        assert (await client.fetch_config(etag)).status == 304
                    finally:
                        await client.aclose()
                checkin_wire = relay.up + relay.down - uploads_wire
                await relay.stop()
                rows.append(
                    {
                        "bench": "traffic",
                        "devices": devices,
                        "bytes_per_device_per_day": round((uploads_wire + checkin_wire) / devices),
                        "upload_wire_bytes_per_day": uploads_wire,
                        "checkin_wire_bytes_per_day": checkin_wire,
                        "gzip_body_bytes_per_day": body_bytes,
                        "json_bytes_per_day": raw_json,
                        "gzip_ratio": round(raw_json / body_bytes, 1),
                        "connections": relay.connections,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


# --- 2. outbox append rate ------------------------------------------------------------------


def outbox_rate(templates: list[dict[str, Any]], appends: int) -> list[dict[str, Any]]:
    raw = json.dumps(fleet(templates, 200, 0)).encode()
    (body, count), *_ = build_batches(raw, max_snapshots=1000).bodies
    rows = []
    for synchronous in ("FULL", "NORMAL"):
        with (
            tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp,
            Outbox.open(Path(tmp) / "outbox.db", 1024 * 1024 * 1024) as outbox,
        ):
            outbox._db.execute(f"PRAGMA synchronous = {synchronous}")
            started = time.perf_counter()
            for _ in range(appends):
                outbox.append([(body, count)])
            elapsed = time.perf_counter() - started
            rows.append(
                {
                    "bench": "outbox_append",
                    "synchronous": synchronous,
                    "batch_snapshots": count,
                    "batch_bytes": len(body),
                    "appends_per_second": round(appends / elapsed, 1),
                    "snapshots_per_second": round(appends * count / elapsed),
                    "mb_per_second": round(appends * len(body) / elapsed / 1e6, 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


# --- 3. peak RSS with 10,000 devices ---------------------------------------------------------

_MEASURED = """
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith("VmHWM:"))
    with open(os.environ["BENCH_VMHWM_FILE"], "w") as out:
        out.write(line)
atexit.register(_peak)
sys.argv[0] = "pull-sync"
runpy.run_module("pull_sync", run_name="__main__", alter_sys=True)
"""
"""Runs pull-sync and, at exit, writes its VmHWM: the peak RSS of this process image only.
(os.wait4's ru_maxrss would include the parent's image from before the exec.)"""


def peak_rss(templates: list[dict[str, Any]], devices: int) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "sidecar_peak_rss"}
    with certificates() as (folder, server_tls):
        archive = TestArchive(TOKEN)
        exporter = FakeExporter()
        with serve(archive.app, tls=server_tls) as arch, serve(exporter.app) as exp:
            for count in (0, devices):
                exporter.set_snapshots(fleet(templates, count, 0))
                run = folder / f"run-{count}"
                run.mkdir()
                (run / "ca.crt").write_bytes((folder / "ca.crt").read_bytes())
                config = sidecar_yaml(run, arch.url, exp.url)
                started = time.monotonic()
                log, peak_file = run / "stderr.log", run / "vmhwm"
                with log.open("wb") as errors:
                    process = subprocess.Popen(
                        [sys.executable, "-c", _MEASURED, "--config.file", str(config), "--once"],
                        stdout=subprocess.DEVNULL,
                        stderr=errors,
                        env={**os.environ, "BENCH_VMHWM_FILE": str(peak_file)},
                    )
                try:
                    process.wait(timeout=STEP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=60)
                if process.returncode != 0:
                    raise RuntimeError(log.read_text()[-2000:])
                peak_kib = int(peak_file.read_text().split()[1])
                key = "baseline" if count == 0 else "with_devices"
                result[f"{key}_peak_rss_mb"] = round(peak_kib / 1024, 1)
                result[f"{key}_seconds"] = round(time.monotonic() - started, 1)
            result["devices"] = devices
            result["snapshot_api_json_mb"] = round(len(exporter.body) / 1e6, 1)
            result["archived_snapshots"] = archive.snapshot_count()
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["traffic", "outbox", "rss"])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--rss-devices", type=int, default=10_000)
    args = parser.parse_args()
    templates = asyncio.run(_read_all())
    if args.only in (None, "traffic"):
        asyncio.run(asyncio.wait_for(traffic(templates, args.devices), STEP_TIMEOUT * 4))
    if args.only in (None, "outbox"):
        outbox_rate(templates, args.appends)
    if args.only in (None, "rss"):
        peak_rss(templates, args.rss_devices)


if __name__ == "__main__":
    main()
