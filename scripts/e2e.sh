#!/usr/bin/env bash
# The browser tests (e2e/): the site snippet in a real headless Chromium, no internet.
#   scripts/e2e.sh [pytest arguments]
# Needs Debian's chromium and chromium-driver (installed here when run as root and missing) and Python selenium
# (installed into a virtual environment under $TMPDIR). Uses the debug build of `madoguchi` (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# openssl makes the vendor stub's throwaway certificate.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v openssl >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: install Debian's chromium, chromium-driver and openssl first (apt-get install chromium chromium-driver openssl)" >&2
    exit 1
  fi
  echo "==> installing chromium, chromium-driver and openssl from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver openssl >/dev/null
fi

venv=${MADOGUCHI_E2E_VENV:-${TMPDIR:-/tmp}/madoguchi-e2e-venv}
if ! "$venv/bin/python" -c "import selenium, pytest, openapi_spec_validator, axe_selenium_python" 2>/dev/null; then
  echo "==> creating $venv with selenium and pytest from PyPI"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r e2e/requirements.txt
fi
# axe-core 4.x (WCAG 2.2 rules) as the file axe-playwright-python ships; only the file is used, with Selenium, so the
# package goes in without its Playwright dependency.
if ! "$venv/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('axe_playwright_python') is None)" 2>/dev/null; then
  "$venv/bin/pip" install -q --no-deps "axe-playwright-python>=0.1.8"
fi

bin=$(swift build --show-bin-path)/madoguchi
[ -x "$bin" ] || swift build --product madoguchi
export MADOGUCHI_BIN=$bin
cd e2e
exec "$venv/bin/python" -m pytest -q -o faulthandler_timeout=120 "$@"
