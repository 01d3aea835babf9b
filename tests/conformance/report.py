"""Serve the shared corpus with snmpsim, read every recording, print the accuracy table.

    .venv/bin/python -m tests.conformance.report [--misses]

The recordings are copied into a temporary directory first: snmpsim names a
community after the file, and a symlink would get its target's path instead.
Traffic goes to one snmpsim process on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from demo.simulator import Simulator
from exporter.device import read_device
from exporter.model import Snapshot
from exporter.snmp import SnmpError, SnmpOptions, community, connect
from tests.conformance.corpus import (
    Check,
    Recording,
    accuracy_table,
    corpus_dir,
    evaluate,
    load_recordings,
    misses,
)

_CONCURRENCY = 8
_OPTIONS = SnmpOptions(timeout=2.0, retries=2, walk_timeout=20.0)


@contextmanager
def serve(recordings: list[Recording]) -> Iterator[Simulator]:
    """snmpsim on 127.0.0.1 serving copies of `recordings`, community = recording name."""
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for rec in recordings:
            shutil.copyfile(rec.path, data / f"{rec.name}.snmprec")
        with Simulator(data, probe_community=recordings[0].name) as sim:
            yield sim


async def read_all(recordings: list[Recording], host: str, port: int) -> list[Snapshot]:
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one(rec: Recording) -> Snapshot:
        async with gate:
            try:
                client = await connect(host, port, [community("corpus", rec.name)], _OPTIONS)
            except SnmpError as exc:
                return Snapshot(
                    target=f"{host}:{port}",
                    taken_at="",
                    duration_seconds=0.0,
                    reachable=False,
                    error=str(exc),
                )
            return (await read_device(client)).snapshot

    return list(await asyncio.gather(*(one(r) for r in recordings)))


def run(recordings: list[Recording]) -> list[tuple[Recording, Snapshot]]:
    with serve(recordings) as sim:
        snaps = asyncio.run(read_all(recordings, sim.host, sim.port))
    return list(zip(recordings, snaps, strict=True))


def all_checks(results: list[tuple[Recording, Snapshot]]) -> list[Check]:
    return [check for rec, snap in results for check in evaluate(rec, snap)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--misses", action="store_true", help="list every failed check")
    args = parser.parse_args(argv)
    root = corpus_dir()
    if not (root / "MANIFEST.tsv").exists():
        print(f"no corpus at {root} (set PRINTER_EXPORTER_CORPUS)", file=sys.stderr)
        return 1
    recordings = load_recordings(root)
    checks = all_checks(run(recordings))
    print(f"{len(recordings)} recordings from {root}\n")
    print(accuracy_table(checks))
    if args.misses:
        print("\nMisses:\n" + (misses(checks) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
