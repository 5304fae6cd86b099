from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The suite runs with --import-mode=importlib, which puts no test folder on sys.path;
# the shared builders in stats_helpers.py are imported by name, so this folder goes on it.
sys.path.insert(0, str(Path(__file__).parent))

from stats_helpers import make_run, random_rows  # noqa: E402

from stats.text_stats import TextStatsExtractor  # noqa: E402


@pytest.fixture(scope="session")
def extractor() -> TextStatsExtractor:
    # spaCy + open_clip (torch) load in ~10 s: once per session.
    return TextStatsExtractor()


@pytest.fixture
def random_run(tmp_path: Path) -> Path:
    """A run of three manifests (two sources) with made-up statistics."""
    return make_run(tmp_path / "run", {
        "laion-00000": random_rows(1, 300, "laion"),
        "laion-00001": random_rows(2, 200, "laion"),
        "sa1b-00000": random_rows(3, 250, "sa1b"),
    })
