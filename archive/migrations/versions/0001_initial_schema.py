"""initial schema: agents, admins, batches, snapshots, meter reads, counter events,
config bundles, settings

Revision ID: 0001
Revises:
Create Date: 2026-12-04

A migration is frozen once released: it names plain SQLAlchemy types, never the
application's (`archive.tables.UtcDateTime` stores `DateTime(timezone=True)`),
so a later change to the code cannot change what an old migration does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def _agent_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["agent_id"], ["agents.id"], name=op.f(f"fk_{table}_agent_id_agents"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_checkin_at", _TIME, nullable=True),
        sa.Column("last_upload_at", _TIME, nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.Column("config_version", sa.BigInteger(), nullable=True),
        sa.Column("config_hash", sa.String(length=80), nullable=True),
        sa.Column("config_status", sa.String(length=16), nullable=True),
        sa.Column("config_error", sa.String(length=1000), nullable=True),
        sa.Column("config_reported_at", _TIME, nullable=True),
        sa.Column("snapshots_stored", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_agents_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_agents_token_sha256")),
    )
    op.create_table(
        "admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_bcrypt", sa.String(length=60), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admins")),
        sa.UniqueConstraint("name", name=op.f("uq_admins_name")),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "batches",
        sa.Column("id", _ID, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        _agent_fk("batches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("agent_id", "idempotency_key", name="uq_batches_agent_key"),
    )
    op.create_table(
        "config_bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("bundle", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_at", _TIME, nullable=False),
        _agent_fk("config_bundles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_bundles")),
        sa.UniqueConstraint("agent_id", "version", name="uq_config_bundles_agent_version"),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", _ID, nullable=False),
        sa.Column("batch_id", _ID, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("taken_at", _TIME, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        _agent_fk("snapshots"),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            name=op.f("fk_snapshots_batch_id_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
    )
    op.create_index(
        "ix_snapshots_agent_target_taken", "snapshots", ["agent_id", "target", "taken_at"]
    )
    op.create_index("ix_snapshots_batch", "snapshots", ["batch_id"])
    for table in ("meter_reads", "counter_events"):
        columns: list[sa.Column[Any]] = (
            [
                sa.Column("serial", sa.String(length=200), nullable=True),
                sa.Column("taken_at", _TIME, nullable=False),
                sa.Column("counter", sa.String(length=100), nullable=False),
                sa.Column("value", sa.BigInteger(), nullable=False),
                sa.Column("unit", sa.String(length=50), nullable=False),
                sa.Column("wrap_offset", sa.BigInteger(), server_default="0", nullable=False),
            ]
            if table == "meter_reads"
            else [
                sa.Column("taken_at", _TIME, nullable=False),
                sa.Column("kind", sa.String(length=50), nullable=False),
                sa.Column("counter", sa.String(length=100), nullable=False),
                sa.Column("previous", sa.BigInteger(), nullable=True),
                sa.Column("current", sa.BigInteger(), nullable=True),
                sa.Column("detail", sa.String(length=1000), nullable=True),
            ]
        )
        op.create_table(
            table,
            sa.Column("id", _ID, nullable=False),
            sa.Column("snapshot_id", _ID, nullable=False),
            sa.Column("agent_id", sa.Integer(), nullable=False),
            sa.Column("target", sa.String(length=300), nullable=False),
            *columns,
            _agent_fk(table),
            sa.ForeignKeyConstraint(
                ["snapshot_id"],
                ["snapshots.id"],
                name=op.f(f"fk_{table}_snapshot_id_snapshots"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_taken", table, ["taken_at"])
        op.create_index(f"ix_{table}_snapshot", table, ["snapshot_id"])
    op.create_index(
        "ix_meter_reads_series", "meter_reads", ["agent_id", "target", "counter", "taken_at"]
    )


def downgrade() -> None:
    for table in (
        "meter_reads",
        "counter_events",
        "snapshots",
        "config_bundles",
        "batches",
        "settings",
        "admins",
        "agents",
    ):
        op.drop_table(table)
