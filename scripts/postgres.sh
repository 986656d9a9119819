#!/usr/bin/env bash
# A throw-away PostgreSQL cluster in a folder, for the tests and for scripts/topology.sh:
#   scripts/postgres.sh start DIR PORT   initdb into DIR/data (once), start on 127.0.0.1:PORT with its unix socket
#                                        in DIR, create database daoban; prints the SQLAlchemy URL
#   scripts/postgres.sh stop DIR         fast shutdown
# Debian's server binaries (apt-get install postgresql; scripts/setup.sh --browser installs them). PostgreSQL
# refuses to run as root: as root, the cluster belongs to the system user daoban-pg, made here once.
# Local trust authentication on loopback only: a test and one-machine set-up, never a deployment (deploy/).
# PG_FAST=1 turns fsync off (tests: the cluster is thrown away; a worker's SIGKILL never loses a commit anyway).
set -euo pipefail
cmd=${1:?usage: postgres.sh start DIR PORT | stop DIR}
dir=${2:?folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server not installed: apt-get install postgresql (or scripts/setup.sh --browser)" >&2; exit 3; }
pg_user=daoban-pg
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      id "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
      chown "$pg_user" "$dir"
    fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log"
    fi
    opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
    [ "${PG_FAST:-0}" = 1 ] && opts="$opts -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAtc \
      "SELECT 1 FROM pg_database WHERE datname = 'daoban'" | grep -q 1 \
      || as_owner "$bin/createdb" -h "$dir" -p "$port" -U postgres daoban
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/daoban"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: postgres.sh start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
