# The two Quickstart commands. Each sets up everything it needs on a fresh machine
# (idempotent: a second run skips what is already installed).
PY := .venv/bin/python

.PHONY: setup demo test test-fast lint

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) workflows/recaption.py --config configs/demo.yaml

lint: setup
	.venv/bin/ruff check .

test: setup
	bash scripts/setup_test_system.sh
	.venv/bin/ruff check .
	.venv/bin/pytest -p no:cacheprovider

# The inner loop while developing: everything but the tests marked `slow` (whole jobs,
# vLLM engines and servers, Ray actors, streaming, browsers). CI runs `make test`.
test-fast: setup
	bash scripts/setup_test_system.sh
	.venv/bin/ruff check .
	.venv/bin/pytest -p no:cacheprovider -m "not slow"
