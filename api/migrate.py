"""Schema migrations (alembic, scripts in api/migrations/versions).

``upgrade`` brings a database to the newest schema. Several workers may start at once: on PostgreSQL they
queue on an advisory lock, on SQLite on the database's own write lock (``BEGIN IMMEDIATE``), so one migrates
and the others find the schema current. A database made by ``create_all`` before migrations existed has the
tables but no ``alembic_version``: it is brought to the first revision's schema (its missing nullable columns
added, retired tables dropped) and stamped, never created again over its data."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine

log = logging.getLogger("daoban.api")

SCRIPTS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # the schema create_all made before migrations: what an unversioned database is stamped as
# Any constant both sides agree on: the advisory lock the migrating process holds (PostgreSQL).
_PG_LOCK_KEY = 0x6461_6F62  # "daob"


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection that alone may migrate until it is closed."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()  # the lock is the session's: it outlives this transaction
            try:
                yield conn
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        elif conn.dialect.name == "sqlite":
            # the write lock of the database file, held until the migration's commit
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
        else:
            yield conn


def _adopt_unversioned(conn: Connection) -> None:
    """A database made by create_all (before migrations): give it the baseline schema and stamp it."""
    from api.db import legacy_catch_up

    found = inspect(conn)
    if found.has_table("alembic_version") or not found.has_table("sessions"):
        return
    legacy_catch_up(conn)
    command.stamp(config(conn), BASELINE)
    log.info("adopted a database made before migrations: stamped at revision %s", BASELINE)


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate to ``revision`` under the migration lock; returns the revision the database is at."""
    with _migration_lock(engine) as conn:
        _adopt_unversioned(conn)
        command.upgrade(config(conn), revision)
        conn.commit()
        return MigrationContext.configure(conn).get_current_revision()
