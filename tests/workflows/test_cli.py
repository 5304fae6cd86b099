from __future__ import annotations

from pathlib import Path

import pytest

import paraimage
from workflows.cli import main

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


def fake_local_model(tmp_path: Path) -> Path:
    """A local model folder that resolves without loading anything (image_size is set)."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    return model


def test_run_of_an_empty_folder_exits_2_naming_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main([
        "run", "--config", str(REPO_ROOT / "configs" / "demo.yaml"),
        "--set", f"run.output_dir={tmp_path / 'runs'}",
        "--set", f"sources=[{{kind: folder, name: photos, path: '{empty}'}}]",
        "--set", f"captioner.model={fake_local_model(tmp_path)}",
        "--set", "captioner.image_size=336",
    ])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: source 'photos' has nothing to read: no image files under {empty} "
        "(looked for bmp, gif, jp2, jpeg, jpg, png, tif, tiff, webp)\n"
    )
    assert not (tmp_path / "runs").exists()  # no half-made run directory


def test_output_dir_inside_a_file_exits_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import workflows.recaption

    def no_work(*args: object) -> None:
        raise AssertionError("the model was prepared for a run that cannot be written")

    monkeypatch.setattr(workflows.recaption, "prepare_captioner", no_work)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    code = main([
        "run", "--config", str(REPO_ROOT / "configs" / "demo.yaml"),
        "--set", f"run.output_dir={a_file / 'runs'}",
    ])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: run.output_dir: cannot create the run directory {a_file / 'runs' / 'demo'}: "
        f"{a_file} is not a directory\n"
    )


def test_read_only_output_dir_exits_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # root writes through chmod, and tests cannot mount: a read-only file system is
    # what the write probe meets, so the probe meets EROFS here
    import errno
    import tempfile

    import workflows.recaption

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    def no_work(*args: object) -> None:
        raise AssertionError("the model was prepared for a run that cannot be written")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(workflows.recaption, "prepare_captioner", no_work)
    code = main([
        "run", "--config", str(REPO_ROOT / "configs" / "demo.yaml"),
        "--set", f"run.output_dir={tmp_path / 'ro'}",
    ])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: run.output_dir: cannot write the run directory {tmp_path / 'ro' / 'demo'}: "
        f"Read-only file system ({tmp_path})\n"
    )
    assert list(tmp_path.iterdir()) == []
