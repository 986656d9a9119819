"""The shared services of a several-worker set-up, run for real by the project's scripts: one PostgreSQL
cluster (scripts/postgres.sh: initdb into a temp folder, a free loopback port, its socket in that folder) and one
Redis for the shared rate limits, each started once per test run and stopped at its end.

Imported explicitly by the tests that need them (not a conftest plugin)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest_api import ROOT, free_port


class Postgres:
    """One cluster; each user of it gets a database of its own."""

    def __init__(self, folder: Path, url: str):
        self.folder, self.url = folder, url

    def new_database(self, prefix: str = "t") -> str:
        from sqlalchemy import create_engine, text

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        admin = create_engine(self.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres():
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.fail("PostgreSQL server binaries missing: run scripts/setup.sh --browser (installs Debian's postgresql)")
    # not under pytest's tmp folder: that is root's alone, and as root the cluster runs as another user
    folder = Path(tempfile.mkdtemp(prefix="daoban-pg-"))
    script = ROOT / "scripts" / "postgres.sh"
    try:
        url = subprocess.run(["bash", str(script), "start", str(folder), str(free_port())], env={"PG_FAST": "1",
                             "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, check=True, capture_output=True, text=True,
                             timeout=120).stdout.strip().splitlines()[-1]
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"PostgreSQL did not start: {exc.stderr}")
    yield Postgres(folder, url)
    subprocess.run(["bash", str(script), "stop", str(folder)], timeout=60)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis for the rate limits every worker shares (limits' redis storage)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server missing: run scripts/setup.sh --browser (installs Debian's redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=(folder / "redis.log").open("wb"), stderr=subprocess.STDOUT)
    import redis

    client = redis.Redis(port=port)
    deadline = time.time() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"redis-server did not start: {(folder / 'redis.log').read_text()}")
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=20)
