#!/usr/bin/env bash
# Campaign sending against a real SMTP server (aiosmtpd): starts scripts/smtp-sink.py on a free port, writing into a
# temporary folder, and runs the CampaignSendingBenchmarks target against it (release build).
#   scripts/bench-campaign-send.sh            SQLite
#   MADOGUCHI_BENCH_POSTGRES_URL=postgres://… scripts/bench-campaign-send.sh    an empty PostgreSQL database
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import aiosmtpd" 2>/dev/null || { echo "aiosmtpd is missing: python3 -m pip install aiosmtpd" >&2; exit 2; }
sink=$(mktemp -d)
fifo="$sink/control"
mkfifo "$fifo"
python3 scripts/smtp-sink.py "$sink" 0 < "$fifo" > "$sink/ready" &
pid=$!
exec 3> "$fifo"
trap 'exec 3>&-; wait "$pid" 2>/dev/null || true; rm -rf "$sink"' EXIT
for _ in $(seq 50); do grep -q ready "$sink/ready" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/ready/ {print $2}' "$sink/ready")
[ -n "$port" ] || { echo "the SMTP sink did not start" >&2; exit 1; }
echo "==> SMTP sink on 127.0.0.1:$port"
MADOGUCHI_BENCH_SMTP_URL="smtp://127.0.0.1:$port?security=none" MADOGUCHI_BENCHMARKS=1 \
  swift package benchmark --target CampaignSendingBenchmarks
echo "==> messages received: $(ls "$sink" | grep -c '\.eml$')"
