"""The outbox: durable, bounded, keys fixed at queueing, corrupt records quarantined,
and a full disk that loses nothing already queued."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pull_sync.errors import DiskFull, OutboxError
from pull_sync.outbox import Outbox, check_record, inflate

MiB = 1024 * 1024


def body(count: int, pad: int = 0, seed: int = 0) -> tuple[bytes, int]:
    """A gzip batch of `count` tiny snapshots; `pad` bytes of incompressible filler."""
    filler = os.urandom(pad).hex() if pad else ""
    docs = [
        {"schema": "printer-snapshot/1", "target": f"10.0.0.{i}:161", "seed": seed, "x": filler}
        for i in range(count)
    ]
    return gzip.compress(json.dumps({"snapshots": docs}).encode()), count


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox.open(tmp_path / "outbox.db", max_bytes=MiB) as box:
        yield box


def test_append_then_oldest_then_delete(outbox: Outbox) -> None:
    first = outbox.append([body(2, seed=1)])
    second = outbox.append([body(3, seed=2)])
    batch = outbox.oldest()
    assert batch is not None
    assert batch.key == first.keys[0]
    assert batch.snapshots == 2
    assert json.loads(gzip.decompress(batch.body))["snapshots"][0]["seed"] == 1
    outbox.delete(batch.id)
    batch = outbox.oldest()
    assert batch is not None
    assert batch.key == second.keys[0]
    outbox.delete(batch.id)
    assert outbox.oldest() is None
    assert outbox.stats().batches == 0


def test_keys_are_fixed_at_queueing_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with Outbox.open(path, MiB) as box:
        keys = box.append([body(1), body(1)]).keys
        assert len(set(keys)) == 2
        for key in keys:
            uuid.UUID(key)
    with Outbox.open(path, MiB) as box:
        assert box.queued_keys() == list(keys)
        batch = box.oldest()
        assert batch is not None
        assert batch.key == keys[0]


def test_a_second_process_cannot_use_the_same_outbox(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "outbox.db", MiB), pytest.raises(OutboxError, match="another"):
        Outbox.open(tmp_path / "outbox.db", MiB)


def test_when_full_the_oldest_batches_are_dropped_first_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with Outbox.open(path, MiB) as box:
        keys: list[str] = []
        for seed in range(12):
            keys += box.append([body(2, pad=50_000, seed=seed)]).keys  # ~100 kB each, random
        stats = box.stats()
        assert stats.bytes <= MiB
        dropped = stats.counter("dropped_batches")
        assert dropped >= 2
        assert box.queued_keys() == keys[dropped:]
        assert stats.counter("dropped_snapshots") == 2 * dropped
    with Outbox.open(path, MiB) as box:  # the counters are persisted
        assert box.stats().counter("dropped_batches") == dropped


def test_a_batch_larger_than_the_bound_is_refused_and_counted(outbox: Outbox) -> None:
    kept = outbox.append([body(1)]).keys
    result = outbox.append([body(3, pad=700_000)])
    assert result.refused == 1
    assert result.keys == ()
    assert outbox.queued_keys() == list(kept)
    assert outbox.stats().counter("dropped_snapshots") == 3


def test_several_bodies_in_one_transaction(outbox: Outbox) -> None:
    result = outbox.append([body(1, seed=1), body(2, seed=2), body(3, seed=3)])
    assert outbox.queued_keys() == list(result.keys)
    assert outbox.stats().snapshots == 6


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda b: b[: len(b) // 2], "does not match its SHA-256"),
        (lambda b: b"not gzip at all", "does not match its SHA-256"),
    ],
)
def test_a_damaged_record_is_quarantined_and_the_next_one_is_used(
    outbox: Outbox, damage: object, reason: str
) -> None:
    keys = outbox.append([body(1, seed=1), body(1, seed=2)]).keys
    db = sqlite3.connect(outbox.path)
    (original,) = db.execute("SELECT body FROM batch WHERE key = ?", (keys[0],)).fetchone()
    assert callable(damage)
    db.execute("UPDATE batch SET body = ? WHERE key = ?", (damage(original), keys[0]))
    db.commit()
    db.close()
    batch = outbox.oldest()
    assert batch is not None
    assert batch.key == keys[1]
    assert outbox.stats().counter("quarantined") == 1
    assert outbox.stats().quarantine_records == 1
    assert reason in outbox.quarantine_reasons()[0]


def test_records_written_wrong_are_quarantined_with_the_reason(outbox: Outbox) -> None:
    """Bad gzip, bad JSON and a wrong count, each with a matching digest: written wrong,
    not damaged later."""
    import hashlib

    bad = [
        (b"\x1f\x8b\x08\x00garbage", 1),
        (gzip.compress(b"{not json"), 1),
        (gzip.compress(b'{"snapshots": 5}'), 1),
        (gzip.compress(b'{"snapshots": [1, 2]}'), 1),
        (gzip.compress(b'{"snapshots": []}')[:-4], 0),
    ]
    good = outbox.append([body(1)]).keys[0]
    db = sqlite3.connect(outbox.path)
    for index, (data, count) in enumerate(bad):
        db.execute(
            "INSERT INTO batch (key, created, snapshots, size, digest, body) VALUES (?,?,?,?,?,?)",
            (f"bad-{index}", 0.0, count, len(data), hashlib.sha256(data).digest(), data),
        )
    db.execute("UPDATE batch SET id = id + 1000 WHERE key = ?", (good,))  # the good one last
    db.commit()
    db.close()
    batch = outbox.oldest()
    assert batch is not None
    assert batch.key == good
    reasons = outbox.quarantine_reasons()
    assert [r.split(":")[0] for r in reasons] == [
        "bad gzip",
        "bad JSON",
        "bad JSON",
        "holds 2 snapshots, the record says 1",
        "bad gzip",
    ]
    assert outbox.stats().counter("quarantined") == 5


def test_dead_letters_are_kept_and_counted(outbox: Outbox) -> None:
    outbox.append([body(2)])
    batch = outbox.oldest()
    assert batch is not None
    outbox.dead_letter(batch, 422, "the archive refused it (422): not printer-snapshot/1")
    assert outbox.oldest() is None
    assert outbox.dead_letters() == [
        (batch.key, 422, "the archive refused it (422): not printer-snapshot/1")
    ]
    assert outbox.stats().counter("dead_letters") == 1
    assert outbox.stats().dead_letter_batches == 1


def test_dead_letters_are_bounded_too(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "o.db", MiB) as box:
        for seed in range(4):
            box.append([body(1, pad=60_000, seed=seed)])
            batch = box.oldest()
            assert batch is not None
            box.dead_letter(batch, 400, "bad")
        stats = box.stats()
        assert stats.counter("dead_letters") == 4
        assert stats.dead_letter_batches == 1  # 1 MiB / 8 holds one ~60 kB body
        assert stats.counter("discarded_dead_letters") == 3


def test_state_values(outbox: Outbox) -> None:
    outbox.set_state({"applied_version": "7", "etag": '"sha256:ab"'})
    assert outbox.get_state("applied_version") == "7"
    outbox.set_state({"etag": None})
    assert outbox.get_state("etag") is None


def test_inflate_is_bounded() -> None:
    bomb = gzip.compress(b"\0" * (5 * MiB))
    with pytest.raises(ValueError, match="inflates to more than"):
        inflate(bomb, MiB)
    assert inflate(gzip.compress(b"abc"), 10) == b"abc"
    with pytest.raises(ValueError, match="trailing"):
        inflate(gzip.compress(b"abc") + b"x", 10)


def test_check_record_accepts_a_sound_record() -> None:
    import hashlib

    data, count = body(3)
    assert check_record("k", data, hashlib.sha256(data).digest(), count) is None
    assert check_record("", data, hashlib.sha256(data).digest(), count) == "no idempotency key"


# --- a full disk ------------------------------------------------------------------------


def _fill(box: Outbox, seed0: int = 0) -> tuple[list[str], DiskFull]:
    keys: list[str] = []
    for seed in range(seed0, seed0 + 500):
        try:
            keys += box.append([body(2, pad=20_000, seed=seed)]).keys
        except DiskFull as error:
            return keys, error
    raise AssertionError("the disk never filled")


def _check_intact(box: Outbox, keys: list[str]) -> list[int]:
    """Every queued batch is there and readable, in order (read only: the disk is full)."""
    assert box.queued_keys() == keys
    seen, ids = [], [0]
    while (batch := box.oldest(after=ids[-1])) is not None:
        seen.append(batch.key)
        ids.append(batch.id)
        json.loads(gzip.decompress(batch.body))
    assert seen == keys
    assert box.stats().counter("quarantined") == 0
    return ids[1:]


def test_database_full_loses_nothing_already_queued(tmp_path: Path) -> None:
    """SQLite's page budget stands in for a disk: the same SQLITE_FULL error path."""
    path = tmp_path / "outbox.db"
    with Outbox.open(path, 256 * MiB) as box:
        box._db.execute("PRAGMA max_page_count = 200")  # 200 x 4 KiB: about 800 kB
        keys, error = _fill(box)
        assert keys
        assert "the disk is full" in str(error)
        assert f"the {len(keys):,} batches" in str(error)
        ids = _check_intact(box, keys)
        box._db.execute("PRAGMA max_page_count = 100000")  # space freed
        for batch_id in ids:
            box.delete(batch_id)
        assert box.oldest() is None


@contextlib.contextmanager
def tiny_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        timeout=10,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], timeout=10, check=False)


def test_a_real_full_disk_loses_nothing_already_queued(tmp_path: Path) -> None:
    """A 1 MiB tmpfs fills for real: ENOSPC under SQLite, a clear DiskFull for us."""
    with tiny_tmpfs(tmp_path / "disk", "1m") as disk:
        path = disk / "outbox.db"
        with Outbox.open(path, 256 * MiB) as box:
            keys, error = _fill(box)
            assert keys
            assert isinstance(error, DiskFull)
            assert "the disk is full" in str(error)
            assert "Free space on it" in str(error)
        # Reopened after the failure, as a restarted sidecar would: everything is there.
        with Outbox.open(path, 256 * MiB) as box:
            ids = _check_intact(box, keys)
            with pytest.raises(DiskFull):
                box.delete(ids[0])  # even a delete needs room in the WAL
            # The operator frees space (here: a bigger tmpfs); the outbox carries on.
            subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], timeout=10, check=True)
            for batch_id in ids:
                box.delete(batch_id)
            assert box.oldest() is None
            box.append([body(1)])
