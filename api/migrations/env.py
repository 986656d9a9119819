"""Alembic environment: always run through ``api.migrate`` with a connection already open (and locked)."""
from __future__ import annotations

from alembic import context

from api.db import Base

connection = context.config.attributes["connection"]
# batch mode: SQLite cannot ALTER most things, so alembic copies the table; PostgreSQL alters in place.
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
