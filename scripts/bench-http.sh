#!/usr/bin/env bash
# HTTP benchmark: a release build of `madoguchi serve` on SQLite, loaded with wrk on loopback.
# Each route is measured right after /healthz in the same run, and reported as a ratio to it,
# because the machine is noisy and absolute figures move from run to run.
#   scripts/bench-http.sh [DURATION_SECONDS] [CONNECTIONS] [ROUTE...]
# The server queues mail without delivering it (--hold-mail), so the intake figure is the intake's own;
# MADOGUCHI_BENCH_DELIVER=1 delivers the confirmations to .eml files during the run instead.
# MADOGUCHI_BENCH_VISITORS=new|returning picks who sends the consent events (scripts/bench-event.lua; default new).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
shift $(( $# > 2 ? 2 : $# ))
routes=("$@")
[ ${#routes[@]} -gt 0 ] || routes=(/privacy "/privacy?lang=en" /privacy/external-transmission /privacy.json "POST /api/v1/inquiries")
threads=2
port=${MADOGUCHI_BENCH_PORT:-18080}

case ${MADOGUCHI_BENCH_VISITORS:-new} in
  new | returning) ;;
  *) echo "MADOGUCHI_BENCH_VISITORS must be new or returning, not '$MADOGUCHI_BENCH_VISITORS'" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
swift build -c release --product madoguchi >&2
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
database=${MADOGUCHI_BENCH_DATABASE:-sqlite:$work/bench.sqlite}
MADOGUCHI_LOG_LEVEL=warning .build/release/madoguchi serve --port "$port" --database "$database" \
  --keystore "sqlite:$work/keys/keystore.sqlite" --key-file "$work/keys/master.key" --outbox "$work/outbox" \
  --rate-limit 1000000000/1 --event-rate-limit 1000000000/1 $([ "${MADOGUCHI_BENCH_DELIVER:-0}" = 1 ] || echo --hold-mail) &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

rate() { # route ("POST /api/v1/inquiries" and "POST /api/v1/requests" use scripts/bench-*.lua) -> requests/s, p99 latency
  local script=() path=$1
  if [[ $1 == "POST /api/v1/inquiries" ]]; then script=(-s scripts/bench-inquiry.lua); path=${1#POST }; fi
  if [[ $1 == "POST /api/v1/requests" ]]; then script=(-s scripts/bench-request.lua); path=${1#POST }; fi
  if [[ $1 == "POST /api/v1/events" ]]; then script=(-s scripts/bench-event.lua); path=${1#POST }; fi
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "${script[@]}" "http://127.0.0.1:$port$path" |
    awk '/Requests\/sec/ {r=$2} /^ +99%/ {p=$2} END {print r, p}'
}
config=$(curl -fs "http://127.0.0.1:$port/api/v1/consent-config")
export MADOGUCHI_VENDOR_LIST=$(printf '%s' "$config" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vendor_list"])')
export MADOGUCHI_VENDORS=$(printf '%s' "$config" | python3 -c 'import json,sys; print(json.dumps({v["id"]: v["category"] != "advertising" for v in json.load(sys.stdin)["vendors"]}))')
rate /healthz >/dev/null # warm-up
printf '%-34s %12s %10s %14s %10s %8s\n' route "req/s" p99 "healthz req/s" "p99" ratio
for route in "${routes[@]}"; do
  read -r base base_p99 < <(rate /healthz)
  read -r r p99 < <(rate "$route")
  printf '%-34s %12s %10s %14s %10s %8s\n' "$route" "$r" "$p99" "$base" "$base_p99" "$(awk -v a="$r" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
done
echo "(wrk -t$threads -c$connections -d${duration}s on 127.0.0.1, release build, $(nproc) cores, database ${database%%:*}, mail $([ "${MADOGUCHI_BENCH_DELIVER:-0}" = 1 ] && echo delivered to files || echo held), event senders ${MADOGUCHI_BENCH_VISITORS:-new})"
