"""The durable outbox: batches wait here, gzip-compressed, until the archive has them.

    outbox = Outbox.open(Path("outbox.db"), max_bytes=256 * MiB)
    outbox.append([body])                  # key fixed now, kept across restarts
    batch = outbox.oldest()                # checked; a corrupt record is quarantined
    ...upload batch.body with batch.key...
    outbox.delete(batch.id)                # only after the archive answered 2xx

Why SQLite: one file, transactions, and a crash (kill -9, power loss) leaves
either the old or the new state, never half a batch. The settings that matter:

- WAL, so a reader (the metrics page) never waits on a writer.
- `synchronous=FULL`. With WAL, NORMAL survives a process crash but may lose the
  last commits on power loss. The outbox commits about once per upload interval
  (15 min by default), so an fsync per commit costs nothing measurable, and the
  commit it protects is a batch of meter reads that no one can read again later.
- `auto_vacuum=INCREMENTAL`, so the file shrinks back after an outage drains.

Bounded in bytes: `max_bytes` caps the compressed bodies waiting to go. When a
new batch does not fit, the oldest batches are dropped first, in the same
transaction as the insert, and every drop is added to a counter kept in the
database. The dead-letter and quarantine tables keep what they hold for a human
to look at, each within an eighth of `max_bytes` (oldest discarded first, counted
too), so the file stays near 1.25 x `max_bytes` at worst.

Each record carries the SHA-256 of its body. `oldest()` checks it, inflates the
body (bounded) and parses the JSON; a record that fails any of that goes to the
quarantine table with the reason and is counted, and the next record is used.

A full disk fails the transaction that hit it: SQLite rolls it back, so what was
queued before stays, and `DiskFull` says where and what. One process at a time:
a lock file beside the database refuses a second sidecar on the same outbox.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import sqlite3
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pull_sync.errors import DiskFull, OutboxError

SCHEMA_VERSION = 1
MAX_INFLATED_BYTES = 64 * 1024 * 1024
"""The archive's decompressed limit; a body that inflates past it is corrupt for us too."""
SIDE_TABLE_FRACTION = 8
"""Dead letters and quarantine each keep at most max_bytes / this."""
_MAX_QUARANTINE_PER_CALL = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    snapshots INTEGER NOT NULL,
    size INTEGER NOT NULL,
    digest BLOB NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    created REAL NOT NULL,
    snapshots INTEGER NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL,
    status INTEGER,
    error TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    key TEXT,
    created REAL,
    size INTEGER NOT NULL,
    body BLOB,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

COUNTERS = (
    "dropped_batches",
    "dropped_snapshots",
    "dead_letters",
    "quarantined",
    "discarded_dead_letters",
    "discarded_quarantine",
)
"""Counters persisted in the database, so a restart does not reset what Prometheus sees
as a counter (a reset would read as a rate of zero, hiding the drops it counts)."""


def new_key() -> str:
    """An Idempotency-Key: a random UUID, 36 characters the archive-api/1 pattern allows."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Batch:
    """One queued batch, its body exactly the gzip bytes to send."""

    id: int
    key: str
    created: float
    snapshots: int
    body: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """What the metrics show; refreshed after every write, so reading it costs nothing."""

    batches: int = 0
    bytes: int = 0
    snapshots: int = 0
    oldest_created: float | None = None
    dead_letter_batches: int = 0
    quarantine_records: int = 0
    file_bytes: int = 0
    counters: tuple[tuple[str, int], ...] = ()

    def counter(self, name: str) -> int:
        return dict(self.counters).get(name, 0)


@dataclass(frozen=True, slots=True)
class Appended:
    """The result of `append`: the keys queued, and what had to go to make room."""

    keys: tuple[str, ...]
    snapshots: int
    """Snapshots in the batches queued."""
    dropped_batches: int
    dropped_snapshots: int
    refused: int
    """New batches larger than `max_bytes` on their own, so never queued (counted as drops)."""


class Outbox:
    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        max_bytes: int,
        lock: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = connection
        self.path = path
        self.max_bytes = max_bytes
        self._lock = lock
        self._clock = clock
        self._stats = OutboxStats()
        self._refresh()

    @classmethod
    def open(cls, path: Path, max_bytes: int, *, clock: Callable[[], float] = time.time) -> Outbox:
        """Open or create the outbox at `path`. Raise OutboxError (DiskFull) if it cannot be."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise _os_error(error, path, "open") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            raise OutboxError(f"{path}: another pull-sync process is using this outbox") from None
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=10)
            try:
                _prepare(db)
            except BaseException:
                db.close()
                raise
        except sqlite3.Error as error:
            os.close(lock)
            raise _sqlite_error(error, path, "open") from None
        except OSError as error:
            os.close(lock)
            raise _os_error(error, path, "open") from None
        return cls(db, path, max_bytes, lock, clock)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        with contextlib.suppress(OSError):
            os.close(self._lock)

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------

    def append(self, bodies: Sequence[tuple[bytes, int]]) -> Appended:
        """Queue gzip bodies (with their snapshot counts) in one transaction.

        The oldest batches are dropped first to make room; a body larger than
        `max_bytes` alone is refused. Raise DiskFull / OutboxError with nothing changed.
        """
        now = self._clock()
        keys: list[str] = []
        queued = dropped = dropped_snapshots = refused = 0
        with self._write("queue a batch") as db:
            total = db.execute("SELECT COALESCE(SUM(size), 0) FROM batch").fetchone()[0]
            for body, snapshots in bodies:
                size = len(body)
                if size > self.max_bytes:
                    refused += 1
                    dropped_snapshots += snapshots
                    continue
                while total + size > self.max_bytes:
                    row = db.execute(
                        "SELECT id, size, snapshots FROM batch ORDER BY id LIMIT 1"
                    ).fetchone()
                    if row is None:  # pragma: no cover - the size check above prevents it
                        break
                    db.execute("DELETE FROM batch WHERE id = ?", (row[0],))
                    total -= row[1]
                    dropped += 1
                    dropped_snapshots += row[2]
                key = new_key()
                db.execute(
                    "INSERT INTO batch (key, created, snapshots, size, digest, body)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (key, now, snapshots, size, hashlib.sha256(body).digest(), body),
                )
                total += size
                queued += snapshots
                keys.append(key)
            _add(db, "dropped_batches", dropped + refused)
            _add(db, "dropped_snapshots", dropped_snapshots)
        return Appended(tuple(keys), queued, dropped, dropped_snapshots, refused)

    def delete(self, batch_id: int) -> None:
        """Forget a batch the archive has confirmed (2xx)."""
        with self._write("remove a delivered batch") as db:
            db.execute("DELETE FROM batch WHERE id = ?", (batch_id,))
        self._vacuum()

    def record_failure(self, batch_id: int, error: str) -> None:
        """Note a failed try on the batch (for `pull-sync` status and the logs)."""
        with self._write("record an upload failure") as db:
            db.execute(
                "UPDATE batch SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:1000], batch_id),
            )

    def dead_letter(self, batch: Batch, status: int | None, error: str) -> None:
        """Move a batch the archive refused for good out of the queue, keeping it."""
        with self._write("move a batch to the dead-letter table") as db:
            db.execute(
                "INSERT INTO dead_letter (key, created, snapshots, size, body, status, error, at)"
                " SELECT key, created, snapshots, size, body, ?, ?, ? FROM batch WHERE id = ?",
                (status, error[:1000], self._clock(), batch.id),
            )
            db.execute("DELETE FROM batch WHERE id = ?", (batch.id,))
            _add(db, "dead_letters", 1)
            self._trim_side(db, "dead_letter", "discarded_dead_letters")

    def _quarantine(self, row: sqlite3.Row | tuple[object, ...], reason: str) -> None:
        batch_id, key, created, body = row[0], row[1], row[2], row[3]
        blob = body if isinstance(body, bytes) else None
        with self._write("quarantine a corrupt record") as db:
            db.execute(
                "INSERT INTO quarantine (key, created, size, body, reason, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key if isinstance(key, str) else None,
                    created if isinstance(created, int | float) else None,
                    len(blob or b""),
                    blob,
                    reason,
                    self._clock(),
                ),
            )
            db.execute("DELETE FROM batch WHERE id = ?", (batch_id,))
            _add(db, "quarantined", 1)
            self._trim_side(db, "quarantine", "discarded_quarantine")

    def _trim_side(self, db: sqlite3.Connection, table: str, counter: str) -> None:
        limit = self.max_bytes // SIDE_TABLE_FRACTION
        total = db.execute(f"SELECT COALESCE(SUM(size), 0) FROM {table}").fetchone()[0]
        discarded = 0
        while total > limit:
            row = db.execute(f"SELECT id, size FROM {table} ORDER BY id LIMIT 1").fetchone()
            if row is None:  # pragma: no cover
                break
            db.execute(f"DELETE FROM {table} WHERE id = ?", (row[0],))
            total -= row[1]
            discarded += 1
        _add(db, counter, discarded)

    # --- reading ---------------------------------------------------------------------

    def oldest(self, after: int = 0) -> Batch | None:
        """The oldest good batch with an id above `after`, or None. Corrupt records on the
        way are quarantined."""
        for _ in range(_MAX_QUARANTINE_PER_CALL):
            try:
                row = self._db.execute(
                    "SELECT id, key, created, body, digest, snapshots, attempts"
                    " FROM batch WHERE id > ? ORDER BY id LIMIT 1",
                    (after,),
                ).fetchone()
            except sqlite3.Error as error:
                raise _sqlite_error(error, self.path, "read the outbox") from None
            if row is None:
                return None
            problem = check_record(row[1], row[3], row[4], row[5])
            if problem is None:
                return Batch(row[0], row[1], row[2], row[5], row[3], row[6])
            self._quarantine(row, problem)
        return None

    def pending(self) -> int:
        return self._stats.batches

    def stats(self) -> OutboxStats:
        return self._stats

    def quarantine_reasons(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT reason FROM quarantine ORDER BY id")]

    def dead_letters(self) -> list[tuple[str, int | None, str]]:
        """(key, status, error) of each dead letter, oldest first."""
        rows = self._db.execute("SELECT key, status, error FROM dead_letter ORDER BY id")
        return [(r[0], r[1], r[2]) for r in rows]

    def queued_keys(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT key FROM batch ORDER BY id")]

    # --- sidecar state ---------------------------------------------------------------

    def get_state(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, values: dict[str, str | None]) -> None:
        """Write (or, for None, remove) several state values in one transaction."""
        with self._write("save the sidecar state") as db:
            for name, value in values.items():
                if value is None:
                    db.execute("DELETE FROM state WHERE name = ?", (name,))
                else:
                    db.execute(
                        "INSERT INTO state (name, value) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        (name, value),
                    )

    # --- internals -------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed whole, or rolled back with a clear error."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise _sqlite_error(error, self.path, what) from None
        try:
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as error:
            _rollback(db)
            raise _sqlite_error(error, self.path, what, self._stats) from None
        except OSError as error:
            _rollback(db)
            raise _os_error(error, self.path, what) from None
        except BaseException:
            _rollback(db)
            raise
        finally:
            self._refresh()

    def _vacuum(self) -> None:
        """Give free pages back to the file system once a good share of the file is free."""
        with contextlib.suppress(sqlite3.Error):
            free, count = (
                self._db.execute("PRAGMA freelist_count").fetchone()[0],
                self._db.execute("PRAGMA page_count").fetchone()[0],
            )
            if free > 256 and free * 4 > count:
                self._db.execute("PRAGMA incremental_vacuum")

    def _refresh(self) -> None:
        try:
            batches, size, snapshots, oldest = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(snapshots), 0),"
                " MIN(created) FROM batch"
            ).fetchone()
            dead = self._db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()[0]
            quarantined = self._db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
            counters = dict(self._db.execute("SELECT name, value FROM counter").fetchall())
        except sqlite3.Error:
            return  # keep the last figures; the error itself is reported by the caller
        file_bytes = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                file_bytes += os.stat(f"{self.path}{suffix}").st_size
        self._stats = OutboxStats(
            batches=batches,
            bytes=size,
            snapshots=snapshots,
            oldest_created=oldest,
            dead_letter_batches=dead,
            quarantine_records=quarantined,
            file_bytes=file_bytes,
            counters=tuple((name, int(counters.get(name, 0))) for name in COUNTERS),
        )


def check_record(key: object, body: object, digest: object, snapshots: object) -> str | None:
    """Why a stored record cannot be sent, or None if it is sound.

    The digest catches truncation and bit rot cheaply; the gzip and JSON checks
    catch a record that was written wrong in the first place.
    """
    if not isinstance(key, str) or not key:
        return "no idempotency key"
    if not isinstance(body, bytes):
        return f"body is {type(body).__name__}, not bytes"
    if not isinstance(digest, bytes) or hashlib.sha256(body).digest() != digest:
        return "body does not match its SHA-256 (truncated or damaged)"
    try:
        inflated = inflate(body, MAX_INFLATED_BYTES)
    except ValueError as error:
        return f"bad gzip: {error}"
    try:
        doc = json.loads(inflated)
    except ValueError as error:
        return f"bad JSON: {error}"
    if not isinstance(doc, dict) or not isinstance(doc.get("snapshots"), list):
        return 'bad JSON: not {"snapshots": [...]}'
    if len(doc["snapshots"]) != snapshots:
        return f"holds {len(doc['snapshots'])} snapshots, the record says {snapshots}"
    return None


def inflate(body: bytes, limit: int) -> bytes:
    """Gunzip at most `limit` bytes; raise ValueError for bad, truncated or oversized data."""
    decompressor = zlib.decompressobj(wbits=31)
    try:
        data = decompressor.decompress(body, limit + 1)
    except zlib.error as error:
        raise ValueError(str(error)) from None
    if len(data) > limit:
        raise ValueError(f"inflates to more than {limit:,} bytes")
    if not decompressor.eof:
        raise ValueError("truncated")
    if decompressor.unused_data:
        raise ValueError("trailing data after the gzip stream")
    return data


def _prepare(db: sqlite3.Connection) -> None:
    # auto_vacuum must be set before the first table exists; it is a no-op afterwards.
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"cannot use WAL (journal_mode is {mode})")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA journal_size_limit = 4194304")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"outbox schema {version} is newer than this pull-sync knows ({SCHEMA_VERSION})"
        )
    db.executescript(
        "BEGIN IMMEDIATE;" + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};COMMIT;"
    )


def _add(db: sqlite3.Connection, name: str, amount: int) -> None:
    if amount:
        db.execute(
            "INSERT INTO counter (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            (name, amount),
        )


def _rollback(db: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        if db.in_transaction:
            db.execute("ROLLBACK")


def _is_full(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_FULL:
        return True
    return "database or disk is full" in str(error)


def _sqlite_error(
    error: sqlite3.Error, path: Path, what: str, stats: OutboxStats | None = None
) -> OutboxError:
    if _is_full(error):
        kept = (
            f"; the {stats.batches:,} batches ({stats.bytes:,} bytes) already queued are kept"
            if stats is not None
            else ""
        )
        return DiskFull(f"{path}: cannot {what}: the disk is full{kept}. Free space on it.")
    return OutboxError(f"{path}: cannot {what}: {error}")


def _os_error(error: OSError, path: Path, what: str) -> OutboxError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"{path}: cannot {what}: the disk is full. Free space on it.")
    return OutboxError(f"{path}: cannot {what}: {error.strerror or error}")
