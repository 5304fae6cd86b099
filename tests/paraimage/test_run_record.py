"""The run record's code version: a commit in a git checkout, None ("no git") outside."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from paraimage.run_record import git_commit, new_invocation


def git(directory: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=directory, capture_output=True, text=True, check=True,
    ).stdout.strip()


def checkout(directory: Path) -> str:
    directory.mkdir(parents=True)
    git(directory, "init", "-q")
    (directory / "code.py").write_text("x = 1\n")
    git(directory, "add", "code.py")
    git(directory, "commit", "-q", "-m", "first")
    return git(directory, "rev-parse", "HEAD")


def test_a_checkout_records_its_commit_and_whether_it_is_dirty(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    head = checkout(repo)
    assert git_commit(repo) == head
    (repo / "notes.txt").write_text("untracked files do not make it dirty")
    assert git_commit(repo) == head
    (repo / "code.py").write_text("x = 2\n")
    assert git_commit(repo) == f"{head}-dirty"


def test_outside_a_checkout_there_is_no_commit(tmp_path: Path) -> None:
    release = tmp_path / "paraimage-0.1.0"  # an unpacked release tarball
    release.mkdir()
    assert git_commit(release) is None
    # unpacked inside someone else's repository: that repository's commit is not ours
    outer = tmp_path / "outer"
    checkout(outer)
    (outer / "vendor" / "paraimage").mkdir(parents=True)
    assert git_commit(outer / "vendor" / "paraimage") is None
    # a checkout without any commit yet
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q")
    assert git_commit(fresh) is None


def test_without_git_installed_there_is_no_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    checkout(repo)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert git_commit(repo) is None


def test_an_invocation_records_no_git_and_carries_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    invocation = new_invocation(["recaption.py", "--config", "x.yaml"])
    assert invocation["git_commit"] is None
    assert invocation["argv"] == ["recaption.py", "--config", "x.yaml"]
    assert invocation["package_versions"]["pyarrow"]
