#!/usr/bin/env bash
# Fault: PostgreSQL stops under a running server, then comes back (#20, R-OPS-1).
#   tests/faults/postgres-outage.sh            (uses the debug build; builds it if missing)
# Checks: /readyz turns 503 within 5 s of the stop; a submission while it is down gets 503 with Retry-After within
# a bounded time and the server keeps running; /readyz is 200 again within 5 s of the database's return, and a
# submission is stored. Exits non-zero on the first broken expectation.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(swift build --show-bin-path)/madoguchi
[ -x "$bin" ] || swift build --product madoguchi
work=$(mktemp -d)
chmod 755 "$work"  # the postgres user reaches its cluster under it
pgdir=$work/pg
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=$(scripts/test-postgres.sh start "$pgdir" "$pgport" | sed 's/^MADOGUCHI_TEST_POSTGRES_URL=//')
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  scripts/test-postgres.sh stop "$pgdir" || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- server log" >&2; tail -n 30 "$work/server.log" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "print(round($(now) - $1, 1))"; }

"$bin" serve --port "$port" --database "$url" --keystore "sqlite:$work/keystore.sqlite" --key-file "$work/master.key" \
  --outbox "$work/outbox" --hold-mail >"$work/server.log" 2>&1 &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$base/readyz" >/dev/null || fail "the server did not become ready"

inquiry() {
  curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
    --data "{\"service\":\"agent\",\"fields\":{\"name\":\"障害 試験\",\"email\":\"fault$1@example.jp\",\"topic\":\"other\",\"message\":\"試験\"}}" \
    "$base/api/v1/inquiries" || true
}
[ "$(inquiry 1)" = 201 ] || fail "an inquiry before the outage was not stored"

# Waits until /readyz answers $1 and prints the seconds since $2; fails after $3 s.
await_readyz() {
  while [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/readyz")" != "$1" ]; do
    [ "$(python3 -c "print($(now) - $2 > $3)")" = True ] && fail "/readyz not $1 within $3 s"
    sleep 0.2
  done
  since "$2"
}

echo "==> stopping PostgreSQL"
scripts/test-postgres.sh stop "$pgdir"
took=$(await_readyz 503 "$(now)" 10)
echo "    /readyz 503 after ${took} s"
[ "$(python3 -c "print($took <= 5)")" = True ] || fail "/readyz took ${took} s to turn 503 (goal: 5 s)"
asked=$(now)
status=$(inquiry 2)
answered=$(since "$asked")
echo "    a submission while down: HTTP $status after ${answered} s"
[ "$status" = 503 ] || fail "a submission while the database is down got $status, not 503"
grep -qi '^retry-after:' "$work/headers" || fail "the 503 has no Retry-After"
[ "$(python3 -c "print($answered <= 15)")" = True ] || fail "the 503 took ${answered} s (bound: 15 s)"
kill -0 "$server" || fail "the server died"

echo "==> starting PostgreSQL again"
scripts/test-postgres.sh resume "$pgdir" "$pgport"
back=$(await_readyz 200 "$(now)" 30)
echo "    /readyz 200 after ${back} s"
[ "$(python3 -c "print($back <= 5)")" = True ] || fail "service took ${back} s to come back (goal: 5 s)"
[ "$(inquiry 3)" = 201 ] || fail "an inquiry after the outage was not stored"
echo "ok: PostgreSQL outage — 503 within ${took} s, answered in ${answered} s while down, back ${back} s after the database"
