"""A session's lock holds across processes, the way two workers use it: each of four processes increments a
counter in the database by read, pause, write under the session's lock; none of the 40 increments is lost.
On PostgreSQL (advisory locks) and on SQLite (flock beside the database file)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest_api import ROOT

INCREMENT = """
import sys, time
from pathlib import Path
from sqlalchemy import create_engine, text
from api.locks import SharedSessionLocks
url, folder, hold = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "lock"
engine = create_engine(url)
locks = SharedSessionLocks(1, engine, folder)
for _ in range(10):
    # another session's lock, taken and freed in between: locks of different sessions never block each other
    with locks("another-session"):
        pass
    if hold:
        with locks("the-session"):
            with engine.begin() as c:
                n = c.execute(text("SELECT n FROM counter")).scalar()
            time.sleep(0.01)
            with engine.begin() as c:
                c.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
    else:
        with engine.begin() as c:
            n = c.execute(text("SELECT n FROM counter")).scalar()
        time.sleep(0.01)
        with engine.begin() as c:
            c.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
locks.dispose()
"""


def run_increments(url: str, folder: Path, mode: str) -> int:
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE counter (n INTEGER)"))
        c.execute(text("INSERT INTO counter VALUES (0)"))
    procs = [subprocess.Popen([sys.executable, "-c", INCREMENT, url, str(folder), mode], cwd=ROOT,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    with engine.connect() as c:
        n = c.execute(text("SELECT n FROM counter")).scalar()
    engine.dispose()
    return n


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("postgres").new_database("locks")
    return f"sqlite:///{tmp_path / 'counter.sqlite3'}?timeout=30"


def test_four_processes_lose_no_update_under_the_session_lock(database, tmp_path):
    assert run_increments(database, tmp_path, "lock") == 40


def test_without_the_lock_updates_are_lost(postgres, tmp_path):
    """The same increments without the lock lose some: the check above can fail."""
    assert run_increments(postgres.new_database("nolock"), tmp_path, "none") < 40
