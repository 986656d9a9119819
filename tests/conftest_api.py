"""Helpers for the API and page tests: a small real corpus, a real index, a real uvicorn process.

Imported explicitly by tests/test_api_*.py and tests/test_pages_*.py (not a conftest plugin)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC_CORPUS = ROOT / "corpus" / "data" / "shandong"
# One 一件事 with its member matters: enough for routing, 情形 questions and the form.
SCENARIO = "newborn-birth"
# Matters in no 一件事 of the test corpus: one with a declared form, one applied for through its generic form.
FORM_MATTER = "resident-id-card-renewal"
GENERIC_MATTER = "gas-transfer"
# A 广安区 catalogue matter (no guide facts): applied for on its official page.
CATALOG_REGION = "guangan"
CATALOG_MATTER = "511a0012600008-511602000000-000-115113016823646795-1-00"
HOTLINE_KEY = "test-hotline-key"
STAFF_KEY = "test-staff-key"
INTEGRATION_KEY = "test-integration-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def id_number(first17: str) -> str:
    """A valid 18-digit ID number (GB 11643 check digit), computed here, not by the code under test."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(first17, weights))
    return first17 + "10X98765432"[total % 11]


def make_corpus(dest: Path, extra_matters: str | None = None) -> Path:
    """Copy the scenario, its member matters, two other matters (and the matters matching the glob
    ``extra_matters``) into ``dest/shandong``, and one catalogue matter with its region into ``dest/guangan``;
    returns the corpus root."""
    import yaml

    region = dest / "shandong"
    (region / "scenarios").mkdir(parents=True, exist_ok=True)
    (region / "matters").mkdir(parents=True, exist_ok=True)
    shutil.copy(SRC_CORPUS / "region.yaml", region / "region.yaml")
    scenario_file = SRC_CORPUS / "scenarios" / f"{SCENARIO}.yaml"
    shutil.copy(scenario_file, region / "scenarios" / scenario_file.name)
    scenario = yaml.safe_load(scenario_file.read_text(encoding="utf-8"))
    for matter in [m["matter"] for m in scenario["members"]] + [FORM_MATTER, GENERIC_MATTER]:
        shutil.copy(SRC_CORPUS / "matters" / f"{matter}.yaml", region / "matters" / f"{matter}.yaml")
    src_catalog = SRC_CORPUS.parent / CATALOG_REGION
    catalog = dest / CATALOG_REGION
    (catalog / "catalog").mkdir(parents=True, exist_ok=True)
    for name in ("region.yaml", "departments.yaml", "catalog_enrich.yaml"):
        shutil.copy(src_catalog / name, catalog / name)
    shutil.copy(src_catalog / "catalog" / f"{CATALOG_MATTER}.yaml", catalog / "catalog" / f"{CATALOG_MATTER}.yaml")
    for path in sorted((SRC_CORPUS / "matters").glob(extra_matters)) if extra_matters else ():
        shutil.copy(path, region / "matters" / path.name)
    return dest


def _fingerprint(corpus_root: Path) -> str:
    h = hashlib.sha1()
    for p in sorted(corpus_root.rglob("*.yaml")) + sorted((ROOT / "index").glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def build_test_index(env: dict) -> None:
    """Build the real index for the test corpus. The result is kept in the temp folder by corpus
    fingerprint: building it again (same files, same index code) is a no-op run of the incremental build."""
    from daoban.settings import load_settings
    from index.build import build_index

    settings = load_settings().model_copy(update={"data_dir": Path(env["DAOBAN_DATA_DIR"]),
                                                  "corpus_dir": Path(env["DAOBAN_CORPUS_DIR"])})
    cache = Path(tempfile.gettempdir()) / "daoban-test-api-index" / _fingerprint(settings.corpus_dir)
    if cache.is_dir() and not settings.index_dir.exists():
        shutil.copytree(cache, settings.index_dir)
    build_index(settings)
    if not cache.is_dir():
        tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
        shutil.copytree(settings.index_dir, tmp)
        try:
            tmp.rename(cache)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)


def base_env(tmp: Path, corpus_root: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DAOBAN_DATA_DIR": str(tmp / "data"),
        "DAOBAN_CORPUS_DIR": str(corpus_root),
        "DAOBAN_LLM__BACKEND": "none",
        "DAOBAN_API__API_KEYS": json.dumps({HOTLINE_KEY: "hotline", STAFF_KEY: "staff",
                                            INTEGRATION_KEY: "integration"}),
        "DAOBAN_API__RATE_LIMIT_PER_MINUTE": "100000",
        # the shared server also takes the schema walk's ticket lookups; the limit itself is tested on a server of
        # its own (tests/test_api_tickets.py)
        "DAOBAN_API__TICKET_LOOKUP_PER_MINUTE": "100000",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def new_session(http: httpx.Client) -> tuple[str, dict]:
    """A session the server issued, and the header that proves holding it."""
    r = http.post("/v1/sessions", json={})
    assert r.status_code == 201, r.text
    return r.json()["session_id"], {"X-Session-Token": r.json()["session_token"]}


@dataclass
class Server:
    env: dict
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    # Arguments of `daoban serve` to start the server the way an operator does (its logging, workers); None:
    # uvicorn on the app factory.
    serve_args: list[str] | None = None
    workers: int = 1  # uvicorn's worker processes (daoban serve --workers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_ready: bool = True, timeout: float = 300) -> "Server":
        log = self.log_path.open("ab")
        command = [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env", "--host", "127.0.0.1",
                   "--port", str(self.port), "--no-proxy-headers",
                   *(["--workers", str(self.workers)] if self.workers > 1 else [])]
        if self.serve_args is not None:
            command = [sys.executable, "-m", "daoban.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                       *self.serve_args]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        path = "/readyz" if wait_ready else "/healthz"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                r = httpx.get(self.url + path, timeout=2)
                if r.status_code == 200:
                    return self
                if wait_ready and r.status_code == 503 and "加载失败" in r.json().get("message", ""):
                    raise RuntimeError(f"assistant failed to load: {r.json()['message']}\n{self.log()[-3000:]}")
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"server not {'ready' if wait_ready else 'up'} after {timeout} s:\n{self.log()[-3000:]}")

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 120), **kw)

    @property
    def database_url(self) -> str:
        return self.env.get("DAOBAN_API__DATABASE_URL") or f"sqlite:///{Path(self.env['DAOBAN_DATA_DIR'])}/daoban.sqlite3"

    def settings(self):
        """The server's settings, for a Runtime of the test's own on the same data."""
        from daoban.settings import load_settings

        settings = load_settings().model_copy(update={"data_dir": Path(self.env["DAOBAN_DATA_DIR"]),
                                                      "corpus_dir": Path(self.env["DAOBAN_CORPUS_DIR"])})
        return settings.model_copy(update={"api": settings.api.model_copy(
            update={"database_url": self.env.get("DAOBAN_API__DATABASE_URL")})})

    def all_text(self) -> str:
        """Every value of every table, as text: what someone reading the database would see."""
        out = []
        for (table,) in [("sessions",), ("messages",), ("replies",), ("feedback",), ("submissions",), ("ratings",),
                         ("tickets",), ("ticket_events",)]:
            out += [" ".join(map(str, row)) for row in self.sql(f"SELECT * FROM {table}")]
        return "\n".join(out)

    def sql(self, query: str, **params) -> list[tuple]:
        """A statement on the server's own database, SQLite or PostgreSQL, behind its back: the rows, if any."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(query), params)
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()


# Every test of the shared server runs on both stores (tests/test_api_http.py, test_api_security.py: sessions,
# forms, feedback, hotline and admin). The schemathesis walk and the browser pages test the web layer, not
# storage, and stay on SQLite (``parametrize("api_server", ["sqlite"], indirect=True)``) to keep the suite's time.
DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def _api_servers():
    """The shared servers, one per database, kept for the whole run: pytest orders tests module by module, and
    a parametrized fixture alone would stop and start them again at each switch of database."""
    servers: dict[str, Server] = {}
    yield servers
    for server in servers.values():
        server.kill()


@pytest.fixture(scope="session", params=DATABASES)
def api_server(request, tmp_path_factory, _api_servers):
    """One real server per database for the API and page tests: small real corpus, real index, LLM backend
    none; SQLite in its data folder, or a database of its own on the test run's PostgreSQL cluster."""
    if request.param in _api_servers:
        return _api_servers[request.param]
    tmp = tmp_path_factory.mktemp(f"api-{request.param}")
    corpus_root = make_corpus(tmp / "corpus")
    env = base_env(tmp, corpus_root)
    if request.param == "postgresql":
        env["DAOBAN_API__DATABASE_URL"] = request.getfixturevalue("postgres").new_database("api")
    build_test_index(env)
    server = _api_servers[request.param] = Server(env=env, log_path=tmp / "server.log").start()
    # really on that database: the server says which one it writes to
    assert httpx.get(server.url + "/readyz").json()["database_dialect"] == request.param
    return server
