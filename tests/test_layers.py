"""The import graph keeps its layers (pyproject.toml ``[tool.importlinter]``): the
kernel imports no stage, no stage imports export or the job assembly, no cycles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", *args],
        cwd=REPO, capture_output=True, text=True, check=False,
    )


def test_the_layer_contract_is_kept() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_an_upward_import_would_break_it(tmp_path: Path) -> None:
    # the same graph against the layers turned upside down: the checker does see the
    # stages' imports of the kernel, so the kept contract above means something
    config = tmp_path / "upside_down.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["paraimage", "curation"]\n'
        '[[tool.importlinter.contracts]]\nname = "upside down"\ntype = "layers"\n'
        'layers = ["paraimage", "curation"]\n'
    )
    result = lint_imports("--config", str(config))
    assert result.returncode == 1
    assert "curation.base -> paraimage.source" in result.stdout
