"""The archive as separate processes: two behind one database store each batch once, and a
kill -9 in the middle of an ingest leaves no half-stored batch."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from archive import db, store
from tests.archive.conftest import (
    archive_process,
    batch_body,
    count_rows,
    snapshot,
    start_archive,
)

pytestmark = pytest.mark.integration

KEYS = 40
PER_BATCH = 5


def test_two_processes_store_each_batch_exactly_once(db_url: str, tmp_path: Path) -> None:
    """Every key is sent to both processes at the same moment (a barrier per key):
    each answers 200, one of them stored it, the other says duplicate."""
    engine = db.open_engine(db_url)
    db.upgrade(engine)
    token = store.add_agent(engine, "site-a").reveal()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with (
        archive_process(db_url, tmp_path / "a.log") as first,
        archive_process(db_url, tmp_path / "b.log") as second,
    ):
        barrier = threading.Barrier(2, timeout=60)

        def send(url: str, key: str, body: bytes) -> dict[str, object]:
            barrier.wait()
            response = httpx.post(
                f"{url}/api/v1/snapshots",
                content=body,
                headers={**headers, "Idempotency-Key": key},
                timeout=60,
            )
            assert response.status_code == 200, response.text
            result: dict[str, object] = response.json()
            return result

        results: list[tuple[dict[str, object], dict[str, object]]] = []
        with ThreadPoolExecutor(2) as pool:
            for n in range(KEYS):
                key = f"race-{n}"
                docs = [
                    snapshot(
                        target=f"127.0.0.{10 + i}:161",
                        taken_at=f"2026-12-01T10:{n:02d}:00Z",
                        counters=[("total", 1000 + n), ("mono", 500 + n)],
                    )
                    for i in range(PER_BATCH)
                ]
                body = batch_body(docs)
                one = pool.submit(send, first.url, key, body)
                other = pool.submit(send, second.url, key, body)
                results.append((one.result(timeout=120), other.result(timeout=120)))
    for a, b in results:
        assert a["stored"] == b["stored"] == PER_BATCH
        assert {a["duplicate"], b["duplicate"]} == {False, True}
    assert count_rows(engine, "batches") == KEYS
    assert count_rows(engine, "snapshots") == KEYS * PER_BATCH
    assert count_rows(engine, "meter_reads") == KEYS * PER_BATCH * 2
    (agent,) = store.list_agents(engine)
    assert agent.snapshots_stored == KEYS * PER_BATCH
    engine.dispose()


LARGE = 3000
COUNTERS = 30


def large_batch() -> bytes:
    docs = [
        snapshot(
            target=f"127.0.{i // 250}.{i % 250 + 1}:161",
            taken_at="2026-12-01T10:00:00Z",
            counters=[(f"vendor_{c}", i * 100 + c) for c in range(COUNTERS)],
        )
        for i in range(LARGE)
    ]
    return batch_body(docs, compress=True)


def upload_in_background(url: str, token: str, key: str, body: bytes) -> threading.Thread:
    def run() -> None:
        # the server is killed under it: a transport error is expected
        with contextlib.suppress(httpx.TransportError):
            httpx.post(
                f"{url}/api/v1/snapshots",
                content=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": key,
                    "Content-Encoding": "gzip",
                },
                timeout=120,
            )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def assert_all_or_nothing(url: str, key: str) -> bool:
    """True when the batch under `key` is fully stored, False when absent; fails otherwise."""
    engine = db.open_engine(url)
    with engine.connect() as conn:
        batch = conn.execute(
            text("SELECT id, stored FROM batches WHERE idempotency_key = :k"), {"k": key}
        ).first()
        snaps = conn.execute(text("SELECT count(*) FROM snapshots")).scalar_one()
        reads = conn.execute(text("SELECT count(*) FROM meter_reads")).scalar_one()
    engine.dispose()
    if batch is None:
        assert (snaps, reads) == (0, 0), "half a batch is stored"
        return False
    assert (batch[1], snaps, reads) == (LARGE, LARGE, LARGE * COUNTERS), "half a batch"
    return True


def test_kill_9_mid_ingest_on_postgresql_leaves_no_half_batch(pg_url: str, tmp_path: Path) -> None:
    """Deterministic: the test holds a lock the ingest needs only at its very end (the
    agent row it updates last), so the process is killed with every snapshot and meter
    read inserted and not committed. Then the same key is sent again and stored once."""
    engine = db.open_engine(pg_url)
    db.upgrade(engine)
    token = store.add_agent(engine, "site-a").reveal()
    agent = store.agent_id(engine, "site-a")
    engine.dispose()  # from here on, every printer-archive backend is the server's
    body = large_batch()
    psycopg_url = pg_url.replace("postgresql://", "postgresql+psycopg://")
    blocker = create_engine(psycopg_url)
    # pg_stat_activity is read once per transaction: watch it from autocommit statements
    watcher = create_engine(psycopg_url, isolation_level="AUTOCOMMIT")

    def archive_backends(condition: str = "true") -> int:
        with watcher.connect() as conn:
            found: int = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    f"'printer-archive' AND {condition}"
                )
            ).scalar_one()
            return found

    with blocker.connect() as hold:
        hold.execute(text("SELECT id FROM agents WHERE id = :a FOR NO KEY UPDATE"), {"a": agent})
        archive = start_archive(pg_url, tmp_path / "killed.log")
        thread = upload_in_background(archive.url, token, "big", body)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not archive_backends("wait_event_type = 'Lock'"):
            time.sleep(0.02)
        assert archive_backends("wait_event_type = 'Lock'"), "the ingest never reached its end"
        archive.kill()
        hold.rollback()
    thread.join(60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and archive_backends():
        time.sleep(0.05)  # the server's backend notices its client is gone, and rolls back
    assert not archive_backends()
    blocker.dispose()
    watcher.dispose()
    assert assert_all_or_nothing(pg_url, "big") is False
    with archive_process(pg_url, tmp_path / "again.log") as again:
        response = httpx.post(
            f"{again.url}/api/v1/snapshots",
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": "big",
                "Content-Encoding": "gzip",
            },
            timeout=120,
        )
    assert response.json() == {"batch": "big", "stored": LARGE, "duplicate": False}
    assert assert_all_or_nothing(pg_url, "big") is True


def sqlite_writer_active(path: Path) -> bool:
    """True while another connection holds SQLite's write lock (an ingest transaction)."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def test_kill_9_mid_ingest_on_sqlite_leaves_no_half_batch(tmp_path: Path) -> None:
    """The process is killed as soon as the ingest holds SQLite's write lock (it takes it
    at BEGIN IMMEDIATE, before the first insert), a few times over. Whatever the moment,
    the batch is afterwards either absent or whole; then it is sent again and stored once."""
    path = tmp_path / "archive.db"
    url = f"sqlite:///{path}"
    engine = db.open_engine(url)
    db.upgrade(engine)
    token = store.add_agent(engine, "site-a").reveal()
    engine.dispose()
    body = large_batch()
    caught = 0
    for attempt in range(3):
        archive = start_archive(url, tmp_path / f"killed-{attempt}.log")
        thread = upload_in_background(archive.url, token, "big", body)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and thread.is_alive():
            if sqlite_writer_active(path):
                caught += 1
                break
            time.sleep(0.002)
        archive.kill()
        thread.join(60)
        if assert_all_or_nothing(url, "big"):
            break
    print(f"killed mid-transaction {caught} time(s)")
    with archive_process(url, tmp_path / "again.log") as again:
        response = httpx.post(
            f"{again.url}/api/v1/snapshots",
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": "big",
                "Content-Encoding": "gzip",
            },
            timeout=120,
        )
    assert response.status_code == 200
    assert response.json()["stored"] == LARGE
    assert assert_all_or_nothing(url, "big") is True
    engine = db.open_engine(url)
    assert count_rows(engine, "batches") == 1
    engine.dispose()
