#!/usr/bin/env bash
# Fault: the SMTP peer is down when mail is queued, then comes back (#20, R-OPS-1).
#   tests/faults/smtp-outage.sh [SECONDS_DOWN]     (default 20; the long form: 300)
# Checks: nothing is lost or sent twice — every queued message reaches the SMTP server exactly once after it returns
# (the first retry comes a minute after the failed attempt); a message the server refuses for good (550 to its
# recipient) is marked failed on its own and the rest of its batch is delivered. Needs python3 with aiosmtpd.
set -euo pipefail
cd "$(dirname "$0")/../.."
down=${1:-20}
bin=$(swift build --show-bin-path)/madoguchi
[ -x "$bin" ] || swift build --product madoguchi
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
smtp=$(free_port)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  exec 7>&- 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- server log" >&2; tail -n 20 "$work/server.log" >&2; exit 1; }

"$bin" serve --port "$port" --database "sqlite:$work/db.sqlite" --keystore "sqlite:$work/keystore.sqlite" \
  --key-file "$work/master.key" --smtp "smtp://127.0.0.1:$smtp?security=none" >"$work/server.log" 2>&1 &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$base/readyz" >/dev/null || fail "the server did not become ready"

echo "==> the SMTP server is down; queueing 4 receipts (one to an address the server will refuse)"
for who in one two three refused; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data "{\"service\":\"agent\",\"fields\":{\"name\":\"試験\",\"email\":\"$who@example.jp\",\"topic\":\"other\",\"message\":\"試験\"}}" \
    "$base/api/v1/inquiries")
  [ "$status" = 201 ] || fail "an inquiry was not stored ($status)"
done
for _ in $(seq 1 50); do grep -q "mail delivery failed" "$work/server.log" && break; sleep 0.2; done
grep -q "mail delivery failed" "$work/server.log" || fail "no delivery was attempted while the SMTP server was down"
sleep "$down"

echo "==> the SMTP server is back after ${down} s"
mkdir "$work/mail"
exec 7> >(python3 scripts/smtp-sink.py "$work/mail" "$smtp" --refuse refused@example.jp > "$work/sink.out")
for _ in $(seq 1 50); do grep -q ready "$work/sink.out" 2>/dev/null && break; sleep 0.2; done
started=$(date +%s)
until [ "$(ls "$work/mail" | grep -c '\.eml$')" -ge 3 ] && [ "$(python3 -c "import sqlite3; print(sqlite3.connect('$work/db.sqlite').execute(\"SELECT COUNT(*) FROM outbox WHERE status='failed'\").fetchone()[0])")" = 1 ]; do
  [ $(( $(date +%s) - started )) -gt 150 ] && fail "not delivered within 150 s of the SMTP server's return"
  sleep 1
done
sleep 6  # one more delivery pass: nothing may arrive twice
delivered=$(ls "$work/mail" | grep -c '\.eml$')
[ "$delivered" = 3 ] || fail "$delivered messages arrived, not 3"
for who in one two three; do
  [ "$(grep -l "X-Envelope-To: $who@example.jp" "$work/mail"/*.eml | wc -l)" = 1 ] || fail "$who@example.jp did not get exactly one message"
done
grep -q "refused@example.jp" "$work/mail"/*.eml && fail "the refused address got mail"
grep -q 'error.message=SMTP RCPT TO refused with 550' "$work/server.log" || fail "the refusal is not logged with its step and code"
echo "ok: SMTP outage of ${down} s — 3 messages delivered once each $(( $(date +%s) - started )) s after the return; the refused one failed alone"
