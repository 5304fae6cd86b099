#!/usr/bin/env bash
# Idempotent: installs Debian's PostgreSQL server binaries for the review tool's
# PostgreSQL tests (they start their own throwaway cluster; no service is enabled).
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "[setup_postgres] present: $(ls /usr/lib/postgresql/)"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q postgresql
