#!/usr/bin/env bash
# Benchmark (#20, R-OPS-1): inquiry intake with 1, 2 and 3 servers on one PostgreSQL with production durability
# (fsync=on, synchronous_commit=on, full_page_writes=on), beside one server on SQLite (synchronous=FULL) and the
# /healthz of that server, all in the same run. Figures are ratios within the run: the machine is noisy.
#   scripts/bench-instances.sh [DURATION_SECONDS] [CONNECTIONS]      (default 10 s, 64 connections in all)
# MADOGUCHI_BENCH_SERVERS="1" runs only the one-server comparison (default "1 2 3").
# With N servers, N wrk processes (one thread each) split the connections and their req/s are added. While the
# 3-server run loads PostgreSQL, its sessions are sampled every 100 ms: the share of active ones waiting on an
# advisory lock (the audit chain's append) shows where the chain's serialisation bounds the intake.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
swift build -c release --product madoguchi >&2
bin=.build/release/madoguchi
work=$(mktemp -d)
chmod 755 "$work"
pids=()
stop_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap 'stop_servers; scripts/test-postgres.sh stop "$work/pg" || true; rm -rf "$work"' EXIT
base=$(FSYNC=on scripts/test-postgres.sh start "$work/pg" "$pgport" | sed 's/^MADOGUCHI_TEST_POSTGRES_URL=//')
psql=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql
sql() { runuser -u postgres -- "$psql" -h "$work/pg" -p "$pgport" -U postgres -d madoguchi_test -Atqc "$1"; }
[ "$(sql 'SHOW fsync')" = on ] && [ "$(sql 'SHOW synchronous_commit')" = on ] || { echo "PostgreSQL is not durable" >&2; exit 1; }

# Starts $1 servers on database URL $2 and key store URL $3, sharing one master key; sets `ports` (and `pids`).
start_servers() {
  local count=$1 database=$2 keystore=$3
  ports=()
  for i in $(seq 1 "$count"); do
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    MADOGUCHI_LOG_LEVEL=warning "$bin" serve --port "$port" --database "$database" --keystore "$keystore" \
      --key-file "$work/master-$count.key" --outbox "$work/outbox-$count-$i" --hold-mail \
      --rate-limit 1000000000/1 --event-rate-limit 1000000000/1 >>"$work/server.log" 2>&1 &
    pids+=($!)
    ports+=("$port")
    # The first server creates the master key and migrates; the others start once it is ready.
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "server $i of $count did not start" >&2; tail "$work/server.log" >&2; exit 1; }
  done
}

# Loads the servers on ports $@ with inquiries at once (connections split between them); prints req/s and the worst p99.
load() {
  local n=$# outputs=() loaders=()
  local each=$((connections / n))
  for port in "$@"; do
    out=$work/wrk-$port.txt
    wrk -t1 -c"$each" -d"${duration}s" --latency -s scripts/bench-inquiry.lua "http://127.0.0.1:$port/api/v1/inquiries" >"$out" &
    loaders+=($!)
    outputs+=("$out")
  done
  wait "${loaders[@]}"
  awk '/Requests\/sec/ {r += $2} /^ +99%/ {v=$2; if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; if (v > p) p = v}
       END {printf "%.0f %.1fms\n", r, p}' "${outputs[@]}"
}

healthz() {
  wrk -t2 -c"$connections" -d"${duration}s" "http://127.0.0.1:$1/healthz" | awk '/Requests\/sec/ {printf "%.0f\n", $2}'
}

results=()
# SQLite, one server: the baseline of the goal (PostgreSQL >= 0.8 x SQLite on one server).
start_servers 1 "sqlite:$work/bench.sqlite" "sqlite:$work/keystore.sqlite"
load "${ports[@]}" >/dev/null # warm-up
health=$(healthz "${ports[0]}")
read -r sqlite sqlite_p99 < <(load "${ports[@]}")
stop_servers

waits=
for count in ${MADOGUCHI_BENCH_SERVERS:-1 2 3}; do
  schema=bench$count
  sql "CREATE SCHEMA $schema; CREATE SCHEMA ${schema}_keys"
  start_servers "$count" "$base&search_path=$schema" "$base&search_path=${schema}_keys"
  load "${ports[@]}" >/dev/null # warm-up
  if [ "$count" = 3 ]; then
    (
      while :; do
        sql "SELECT count(*) FILTER (WHERE state = 'active' AND wait_event = 'advisory'), count(*) FILTER (WHERE state = 'active')
             FROM pg_stat_activity WHERE datname = 'madoguchi_test' AND pid <> pg_backend_pid()" 2>/dev/null || true
        sleep 0.1
      done
    ) >"$work/waits.txt" &
    sampler=$!
  fi
  read -r rate p99 < <(load "${ports[@]}")
  if [ "$count" = 3 ]; then
    kill "$sampler" 2>/dev/null || true
    waits=$(awk -F'|' '{a += $1; t += $2} END {if (t > 0) printf "%.0f%% of active PostgreSQL sessions waited on the audit chain'"'"'s advisory lock (%d samples)", 100 * a / t, NR}' "$work/waits.txt")
  fi
  results+=("$count $rate $p99")
  stop_servers
done

one=$(echo "${results[0]}" | cut -d' ' -f2)
printf '%-40s %10s %10s %12s %12s\n' "inquiry intake" "req/s" "p99" "÷ 1 server" "÷ SQLite"
printf '%-40s %10s %10s %12s %12s\n' "SQLite, 1 server" "$sqlite" "$sqlite_p99" "" "1.00"
for line in "${results[@]}"; do
  read -r count rate p99 <<<"$line"
  printf '%-40s %10s %10s %12s %12s\n' "PostgreSQL (fsync=on), $count server(s)" "$rate" "$p99" \
    "$(awk -v a="$rate" -v b="$one" 'BEGIN { printf "%.2f", a / b }')" "$(awk -v a="$rate" -v b="$sqlite" 'BEGIN { printf "%.2f", a / b }')"
done
echo "/healthz of the SQLite server in the same run: $health req/s"
[ -n "$waits" ] && echo "3 servers: $waits"
echo "(wrk, ${duration}s, $connections connections split between the servers, release build, $(nproc) cores shared by wrk, the servers and PostgreSQL; mail held)"
