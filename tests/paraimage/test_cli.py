from __future__ import annotations

from pathlib import Path

import pytest

import paraimage
from paraimage.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"paraimage {paraimage.__version__}"


def test_run_with_bad_config_exits_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "run", "--config", str(REPO_ROOT / "configs" / "demo.yaml"),
        "--set", f"run.output_dir={tmp_path}", "--set", "captioner.batch_size=zero",
    ])
    assert code == 2
    assert "captioner.batch_size: Input should be a valid integer" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_run_with_missing_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", "/nonexistent.yaml"]) == 2
    assert "cannot read config file /nonexistent.yaml" in capsys.readouterr().err


def test_unknown_hub_model_without_fallback_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # tests run with HF_HUB_OFFLINE=1: the hub counts as unreachable
    code = main([
        "run", "--config", str(REPO_ROOT / "configs" / "demo.yaml"),
        "--set", f"run.output_dir={tmp_path}", "--set", "captioner.offline_fallback=null",
        "--set", "captioner.model=org/not-cached-anywhere",
    ])
    assert code == 2
    assert "cannot reach the Hugging Face hub for 'org/not-cached-anywhere'" in (
        capsys.readouterr().err
    )
    assert list(tmp_path.iterdir()) == []


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: paraimage" in capsys.readouterr().out
