"""Benchmark (g): archive ingest, in snapshots per second, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.bench_archive_ingest [--batches 40] [--per-batch 100]
        [--clients 1 4] [--backend sqlite postgresql] [--pg-url postgresql://...]

The snapshots are real reads of the project's fixture recordings (a colour MFP,
a mono printer, the sentinel printer, the SNMPv3 printer), replicated under
distinct targets and times, as `pull_sync` would send them: gzip-compressed
batches with an Idempotency-Key each. Two measurements per backend:
- `store`: `archive.ingest.store_batch` alone (parse excluded), in this process:
  what the database costs per snapshot;
- `http`: the whole path through a real `printer-archive serve` process on
  127.0.0.1 (auth lookup, gzip, JSON parsing and checks, the transaction), with
  1 and with 4 clients posting at once.

SQLite is a file in a temporary directory (WAL, synchronous=FULL, as served).
PostgreSQL is `--pg-url` when given, else a private cluster started for the run
(tests/archive/pgcluster.py, fsync on, so commits cost what they cost). Prints
one JSON line per measurement; asserts nothing. Traffic stays on loopback, and
every loop is bounded by --batches.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from archive import db, ingest, store
from exporter.device import read_device
from exporter.model import Snapshot
from exporter.snmp.memory import MemoryClient, load_snmprec

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
RECORDINGS = ("color_mfp", "mono_printer", "sentinels", "snmpv3")


def templates() -> list[dict[str, Any]]:
    async def read_all() -> list[Snapshot]:
        out = []
        for name in RECORDINGS:
            client = MemoryClient(load_snmprec(FIXTURES / f"{name}.snmprec"), target=name)
            out.append((await read_device(client)).snapshot)
        return out

    return [snap.to_json() for snap in asyncio.run(read_all())]


def batches(count: int, per_batch: int, base: list[dict[str, Any]]) -> list[bytes]:
    """`count` gzip bodies of `per_batch` snapshots: distinct targets, five minutes apart."""
    out = []
    for b in range(count):
        docs = []
        for i in range(per_batch):
            doc = dict(base[i % len(base)])
            doc["target"] = f"127.{10 + i // 65536}.{(i // 256) % 256}.{i % 256}:161"
            minute = b * 5
            doc["taken_at"] = f"2026-12-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:" + (
                f"{minute % 60:02d}:00.000Z"
            )
            docs.append(doc)
        out.append(gzip.compress(json.dumps({"snapshots": docs}).encode(), compresslevel=6))
    return out


def measure_store(url: str, bodies: list[bytes]) -> dict[str, Any]:
    engine = db.open_engine(url)
    db.upgrade(engine)
    store.add_agent(engine, "bench-store")
    agent = store.agent_id(engine, "bench-store")
    parsed = [ingest.parse_batch(body, gzipped=True) for body in bodies]
    snapshots = sum(len(b.snapshots) for b in parsed)
    start = time.perf_counter()
    for n, batch in enumerate(parsed):
        ingest.store_batch(engine, agent, f"store-{n}", batch)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return {"snapshots": snapshots, "seconds": round(elapsed, 3)}


@contextmanager
def served(url: str, log: Path) -> Iterator[str]:
    """`printer-archive serve` on 127.0.0.1 at a free port, until ready (60 s at most)."""
    from demo.simulator import free_tcp_port

    port = free_tcp_port()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "archive",
                "serve",
                "--db",
                url,
                "--log.level",
                "warn",
                "--web.listen-address",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the archive exited: {log.read_text()}")
            try:
                if httpx.get(f"{base}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the archive did not become ready")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def measure_http(base: str, token: str, bodies: list[bytes], clients: int, tag: str) -> float:
    """Post every body, `clients` at a time, each client on its own kept-alive connection
    (as pull_sync keeps one); seconds from the first request to the last answer."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "User-Agent": "pull-sync/bench",
    }

    def worker(share: list[tuple[int, bytes]]) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            for n, body in share:
                response = client.post(
                    "/api/v1/snapshots", content=body, headers={"Idempotency-Key": f"{tag}-{n}"}
                )
                response.raise_for_status()

    numbered = list(enumerate(bodies))
    shares = [numbered[i::clients] for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, shares))
    return time.perf_counter() - start


def run_backend(name: str, url: str, bodies: list[bytes], clients: list[int]) -> None:
    per_batch = len(ingest.parse_batch(bodies[0], gzipped=True).snapshots)
    total = per_batch * len(bodies)
    stored = measure_store(url, bodies)
    report(name, "store", 1, stored["snapshots"], stored["seconds"], bodies)
    engine = db.open_engine(url)
    token = store.add_agent(engine, "bench-http").reveal()
    engine.dispose()
    with tempfile.TemporaryDirectory() as folder, served(url, Path(folder) / "log") as base:
        for count in clients:
            seconds = measure_http(base, token, bodies, count, f"http-{count}")
            report(name, "http", count, total, seconds, bodies)


def report(
    backend: str, path: str, clients: int, snapshots: int, seconds: float, bodies: list[bytes]
) -> None:
    print(
        json.dumps(
            {
                "backend": backend,
                "path": path,
                "clients": clients,
                "batches": len(bodies),
                "snapshots": snapshots,
                "gzip_bytes_per_snapshot": round(sum(map(len, bodies)) / snapshots),
                "seconds": round(seconds, 3),
                "snapshots_per_second": round(snapshots / seconds),
            }
        ),
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument(
        "--backend", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: a private one)")
    args = parser.parse_args()
    if not 1 <= args.batches <= 10_000 or not 1 <= args.per_batch <= ingest.MAX_SNAPSHOTS:
        parser.error("--batches 1..10000, --per-batch 1..10000")
    base = templates()
    bodies = batches(args.batches, args.per_batch, base)
    if "sqlite" in args.backend:
        with tempfile.TemporaryDirectory() as folder:
            run_backend("sqlite", f"sqlite:///{folder}/bench.db", bodies, args.clients)
    if "postgresql" in args.backend:
        if args.pg_url:
            run_backend("postgresql", args.pg_url, bodies, args.clients)
        else:
            sys.path.insert(0, str(ROOT))
            from tests.archive.pgcluster import PrivatePostgres

            with PrivatePostgres.start(fsync=True) as cluster:
                run_backend("postgresql", cluster.new_database("bench"), bodies, args.clients)
    print(f"# cpus: {os.cpu_count()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
