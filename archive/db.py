"""The database seam: which URLs the archive takes, the engine, transactions, migrations.

    engine = open_engine("sqlite:///var/lib/printer-archive/archive.db")
    upgrade(engine)                       # what `serve` and `db upgrade` run first
    with write(engine) as conn: ...       # one transaction that writes
    with read(engine) as conn: ...        # one that only reads

Two backends, one code path (SQLAlchemy Core):
- **SQLite** (`sqlite:///PATH`), the default: WAL so readers never wait for
  the writer; `synchronous=FULL` because a batch the archive acknowledged is
  deleted from the site's outbox and must survive a power cut; foreign keys on;
  a writer takes the lock at `BEGIN IMMEDIATE`, so two writers queue (for up
  to `SQLITE_BUSY_SECONDS`) instead of deadlocking on a lock upgrade.
- **PostgreSQL** (`postgresql://...`, driver psycopg 3), for several archive
  processes behind one database. Nothing is kept in a process between
  requests: the database is the only state, and its unique constraints settle
  races (docs/archive.md).

Migrations are Alembic's, from `archive/migrations/`, run inside one
transaction under a lock (an advisory lock on PostgreSQL, the write lock on
SQLite), so processes that start together upgrade the schema once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError

from archive.errors import StorageError, UsageError

log = logging.getLogger("archive.db")

MIGRATIONS: Final = Path(__file__).parent / "migrations"
SQLITE_BUSY_SECONDS: Final = 30.0
"""How long a SQLite writer waits for another writer before it gives up (then 503)."""
MIGRATION_LOCK: Final = 0x70726E74
"""PostgreSQL advisory lock key held while migrating ("prnt")."""
_WRITE: Final = "archive_write"


def database_url(text_url: str) -> URL:
    """Check a `--db` value and name its driver: `sqlite:///PATH` or `postgresql://...`.

    `postgres://` and `postgresql+psycopg://` are accepted too. Errors never
    quote the URL, which may hold a password.
    """
    try:
        url = make_url(text_url.strip())
    except ArgumentError:
        raise UsageError(
            "--db: not a database URL; use sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise UsageError(f"--db: unsupported SQLite driver {url.drivername!r}; use sqlite:///")
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise UsageError(
                "--db: SQLite needs a file, sqlite:///PATH (an in-memory database "
                "would lose every batch at exit)"
            )
        return url.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres"):
        if url.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise UsageError(
                f"--db: unsupported PostgreSQL driver {url.drivername!r}; "
                "use postgresql:// (psycopg 3)"
            )
        return url.set(drivername="postgresql+psycopg")
    raise UsageError(
        f"--db: unsupported database {backend!r}; use sqlite:///PATH or postgresql://..."
    )


def describe(url: URL) -> str:
    """The URL for a log line: the password masked."""
    return url.render_as_string(hide_password=True)


def open_engine(text_url: str, *, pool_size: int = 8) -> Engine:
    """An engine for a `--db` value, set up as the module docstring says."""
    url = database_url(text_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": "printer-archive", "connect_timeout": 10},
    )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One transaction that writes: committed at the end, rolled back on any error.

    Database failures leave as `StorageError`, so callers handle "down" in one place;
    other errors (an `IntegrityError` a caller expects is a `DBAPIError` too, so
    catch it inside) pass through unchanged.
    """
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn
    except DBAPIError as error:
        if isinstance(error, IntegrityError):
            raise
        raise StorageError(f"database error: {_one_line(error)}") from error


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction (nothing it does is committed)."""
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    except DBAPIError as error:
        raise StorageError(f"database error: {_one_line(error)}") from error


def _one_line(error: DBAPIError) -> str:
    """The driver's message, first line only: no SQL, no parameters (they may hold data)."""
    original = error.orig if error.orig is not None else error
    first = str(original).strip().splitlines()
    return first[0][:300] if first else type(original).__name__


# --- migrations -----------------------------------------------------------------------


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest migration; returns that revision. Idempotent, and
    safe when several processes start at once (they wait on one lock)."""
    from alembic import command

    try:
        with engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                before = current_revision(conn)
                command.upgrade(_alembic_config(conn), "head")
            after = current_revision(conn) or ""
    except SQLAlchemyError as error:
        raise StorageError(f"cannot migrate the database: {_short(error)}") from error
    if before != after:
        log.info("migrated the database schema from %s to %s", before or "nothing", after)
    return after


def current_revision(conn: Connection) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    config = _alembic_config_no_connection()
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _alembic_config_no_connection() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def check_schema(engine: Engine) -> None:
    """Raise StorageError unless the database is reachable and at this code's schema."""
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except SQLAlchemyError as error:
        raise StorageError(f"database unreachable: {_short(error)}") from error
    if revision != head_revision():
        raise StorageError(
            f"database schema is at {revision or 'nothing'}, this archive needs "
            f"{head_revision()}: run `printer-archive db upgrade`"
        )


def _short(error: SQLAlchemyError) -> str:
    if isinstance(error, DBAPIError):
        return _one_line(error)
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else repr(error)
