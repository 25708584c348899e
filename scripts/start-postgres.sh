#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on 127.0.0.1 for the store tests; installs the Debian
# package when missing (CI machines start bare). Prints the SQLAlchemy URL to use.
# Usage: eval "$(scripts/start-postgres.sh)"   ... then: scripts/start-postgres.sh stop
#        scripts/start-postgres.sh restart [SECONDS]   (stop, wait, start again: fault tests)
set -euo pipefail
PORT=${SEMREC_PG_PORT:-54329}
DATA=${SEMREC_PG_DATA:-/tmp/semrec-pg-$PORT}
bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ "${1:-}" = "stop" ]; then
  [ -d "$DATA" ] && runuser -u postgres -- "$(bin_dir)/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
  exit 0
fi
if [ "${1:-}" = "restart" ]; then  # fault tests: the server goes away for ${2:-1} s, then returns
  runuser -u postgres -- "$(bin_dir)/pg_ctl" -D "$DATA" -m fast stop >/dev/null
  sleep "${2:-1}"
  runuser -u postgres -- "$(bin_dir)/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
  exit 0
fi
if [ -z "$(bin_dir)" ]; then
  echo "installing postgresql (Debian package)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi
BIN=$(bin_dir)
if [ -d "$DATA" ]; then
  runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
fi
mkdir -p "$DATA" && chown postgres "$DATA"
runuser -u postgres -- "$BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
  -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
echo "export SEMREC_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
