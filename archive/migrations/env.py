"""Alembic's entry point for the archive: runs the migrations on the connection that
`archive.db.upgrade` hands over, inside the transaction and lock it already holds.

There is no alembic.ini: `archive.db` builds the Alembic config in code, so
`printer-archive db upgrade` is the one way to migrate and the database URL is
never written to a file. Offline (`--sql`) mode is not supported.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from archive.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `printer-archive db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    transactional_ddl=True,  # SQLite's DDL is transactional too: one migration, one commit
    compare_type=True,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
)
with context.begin_transaction():
    context.run_migrations()
