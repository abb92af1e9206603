#!/usr/bin/env bash
# The deployment files stay usable (#21): the systemd unit verifies with systemd-analyze (with the built binary in
# place of /opt/madoguchi/bin/madoguchi), and every variable of the example environment file is one `serve` reads.
#   tests/deploy/check.sh [BINARY]      (default .build/debug/madoguchi)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-.build/debug/madoguchi}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if command -v systemd-analyze >/dev/null; then
  sed -e "s|/opt/madoguchi/bin/madoguchi|$bin|g" deploy/madoguchi.service >"$work/madoguchi.service"
  out=$(cd "$work" && systemd-analyze verify ./madoguchi.service 2>&1) || { echo "$out" >&2; exit 1; }
  # Warnings count as failures too (a misspelt key, a comment on a value line).
  if [ -n "$out" ]; then echo "systemd-analyze verify: $out" >&2; exit 1; fi
  echo "deploy/madoguchi.service: systemd-analyze verify clean"
else
  echo "systemd-analyze is missing: apt-get install systemd" >&2
  exit 1
fi

help=$("$bin" serve --help)
missing=0
while IFS='=' read -r name _; do
  case "$name" in ''|'#'*) continue ;; esac
  if ! grep -q "$name" <<<"$help"; then echo "deploy/madoguchi.env.example: $name is not read by madoguchi serve" >&2; missing=1; fi
done <deploy/madoguchi.env.example
[ "$missing" = 0 ] && echo "deploy/madoguchi.env.example: every variable is one serve reads"
exit "$missing"
