#!/usr/bin/env bash
# Idempotent: installs Debian's chromium for the annotation tool's browser tests.
# Never `playwright install`: it downloads a browser build, which these machines cannot
# reach; Playwright drives the system chromium through `executable_path` instead.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "[setup_browser] /usr/bin/chromium present: $(/usr/bin/chromium --version 2>/dev/null || true)"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
echo "[setup_browser] installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
