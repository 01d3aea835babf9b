"""The archive's tables, as SQLAlchemy Core metadata: what the code queries.

The schema itself is made and changed only by the Alembic migrations in
`archive/migrations/versions/`; a test checks that these definitions and the
migrated database agree, on SQLite and on PostgreSQL.

Why these tables:
- `agents`: one row per site, with the SHA-256 of its token (never the token)
  and what the agent last told us (check-in, upload, confirmed config, version).
- `batches`: one row per accepted `Idempotency-Key`, unique per agent, written
  in the same transaction as the batch's snapshots: the row is the proof that a
  batch is stored, all of it.
- `snapshots`: the document as received (JSON text), for audit and re-processing.
- `meter_reads` and `counter_events`: what billing reads, extracted at ingest so
  an export never parses JSON. `value` is what the device showed; `wrap_offset`
  is the counter's `offset` in the snapshot (the exporter's meter ledger), kept
  for audit (archive/billing.py says why billing reads `value`).
- `config_bundles`: signed envelopes, as `config publish` made them. The server
  stores and serves them; it never sees the signing key.
- `admins`: console and admin API accounts, bcrypt hashes.
- `settings`: small archive-wide values (the announced agent release).
- `console_sessions`: signed-in console sessions, by the SHA-256 of the session
  id (the cookie), so a copy of the database opens no session. Kept here and
  not in a process, so any archive process serves any signed-in dealer.
- `login_failures`: one row per failed console sign-in and per key it counts
  against (the user name typed, the client address), both hashed: a password
  typed into the name field never lands in the database. The lockout counts
  them (archive/console/sessions.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names fixed by convention, so migrations can name what they change."""

metadata = MetaData(naming_convention=NAMING)

Id = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit key; INTEGER on SQLite, where only `INTEGER PRIMARY KEY` auto-increments."""


class UtcDateTime(TypeDecorator[datetime]):
    """An instant: aware UTC datetimes in and out, on every backend.

    PostgreSQL stores `timestamptz`. SQLite has no time type: SQLAlchemy stores
    text, and naive text compares correctly only if every value is UTC, so an
    aware value is converted to UTC and stored naive, and read back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime reached the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_checkin_at", UtcDateTime),
    Column("last_upload_at", UtcDateTime),
    Column("agent_version", String(64)),
    Column("config_version", BigInteger),
    Column("config_hash", String(80)),
    Column("config_status", String(16)),
    Column("config_error", String(1000)),
    Column("config_reported_at", UtcDateTime),
    Column("snapshots_stored", BigInteger, nullable=False, server_default="0"),
)

admins = Table(
    "admins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_bcrypt", String(60), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("stored", Integer, nullable=False),
    Column("body_sha256", String(64), nullable=False),
    UniqueConstraint("agent_id", "idempotency_key", name="uq_batches_agent_key"),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Id, primary_key=True),
    Column("batch_id", Id, ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("target", String(300), nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("document", Text, nullable=False),
    Index("ix_snapshots_agent_target_taken", "agent_id", "target", "taken_at"),
    Index("ix_snapshots_batch", "batch_id"),
)

meter_reads = Table(
    "meter_reads",
    metadata,
    Column("id", Id, primary_key=True),
    Column("snapshot_id", Id, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("target", String(300), nullable=False),
    Column("serial", String(200)),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("counter", String(100), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("unit", String(50), nullable=False),
    Column("wrap_offset", BigInteger, nullable=False, server_default="0"),
    Index("ix_meter_reads_taken", "taken_at"),
    Index("ix_meter_reads_series", "agent_id", "target", "counter", "taken_at"),
    Index("ix_meter_reads_snapshot", "snapshot_id"),
)

counter_events = Table(
    "counter_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("snapshot_id", Id, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("target", String(300), nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("counter", String(100), nullable=False),
    Column("previous", BigInteger),
    Column("current", BigInteger),
    Column("detail", String(1000)),
    Index("ix_counter_events_taken", "taken_at"),
    Index("ix_counter_events_snapshot", "snapshot_id"),
)

config_bundles = Table(
    "config_bundles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("bundle", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    UniqueConstraint("agent_id", "version", name="uq_config_bundles_agent_version"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(1000), nullable=False),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("admin_id", Integer, ForeignKey("admins.id", ondelete="CASCADE"), nullable=False),
    Column("password_fp", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("client", String(64)),
    Index("ix_console_sessions_admin", "admin_id"),
    Index("ix_console_sessions_last_seen", "last_seen_at"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("key_sha256", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_login_failures_key_at", "key_sha256", "at"),
    Index("ix_login_failures_at", "at"),
)

LATEST_AGENT_RELEASE: Final = "latest_agent_release"
"""`settings` key: the version `release announce` set, sent as `X-Archive-Latest-Agent`."""
