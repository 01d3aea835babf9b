"""The database seam: URLs, migrations on both backends, and the schema matching the code."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, select

from archive import db
from archive.errors import StorageError, UsageError
from archive.tables import admins, metadata
from tests.archive import pgcluster
from tests.archive.conftest import REPO


def test_migrated_schema_matches_the_tables(engine: Engine) -> None:
    """What the code queries (archive/tables.py) is what the migrations made."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    db.check_schema(engine)


def test_upgrade_is_idempotent(engine: Engine) -> None:
    assert db.upgrade(engine) == db.head_revision()
    assert db.upgrade(engine) == db.head_revision()


def test_times_round_trip_as_utc(engine: Engine) -> None:
    """An aware time in any zone comes back as the same instant, in UTC, on both backends."""
    at = datetime(2026, 12, 1, 23, 30, 15, 123000, tzinfo=timezone(timedelta(hours=-5)))
    with db.write(engine) as conn:
        conn.execute(insert(admins).values(name="tz", password_bcrypt="x" * 60, created_at=at))
    with db.read(engine) as conn:
        back = conn.execute(select(admins.c.created_at)).scalar_one()
    assert back == at
    assert back.tzinfo == UTC


def test_naive_time_is_refused(sqlite_engine: Engine) -> None:
    with pytest.raises(Exception, match="naive"), db.write(sqlite_engine) as conn:
        conn.execute(
            insert(admins).values(name="n", password_bcrypt="x", created_at=datetime(2026, 1, 1))
        )


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///archive.db", "sqlite+pysqlite"),
        ("sqlite:////var/lib/archive.db", "sqlite+pysqlite"),
        ("postgresql://u:p@127.0.0.1/a", "postgresql+psycopg"),
        ("postgres://u@127.0.0.1/a", "postgresql+psycopg"),
        ("postgresql+psycopg://u@127.0.0.1/a", "postgresql+psycopg"),
    ],
)
def test_database_urls(url: str, driver: str) -> None:
    assert db.database_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "needs a file"),
        ("sqlite:///:memory:", "needs a file"),
        ("mysql://u:hunter2@h/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u:hunter2@h/db", "unsupported PostgreSQL driver"),
        ("not a url", "not a database URL"),
    ],
)
def test_bad_database_urls_name_the_problem_not_the_password(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        db.database_url(url)
    assert "hunter2" not in str(caught.value)


def test_describe_masks_the_password() -> None:
    shown = db.describe(db.database_url("postgresql://archive:hunter2@127.0.0.1/a"))
    assert "hunter2" not in shown
    assert "archive" in shown


def test_unreachable_database_is_a_storage_error_without_the_password() -> None:
    port = 9  # discard: nothing listens there on loopback
    engine = db.open_engine(f"postgresql://archive:hunter2@127.0.0.1:{port}/nothing")
    with pytest.raises(StorageError) as caught:
        db.check_schema(engine)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(StorageError):
        db.upgrade(engine)


def test_unmigrated_database_is_not_ready(tmp_path: Path) -> None:
    engine = db.open_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(StorageError, match="db upgrade"):
        db.check_schema(engine)


def test_processes_upgrading_at_once_migrate_once(db_url: str) -> None:
    """Archive processes that start together take turns on one lock: each exits 0."""
    command = [sys.executable, "-m", "archive", "db", "upgrade", "--db", db_url]
    runs = [
        subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
        assert f"at schema {db.head_revision()}".encode() in out


def test_a_machine_without_postgresql_is_told_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The session fixture turns this into a skip, or a failure under
    PRINTER_EXPORTER_REQUIRE_POSTGRES=1 (conftest.postgres)."""
    monkeypatch.setattr(pgcluster, "postgres_bin", lambda: None)
    with (
        pytest.raises(pgcluster.PostgresMissing, match="apt-get install postgresql"),
        pgcluster.PrivatePostgres.start(),
    ):
        pass
