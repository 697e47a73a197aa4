#!/usr/bin/env bash
# Throw-away PostgreSQL 15 cluster for the tests.
#   .ci/pg.sh start DIR [durable] -> prints the URL; the cluster lives in DIR (owned by postgres);
#                                    durable: PostgreSQL's default durability (benchmarks), not
#                                    the tests' fsync=off
#   .ci/pg.sh stop DIR    -> stops it by the PID in DIR/data/postmaster.pid
# initdb refuses root, so as root both run as the `postgres` user.
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
cmd=${1:?start|stop}; dir=${2:?directory}; mode=${3:-}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  [ -x "$BIN/initdb" ] || { echo "no PostgreSQL 15 in $BIN" >&2; exit 3; }
  mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
  fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "$mode" = durable ] && fast=""
  as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $fast -c max_connections=200" start >/dev/null
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  pidfile="$dir/data/postmaster.pid"
  if [ -f "$pidfile" ]; then
    pid=$(head -1 "$pidfile")
    as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2;;
esac
