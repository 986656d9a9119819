"""``daoban serve`` prints the page URLs and serves them (index present: the test corpus's cached build)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest_api import ROOT, base_env, build_test_index, free_port, make_corpus

pytestmark = pytest.mark.slow


def test_serve_prints_the_urls_and_generates_local_keys(tmp_path):
    corpus_root = make_corpus(tmp_path / "corpus")
    env = base_env(tmp_path, corpus_root)
    env.pop("DAOBAN_API__API_KEYS")  # a first local start has none
    build_test_index(env)
    port = free_port()
    daoban = Path(sys.executable).parent / "daoban"
    proc = subprocess.Popen([str(daoban), "serve", "--llm", "none", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "console keys" in line:
                break
        out = "".join(lines)
        base = f"http://127.0.0.1:{port}"
        for path in ("/ ", "/hotline", "/admin", "/docs"):
            assert f"{base}{path.strip()}" in out, out
        keys_file = tmp_path / "data" / "api_keys.json"
        assert str(keys_file) in out  # the console shows where the keys are, never the keys
        keys = json.loads(keys_file.read_text(encoding="utf-8"))
        staff_key = next(k for k, role in keys.items() if role == "staff")
        assert staff_key not in out and oct(keys_file.stat().st_mode)[-3:] == "600"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        assert httpx.get(base + "/v1/admin/documents", headers={"X-API-Key": staff_key}, timeout=60).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "--llm" in subprocess.run([str(daoban), "serve", "--help"], capture_output=True, text=True, env=env).stdout
