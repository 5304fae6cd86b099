#!/usr/bin/env bash
# Idempotent: the Debian packages the test suite drives for real, installed only when
# missing (one apt-get update at most):
# * chromium: the review tool's browser tests (Playwright with executable_path; never
#   `playwright install`, which downloads a browser build these machines cannot reach);
# * postgresql: server binaries for the review tool's PostgreSQL tests (they start a
#   throwaway cluster themselves; no service is enabled).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
  echo "[setup_test_system] chromium and postgresql present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
echo "[setup_test_system] installed: ${missing[*]}"
