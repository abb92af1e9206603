#!/usr/bin/env bash
# Contract: the running server against its OpenAPI document (#20, R-OPS-1), with schemathesis (PyPI).
#   tests/contract/schemathesis.sh [MAX_EXAMPLES]     (default 25 per operation; CI's short form)
# Every documented operation, every phase (examples, coverage, fuzzing, stateful) and every check
# (tests/contract/schemathesis.toml), against the document the server itself serves at /openapi.yaml (it names the
# policy's vendors and purposes). A fixed seed keeps CI's run repeatable; MADOGUCHI_CONTRACT_SEED=N picks another,
# MADOGUCHI_CONTRACT_SEED=random draws one.
set -euo pipefail
cd "$(dirname "$0")/../.."
examples=${1:-25}
python3 -c "import schemathesis" 2>/dev/null || python3 -m pip install -q schemathesis
bin=$(swift build --show-bin-path)/madoguchi
[ -x "$bin" ] || swift build --product madoguchi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
"$bin" serve --port "$port" --database "sqlite:$work/data.sqlite" --keystore "sqlite:$work/keystore.sqlite" \
  --key-file "$work/master.key" --outbox "$work/outbox" --hold-mail \
  --rate-limit 1000000/1 --event-rate-limit 1000000/1 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
seed=()
[ "${MADOGUCHI_CONTRACT_SEED:-fixed}" = random ] || seed=(--seed "${MADOGUCHI_CONTRACT_SEED:-20261205}")
status=0
schemathesis --config-file tests/contract/schemathesis.toml run "http://127.0.0.1:$port/openapi.yaml" \
  --max-examples "$examples" --workers 1 "${seed[@]}" --no-color || status=$?
kill -0 "$server" || { echo "FAIL: the server died under the contract run" >&2; tail -n 30 "$work/server.log" >&2; exit 1; }
if grep -q '"level":"critical"\| critical ' "$work/server.log"; then
  echo "FAIL: the server logged a critical error" >&2; exit 1
fi
exit "$status"
