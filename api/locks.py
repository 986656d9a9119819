"""Per-session locks: a session's read-modify-write of its state, draft or submission is atomic, in one process
and across the workers that share its database."""
from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine


class SessionLocks:
    """One lock per session in this process, so a session's read-modify-write of its draft is atomic."""

    def __init__(self, max_idle_locks: int = 10_000):
        self._locks: OrderedDict[str, threading.Lock] = OrderedDict()
        self._guard = threading.Lock()
        self.max_idle_locks = max_idle_locks

    def __call__(self, session_id: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(session_id)
            if lock is None:
                lock = self._locks[session_id] = threading.Lock()
            self._locks.move_to_end(session_id)
            while len(self._locks) > self.max_idle_locks:
                oldest, old_lock = next(iter(self._locks.items()))
                if old_lock.locked():
                    break
                del self._locks[oldest]
            return lock


def _key(session_id: str) -> int:
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:4], "big", signed=True)


class SharedSessionLocks:
    """A session's lock across workers: this process's lock first (its threads queue there, cheaply), then one
    the other processes see: a PostgreSQL advisory lock held on a connection of its own (freed by the server if
    the worker dies), or, for SQLite (workers on one machine), an ``flock`` on one of 1,024 files beside the
    database. ``namespace`` keeps two lock families apart (the API's and the assistant's turn, taken in that
    order, never the other way)."""

    BUCKETS = 1024

    def __init__(self, namespace: int, engine: Engine | None = None, folder: Path | None = None):
        self.namespace = namespace
        self.local = SessionLocks()
        self._pg: Engine | None = None
        self._folder: Path | None = None
        if engine is not None and engine.dialect.name == "postgresql":
            # its own pool: a held lock must never wait for a connection the turn's own queries need. At most one
            # per request in flight, and those are bounded by the server's thread pool (40).
            self._pg = create_engine(engine.url, pool_size=2, max_overflow=40, pool_pre_ping=True)
        elif folder is not None:
            self._folder = folder / "locks"
            self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextmanager
    def __call__(self, session_id: str) -> Iterator[None]:
        with self.local(session_id):
            if self._pg is not None:
                with self._pg.connect() as conn:
                    args = {"n": self.namespace, "k": _key(session_id)}
                    conn.execute(text("SELECT pg_advisory_lock(:n, :k)"), args)
                    conn.commit()
                    try:
                        yield
                    finally:
                        conn.execute(text("SELECT pg_advisory_unlock(:n, :k)"), args)
                        conn.commit()
            elif self._folder is not None:
                bucket = _key(session_id) % self.BUCKETS
                # a new open file per hold: flock locks belong to the open file, so threads exclude each other too
                fd = os.open(self._folder / f"{self.namespace}-{bucket:03x}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    yield
                finally:
                    os.close(fd)  # releases the flock
            else:
                yield

    def dispose(self) -> None:
        if self._pg is not None:
            self._pg.dispose()
