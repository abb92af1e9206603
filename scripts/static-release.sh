#!/usr/bin/env bash
# Builds the release binary with the Swift runtime linked in (--static-swift-stdlib) and proves it runs without a
# Swift toolchain: no libswift*/Foundation shared library is loaded, and the binary, installed with its resources in a
# folder of its own, answers --version, migrates and serves /healthz and the policy page with an environment that
# names no toolchain path (docs/operations.md, "Install").
#
#   scripts/static-release.sh [SCRATCH]   # SCRATCH: the build folder (default .build-static; about 17 min the first time)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${1:-.build-static}"

swift build -c release --static-swift-stdlib --product madoguchi --scratch-path "$scratch"
bin="$scratch/release/madoguchi"
resources="$scratch/release/madoguchi_MadoguchiServer.resources"

echo "==> shared libraries"
ldd "$bin"
if ldd "$bin" | grep -Ei 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|swift/linux'; then
    echo "FAIL: the binary loads Swift runtime libraries" >&2
    exit 1
fi

install_dir="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$install_dir"' EXIT
mkdir -p "$install_dir/bin" "$install_dir/var"
install -m 755 "$bin" "$install_dir/bin/"
cp -r "$resources" "$install_dir/bin/"
cp examples/policy.yaml "$install_dir/policy.yaml"
head -c 32 /dev/urandom | base64 > "$install_dir/var/master.key"
chmod 600 "$install_dir/var/master.key"

# An environment without the toolchain: only the system's own folders on PATH, no LD_LIBRARY_PATH.
run() { (cd "$install_dir" && env -i PATH=/usr/bin:/bin HOME="$install_dir" "$install_dir/bin/madoguchi" "$@"); }
echo "==> $(run --version)"
stores=(--database "sqlite:$install_dir/var/madoguchi.sqlite" --keystore "sqlite:$install_dir/var/keystore.sqlite")
run migrate "${stores[@]}"
common=("${stores[@]}" --key-file "$install_dir/var/master.key")
port=$((20000 + RANDOM % 20000))
(cd "$install_dir" && exec env -i PATH=/usr/bin:/bin HOME="$install_dir" "$install_dir/bin/madoguchi" serve --port "$port" \
    --policy "$install_dir/policy.yaml" --outbox "$install_dir/var/outbox" "${common[@]}") > "$install_dir/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz"
echo
curl -fsS "http://127.0.0.1:$port/privacy" | grep -q '<html lang="ja"' || { echo "FAIL: no policy page" >&2; cat "$install_dir/serve.log" >&2; exit 1; }
kill "$server"
wait "$server" || true
echo "==> the static binary runs without a toolchain: $(du -h "$bin" | cut -f1)"
