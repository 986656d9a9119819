"""Per-session locks of one process: a session's read-modify-write of its draft or its submission is atomic."""
from __future__ import annotations

import threading
from collections import OrderedDict


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
