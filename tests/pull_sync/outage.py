"""A day-long archive outage on a fake clock, shared by the test archive and the real one.

200 printers polled every 5 minutes, collected every 15 (the default upload interval),
for 24 simulated hours. The archive refuses connections for the first third; then, if
it can be told to, answers 503 with Retry-After for the second third; then it is well.
Time is a `FakeClock`, so the day takes seconds and no wait depends on the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from demo.simulator import free_tcp_port
from pull_sync.archive import ArchiveClient
from pull_sync.exporter_api import ExporterClient
from pull_sync.outbox import Outbox
from pull_sync.service import Sidecar
from tests.pull_sync.conftest import FakeClock, Tls, fleet, load, write_config
from tests.pull_sync.servers import FakeExporter, serve

PRINTERS = 200
POLL = 300.0
DAY = 86400.0


@dataclass
class Backend:
    token: str
    start: Callable[[int], AbstractContextManager[object]]
    """Start the archive listening on 127.0.0.1:port (TLS, the session CA)."""
    stored: Callable[[], list[str]]
    """The idempotency keys the archive holds."""
    fail_503: Callable[[bool], None] | None = None
    """Switch 503 + Retry-After on or off; None for an archive that cannot be told to."""


async def simulate_outage(
    folder: Path, tls: Tls, backend: Backend, max_bytes: str
) -> dict[str, int]:
    """Run the day; check every kept batch arrived once; return the figures."""
    port = free_tcp_port()
    exporter = FakeExporter()
    clock = FakeClock()
    with serve(exporter.app) as exporter_server:
        path = write_config(
            folder,
            f"https://127.0.0.1:{port}",
            ca_file=tls.ca_file,
            exporter_url=exporter_server.url,
            archive_extra="timeout: 10s",
            outbox=f"{{path: outbox.db, max_bytes: {max_bytes}}}",
            upload="{interval: 15m, backoff_base: 1s, backoff_max: 15m}",
        )
        (folder / "token").write_text(backend.token + "\n")
        config = load(path)
        outbox = Outbox.open(config.outbox.path, config.outbox.max_bytes, clock=clock.time)
        client = ArchiveClient(config.archive, clock=clock.time)
        sidecar = Sidecar(
            config,
            outbox,
            client,
            ExporterClient(config.exporter),
            clock=clock.time,
            monotonic=clock.monotonic,
        )
        queued: list[str] = []
        peak = tries = 0
        next_try = next_collect = clock.monotonic()
        up_at = DAY / 3 if backend.fail_503 is not None else 2 * DAY / 3
        server: AbstractContextManager[object] | None = None
        try:
            for tick in range(int(DAY / POLL)):
                elapsed = tick * POLL
                if elapsed == up_at:
                    if backend.fail_503 is not None:
                        backend.fail_503(True)
                    server = backend.start(port)
                    server.__enter__()
                if elapsed == 2 * DAY / 3 and backend.fail_503 is not None:
                    backend.fail_503(False)
                exporter.set_snapshots(fleet(PRINTERS, tick))
                if clock.monotonic() >= next_collect:
                    before = set(outbox.queued_keys())
                    assert await sidecar.collect_once() == PRINTERS
                    queued += [k for k in outbox.queued_keys() if k not in before]
                    peak = max(peak, outbox.stats().bytes)
                    next_collect = clock.monotonic() + sidecar.upload_interval
                if clock.monotonic() >= next_try:
                    tries += 1
                    wait = await sidecar.uploader.drain()
                    next_try = clock.monotonic() + (wait or 0.0)
                clock.advance(POLL)
            clock.advance(3600)  # the last backoff is over
            assert await sidecar.uploader.drain() is None
            stored = backend.stored()
        finally:
            await client.aclose()
            await sidecar.exporter.aclose()
            if server is not None:
                server.__exit__(None, None, None)
        dropped = outbox.stats().counter("dropped_batches")
        assert outbox.pending() == 0
        assert len(stored) == len(set(stored)), "a key stored twice"
        assert set(stored) <= set(queued)
        assert len(stored) == len(queued) - dropped, "a kept batch did not arrive"
        assert peak <= config.outbox.max_bytes
        outbox.close()
        return {
            "batches": len(queued),
            "delivered": len(stored),
            "dropped": dropped,
            "duplicates": sidecar.stats.upload_attempts["duplicate"],
            "peak_bytes": peak,
            "tries": tries,
        }
