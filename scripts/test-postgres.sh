#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the tests and prints the URL to use.
#   scripts/test-postgres.sh start [DIR] [PORT]  -> prints MADOGUCHI_TEST_POSTGRES_URL=...
#   scripts/test-postgres.sh stop  [DIR]
#   scripts/test-postgres.sh resume [DIR] [PORT]   (start a stopped cluster again, data kept)
# FSYNC=on gives a cluster with production durability, for benchmarks (the tests run with fsync=off).
# PostgreSQL refuses to run as root, so the cluster belongs to the 'postgres' system user.
set -euo pipefail
action=${1:-start}
dir=${2:-/tmp/madoguchi-pg}
port=${3:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    if [ -z "$bin" ]; then
      echo "PostgreSQL is not installed (apt-get install postgresql)" >&2
      exit 1
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    if [ "$(id -u)" = 0 ]; then install -d -o postgres -m 700 "$dir"; else install -d -m 700 "$dir"; fi
    password=madoguchi-test
    printf '%s\n' "$password" > "$dir/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/pwfile"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth-host=scram-sha-256 \
      --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${FSYNC:-off} -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    as_postgres "$bin/psql" -h "$dir" -p "$port" -U postgres -qc "CREATE DATABASE madoguchi_test" >/dev/null
    echo "MADOGUCHI_TEST_POSTGRES_URL=postgres://postgres:$password@127.0.0.1:$port/madoguchi_test?tlsmode=disable"
    ;;
  resume)
    # Starts the cluster of an earlier `start` again, data kept (the fault scripts stop and resume it).
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${FSYNC:-off} -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop|resume [DIR] [PORT]" >&2
    exit 2
    ;;
esac
