#!/usr/bin/env bash
# The several-worker topology on one machine, each service a process of its own:
#   PostgreSQL (scripts/postgres.sh)   the store every worker shares
#   Redis                              the rate-limit counters every worker shares (api.rate_limit_storage)
#   Chroma server (chroma run)         the dense index (index.chroma_url)
#   llama-cpp-python's OpenAI server   the local LLM, loaded once (llm.backend openai, llm.base_url)
#   daoban serve --workers N           the API, its workers pointed at all of the above
#
#   scripts/topology.sh up [--workers 2] [--llm local|none] [--port 8000]
#   scripts/topology.sh status
#   scripts/topology.sh down
#
# Everything lives under $DAOBAN_TOPOLOGY_DIR (default var/topology): the cluster, Redis's and Chroma's files,
# the API's data folder (its index is built against the Chroma server on the first `up`: a few minutes for the
# whole corpus), logs and pid files. Ports: $PG_PORT (55432), $REDIS_PORT (56379), $CHROMA_PORT (58000),
# $LLM_PORT (58080), --port (8000). DAOBAN_* variables reach the workers (e.g. DAOBAN_CORPUS_DIR).
# On a real cluster these are separate hosts or pods: deploy/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
T=$(realpath -m "${DAOBAN_TOPOLOGY_DIR:-var/topology}")
PG_PORT=${PG_PORT:-55432}; REDIS_PORT=${REDIS_PORT:-56379}; CHROMA_PORT=${CHROMA_PORT:-58000}; LLM_PORT=${LLM_PORT:-58080}
cmd=${1:-}; shift || true
workers=2; llm=local; port=8000
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers=$2; shift 2 ;;
    --llm) llm=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq 1 $((seconds * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "[topology] $what did not come up in $seconds s: see $T/*.log" >&2; return 1
}
started() { [ -f "$T/$1.pid" ] && kill -0 "$(cat "$T/$1.pid")" 2>/dev/null; }
start_bg() {  # start_bg NAME COMMAND...: a process of its own session, so `down` stops it with its children
  local name=$1; shift
  if started "$name"; then echo "[topology] $name already running (pid $(cat "$T/$name.pid"))"; return; fi
  setsid "$@" >"$T/$name.log" 2>&1 < /dev/null &
  echo $! >"$T/$name.pid"
}
http_ok() { "$PY" -c "import httpx,sys; sys.exit(httpx.get(sys.argv[1], timeout=3).status_code != 200)" "$1"; }

case "$cmd" in
  up)
    mkdir -p "$T"
    chmod 711 "$T"  # the cluster runs as daoban-pg when this runs as root: it must reach $T/postgres
    pg_url=$(bash scripts/postgres.sh start "$T/postgres" "$PG_PORT" | tail -1)
    echo "[topology] postgresql  $pg_url"
    if ! started redis; then
      start_bg redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T" --save "" --appendonly no
    fi
    wait_for redis 30 redis-cli -p "$REDIS_PORT" ping
    echo "[topology] redis       redis://127.0.0.1:$REDIS_PORT/0"
    mkdir -p "$T/chroma"
    ANONYMIZED_TELEMETRY=False start_bg chroma "$(dirname "$PY")/chroma" run --path "$T/chroma" --host 127.0.0.1 --port "$CHROMA_PORT"
    wait_for chroma 120 http_ok "http://127.0.0.1:$CHROMA_PORT/api/v2/heartbeat"
    echo "[topology] chroma      http://127.0.0.1:$CHROMA_PORT"
    llm_env=(DAOBAN_LLM__BACKEND=none)
    if [ "$llm" = local ]; then
      gguf=$("$PY" -c "from daoban.model_files import ensure_model; from daoban.settings import load_settings; print(ensure_model(load_settings()))")
      threads=$("$PY" -c "from daoban.settings import load_settings; print(load_settings().llm.n_threads)")
      start_bg llm "$PY" -m llama_cpp.server --model "$gguf" --host 127.0.0.1 --port "$LLM_PORT" \
        --n_threads "$threads" --n_ctx 4096 --model_alias local
      wait_for "the LLM server" 300 http_ok "http://127.0.0.1:$LLM_PORT/v1/models"
      echo "[topology] llm         http://127.0.0.1:$LLM_PORT/v1 ($gguf)"
      llm_env=(DAOBAN_LLM__BACKEND=openai DAOBAN_LLM__BASE_URL="http://127.0.0.1:$LLM_PORT/v1" DAOBAN_LLM__MODEL=local
               DAOBAN_LLM__API_KEY=none)
    fi
    mkdir -p "$T/data"
    env DAOBAN_DATA_DIR="$T/data" DAOBAN_API__DATABASE_URL="$pg_url" \
      DAOBAN_API__RATE_LIMIT_STORAGE="redis://127.0.0.1:$REDIS_PORT/0" \
      DAOBAN_INDEX__CHROMA_URL="http://127.0.0.1:$CHROMA_PORT" "${llm_env[@]}" \
      "$PY" -m daoban.cli db upgrade
    DAOBAN_DATA_DIR="$T/data" DAOBAN_API__DATABASE_URL="$pg_url" \
      DAOBAN_API__RATE_LIMIT_STORAGE="redis://127.0.0.1:$REDIS_PORT/0" \
      DAOBAN_INDEX__CHROMA_URL="http://127.0.0.1:$CHROMA_PORT" \
      start_bg api env "${llm_env[@]}" "$PY" -m daoban.cli serve --workers "$workers" --port "$port"
    wait_for "the API (index build and workers)" 1200 http_ok "http://127.0.0.1:$port/readyz"
    echo "[topology] api         http://127.0.0.1:$port ($workers workers; log $T/api.log, console keys in $T/data/api_keys.json)"
    ;;
  status)
    for name in api llm chroma redis; do
      if started "$name"; then echo "$name: running (pid $(cat "$T/$name.pid"))"; else echo "$name: stopped"; fi
    done
    if [ -f "$T/postgres/data/postmaster.pid" ]; then echo "postgresql: running"; else echo "postgresql: stopped"; fi
    ;;
  down)
    for name in api llm chroma redis; do
      if started "$name"; then
        pid=$(cat "$T/$name.pid")
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
        echo "[topology] $name stopped"
      fi
      rm -f "$T/$name.pid"
    done
    bash scripts/postgres.sh stop "$T/postgres" && echo "[topology] postgresql stopped"
    ;;
  *) echo "usage: scripts/topology.sh up [--workers N] [--llm local|none] [--port P] | status | down" >&2; exit 2 ;;
esac
