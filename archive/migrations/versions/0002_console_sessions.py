"""console sessions and failed sign-ins (the lockout)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

Two tables for the dealer's web console: `console_sessions` (one row per
signed-in browser, found by the SHA-256 of its cookie) and `login_failures`
(one row per failed sign-in and key it counts against). Both live in the
database because the archive keeps nothing in a process: several processes
behind one PostgreSQL must see the same sessions and the same lockout.
Frozen once released, like 0001: plain SQLAlchemy types only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("password_fp", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_seen_at", _TIME, nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["admin_id"],
            ["admins.id"],
            name=op.f("fk_console_sessions_admin_id_admins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_admin", "console_sessions", ["admin_id"])
    op.create_index("ix_console_sessions_last_seen", "console_sessions", ["last_seen_at"])
    op.create_table(
        "login_failures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key_sha256", "at"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("console_sessions")
