"""The servers a city puts beside daoban, started as real processes on this machine: llama-cpp-python's
OpenAI-compatible server over the local GGUF (``llm.backend=openai``) and a Chroma server (``index.chroma_url``).

The tests start them through these helpers, ``daoban model serve`` and ``daoban index serve`` run them in the
foreground, and a deployment script may import them: one place knows their command lines and how to tell that
they are ready."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    """A started server: its process, its base URL, and the file its output goes to (a temp file unless given,
    removed on stop)."""

    name: str
    proc: subprocess.Popen
    url: str
    log_path: Path
    _log: object = field(default=None, repr=False)
    _own_log: bool = field(default=False, repr=False)  # a temp file of ours: removed on stop

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout_s: float = 20.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``timeout_s``) and close its log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._own_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(name: str, cmd: list[str], url: str, ready_url: str, ready_timeout_s: float, log_path: Path | None,
                 env: dict[str, str] | None = None) -> ServerProcess:
    """Start ``cmd`` and wait until ``ready_url`` answers 200; on failure stop it and say why (with its log).
    ``env`` is added to this process's environment."""
    import httpx

    own_log = log_path is None
    if log_path is None:
        fd, tmp = tempfile.mkstemp(prefix=f"daoban-{name}-", suffix=".log")
        os.close(fd)
        log_path = Path(tmp)
    log = log_path.open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    server = ServerProcess(name, proc, url, log_path, log, own_log)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"{name} exited with code {proc.returncode} while starting:\n{tail}")
        try:
            if httpx.get(ready_url, timeout=2.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    tail = server.log_tail()
    server.stop()
    raise RuntimeError(f"{name} did not answer {ready_url} within {ready_timeout_s:.0f}s:\n{tail}")


def llama_server_command(model_path: str | Path, host: str, port: int, n_ctx: int = 4096, n_threads: int = 2,
                         alias: str = "daoban-local") -> list[str]:
    """``python -m llama_cpp.server`` over the GGUF (the extra ``llm-server`` brings its web dependencies).

    It serves one request at a time; ``--interrupt_requests False`` makes a second request wait for the first
    instead of cutting the first one's stream short (its default), so run daoban with ``llm.max_concurrency=1``
    against it and let the runner's queue wait decide."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias,
            "--host", host, "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(n_threads),
            "--n_threads_batch", str(n_threads), "--flash_attn", "True", "--interrupt_requests", "False",
            "--use_mlock", "False"]


def start_llama_server(model_path: str | Path, *, host: str = "127.0.0.1", port: int | None = None,
                       n_ctx: int = 4096, n_threads: int = 2, alias: str = "daoban-local",
                       log_path: Path | None = None, ready_timeout_s: float = 180.0) -> ServerProcess:
    """llama-cpp-python's OpenAI-compatible server, ready (``GET /v1/models`` answers). ``url`` ends in ``/v1``:
    it is what ``llm.base_url`` takes, with ``llm.model`` = ``alias``."""
    if not Path(model_path).is_file():
        raise FileNotFoundError(f"model file {model_path} does not exist: run `daoban model ensure`")
    port = port or free_port(host)
    base = f"http://{host}:{port}"
    return start_server("llama-server", llama_server_command(model_path, host, port, n_ctx, n_threads, alias),
                  f"{base}/v1", f"{base}/v1/models", ready_timeout_s, log_path)


def chroma_command(path: str | Path, host: str, port: int) -> list[str]:
    """``chroma run`` (the chromadb package's own server) keeping its data under ``path``."""
    return [str(VENV_BIN / "chroma"), "run", "--path", str(path), "--host", host, "--port", str(port)]


def start_chroma_server(path: str | Path, *, host: str = "127.0.0.1", port: int | None = None,
                        log_path: Path | None = None, ready_timeout_s: float = 60.0) -> ServerProcess:
    """A Chroma server, ready (``GET /api/v2/heartbeat`` answers). ``url`` is what ``index.chroma_url`` takes."""
    Path(path).mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    base = f"http://{host}:{port}"
    return start_server("chroma", chroma_command(path, host, port), base, f"{base}/api/v2/heartbeat", ready_timeout_s,
                  log_path, env={"ANONYMIZED_TELEMETRY": "False"})
