#!/usr/bin/env bash
# Fault: the disk under a SQLite database fills up while the server runs, then space comes back (#20, R-OPS-1).
#   tests/faults/disk-full.sh            (root: it mounts a 16 MiB tmpfs; uses the debug build, builds it if missing)
# Checks: while full, submissions get 503 with Retry-After (never 500) and the server keeps running; /readyz says
# "database disk full" (503); the log says so in one clear line; once space is freed /readyz is 200 and submissions are
# stored again within 5 s; after the run PRAGMA integrity_check is ok on both files, `audit verify` finds the chain
# intact, and every inquiry answered 201 is there. Exits non-zero on the first broken expectation.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "disk-full.sh mounts a tmpfs: run it as root" >&2; exit 2; }
bin=$(swift build --show-bin-path)/madoguchi
[ -x "$bin" ] || swift build --product madoguchi
work=$(mktemp -d)
disk=$work/disk
mkdir "$disk"
mount -t tmpfs -o size=16m tmpfs "$disk"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  umount "$disk" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- server log" >&2; tail -n 30 "$work/server.log" >&2; exit 1; }

"$bin" serve --port "$port" --database "sqlite:$disk/data.sqlite" --keystore "sqlite:$disk/keystore.sqlite" \
  --key-file "$work/master.key" --outbox "$work/outbox" --hold-mail --rate-limit 1000000/1 >"$work/server.log" 2>&1 &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$base/readyz" >/dev/null || fail "the server did not become ready"

: >"$work/stored"
n=0
inquiry() {
  n=$((n + 1))
  local status
  status=$(curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
    --data "{\"service\":\"agent\",\"fields\":{\"name\":\"容量 試験\",\"email\":\"full$n@example.jp\",\"topic\":\"other\",\"message\":\"$(head -c 3000 /dev/zero | tr '\0' 'x')\"}}" \
    "$base/api/v1/inquiries" || true)
  [ "$status" = 201 ] && python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["number"])' "$work/body" >>"$work/stored"
  echo "$status"
}
[ "$(inquiry)" = 201 ] || fail "an inquiry before the disk filled was not stored"

echo "==> filling the disk"
dd if=/dev/zero of="$disk/filler" bs=64k 2>/dev/null || true
status=201
for _ in $(seq 1 200); do
  status=$(inquiry)
  [ "$status" = 201 ] || break
done
echo "    a submission on the full disk: HTTP $status"
[ "$status" = 503 ] || fail "a submission on a full disk got $status, not 503"
grep -qi '^retry-after:' "$work/headers" || fail "the 503 has no Retry-After"
for _ in 1 2 3; do
  status=$(inquiry)
  [ "$status" = 503 ] || fail "a further submission on the full disk got $status, not 503"
done
ready=$(curl -s -w ' %{http_code}' "$base/readyz")
echo "    /readyz: $ready"
[ "$ready" = "database disk full
 503" ] || fail "/readyz said '$ready' on a full disk"
kill -0 "$server" || fail "the server died"
grep -q 'database disk full: writes are refused' "$work/server.log" || fail "no log line names the full disk"
[ "$(grep -c 'database disk full: writes are refused' "$work/server.log")" = 1 ] ||
  fail "the full disk was logged more than once for one episode"

echo "==> freeing space"
rm "$disk/filler"
freed=$(date +%s.%N)
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ]; do
  [ "$(python3 -c "print($(date +%s.%N) - $freed > 5)")" = True ] && fail "/readyz not 200 within 5 s of space coming back"
  sleep 0.2
done
[ "$(inquiry)" = 201 ] || fail "a submission after space came back was not stored"
echo "    ready and storing again after $(python3 -c "print(round($(date +%s.%N) - $freed, 1))") s"
grep -q 'writes are accepted' "$work/server.log" || fail "the return of space was not logged"

kill "$server"
wait "$server" 2>/dev/null || true
server=
for file in data keystore; do
  result=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$disk/$file.sqlite")
  [ "$result" = ok ] || fail "integrity_check on $file.sqlite: $result"
done
"$bin" audit verify --database "sqlite:$disk/data.sqlite" --key-file "$work/master.key" >/dev/null ||
  fail "audit verify after the full disk"
missing=$(python3 - "$disk/data.sqlite" "$work/stored" <<'EOF'
import sqlite3, sys
stored = {row[0] for row in sqlite3.connect(sys.argv[1]).execute("SELECT number FROM inquiries")}
acknowledged = [line.strip() for line in open(sys.argv[2]) if line.strip()]
print(len([n for n in acknowledged if n not in stored]))
EOF
)
[ "$missing" = 0 ] || fail "$missing acknowledged inquiries are missing"
echo "==> disk full: 503 with Retry-After while full, /readyz said so, one log line; back within 5 s; $(wc -l <"$work/stored") acknowledged inquiries all there, integrity ok, audit chain intact"
