"""``paraimage estimate`` on the demo config, as a user runs it: the demo's own stages
on a sample of its plan, a projection whose counts are the plan's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
N_RECORDS = 26  # the demo's plan: 15 package photos and edge cases, 11 LAION-style rows

pytestmark = pytest.mark.slow


def test_estimate_of_the_demo_projects_its_plan(tmp_path: Path) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PARAIMAGE_CACHE=str(tmp_path / "cache"),
               RAY_DISABLE_USAGE_STATS="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("RAY_ADDRESS", None)
    photos = tmp_path / "photos"
    result = subprocess.run(
        [sys.executable, "workflows/estimate.py", "--config", "configs/demo.yaml",
         "--images", "8", "--set", f"run.output_dir={tmp_path / 'runs'}",
         "--set", f"sources.0.cache_dir={photos}",
         "--set", f"sources.1.cache_dir={tmp_path / 'laion'}", "--set", "sources.1.port=8731"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=420,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sample = re.search(r"sample: (\d+) of (\d+) planned inputs", result.stdout)
    assert sample and int(sample.group(2)) == N_RECORDS and int(sample.group(1)) >= 8
    estimate = json.loads((tmp_path / "runs" / "demo" / "estimate.json").read_text())
    assert estimate["planned_inputs"] == N_RECORDS
    assert estimate["sampled_inputs"] == int(sample.group(1))
    assert sum(estimate["statuses"].values()) == estimate["sampled_inputs"]
    assert [s["name"] for s in estimate["stages"]] == [
        "probe+filters+prepare", "caption", "stats"]  # one CPU task decodes each image once
    assert all(s["rows"] == estimate["sampled_inputs"] for s in estimate["stages"])
    caption = estimate["captioners"][0]
    assert caption["stage"] == "caption" and caption["requests"] == estimate["statuses"]["kept"]
    assert caption["prompt_tokens"] > 0 and caption["output_tokens"] > 0
    assert f"projection for {N_RECORDS} inputs" in result.stdout
    assert not (tmp_path / "runs" / "demo" / "manifests").exists()  # nothing was run for real
