"""The driver's memory on a real run of many shards stays under a stated ceiling: the
collector holds at most ``ray.driver_buffer_bytes`` of unfinished shards plus the block
in hand (spilling the rest), and the driver's private memory grows by less than a fixed
ceiling, about the same for a run four times the size."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cluster_helpers import REPO_ROOT

pytestmark = pytest.mark.slow

BUDGET = 256 * 1024
# what the driver's private memory (RSS less the shared object-store pages it maps)
# may grow by while it runs, whatever the number of rows: Ray Data's executor and
# iterator, the budget, one block (measured: 29 MiB at 2,000 rows, 39 MiB at 8,000)
RSS_GROWTH_CEILING = 96 * 2**20
# four times the rows pass 48 MiB more through the driver (8 KiB a row); a driver
# holding them would grow by that much
MORE_ROWS_CEILING = 24 * 2**20

RUN = textwrap.dedent("""
    import json, sys, threading, time
    from pathlib import Path
    sys.path[:0] = [{repo!r}, {helpers!r}]
    import psutil
    import pyarrow as pa
    from cluster_helpers import write_tiny_tars
    from curation.probe import ProbeStage
    from curation.webdataset import WebDatasetSource, WebDatasetSourceConfig
    from workflows.config import JobConfig
    from paraimage.engine import ActorStage, CpuStage
    from paraimage.runner import run_job

    class LongCaption:  # defined here: __main__'s classes travel by value
        # a stand-in captioner (an actor, as the real one): 8 KiB of caption per row,
        # rows as heavy as real long ones, handed on 50 rows at a time
        def __call__(self, batch):
            batch = batch.drop_columns([c for c in batch.column_names if c == "caption"])
            return batch.append_column("caption", pa.array(["w" * 8192] * batch.num_rows))

    out, n_tars = Path(sys.argv[1]), int(sys.argv[2])
    tars = write_tiny_tars(out / "tars", n_tars, 250)
    config = JobConfig.model_validate({{
        "run": {{"name": "mem", "output_dir": str(out / "runs")}},
        "sources": [{{"kind": "webdataset", "paths": [str(out / "tars" / "*.tar")]}}],
        "captioner": {{"model": "llava-hf/llava-1.5-7b-hf"}},
        "stats": {{"enabled": False}},
        "ray": {{"num_cpus": 2, "cpu_stage_num_cpus": 0.5, "cpu_batch_size": 50,
                 "driver_buffer_bytes": {budget}}},
    }})
    source = WebDatasetSource(WebDatasetSourceConfig(kind="webdataset",
                                                     paths=[str(t) for t in tars]))
    stages = [CpuStage("probe", ProbeStage(config.decode.max_pixels), num_cpus=0.5,
                       batch_size=50),
              ActorStage("caption", LongCaption, num_cpus=0.5, batch_size=50)]
    me = psutil.Process()
    import ray, ray.data
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    # blocks of ~half a shard, so shards arrive in pieces, interleaved, as a run's large
    # shards do (a shard's rows past Ray Data's target block size come as several)
    ray.data.DataContext.get_current().target_max_block_size = 1024 * 1024
    def private():  # the driver's own pages: RSS less what it shares (the object store)
        info = me.memory_info()
        return info.rss - info.shared
    baseline, rss_baseline = private(), me.memory_info().rss
    peak, rss_peak = [baseline], [rss_baseline]
    done = threading.Event()
    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], private())
            rss_peak[0] = max(rss_peak[0], me.memory_info().rss)
    threading.Thread(target=sample, daemon=True).start()
    summary = run_job(config, source, stages, argv=["mem"])
    done.set()
    record = json.loads((config.run.directory / "run.json").read_text())
    print(json.dumps({{"growth": peak[0] - baseline, "rss_growth": rss_peak[0] - rss_baseline,
                      "rows": summary.inputs,
                      "recovered": record["invocations"][-1]["recovered"]}}))
""")


def run_of(tmp_path: Path, n_tars: int) -> dict:
    script = RUN.format(repo=str(REPO_ROOT), helpers=str(Path(__file__).parent),
                        budget=BUDGET)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(n_tars)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_driver_memory_does_not_grow_with_the_run(tmp_path: Path) -> None:
    small = run_of(tmp_path / "small", 8)
    large = run_of(tmp_path / "large", 32)
    assert (small["rows"], large["rows"]) == (2000, 8000)
    for run in (small, large):
        # the collector: the budget plus the block in hand (Ray Data's output block)
        figures = run["recovered"]
        assert figures["peak_buffered_bytes"] <= BUDGET + figures["largest_batch_bytes"]
        assert run["growth"] < RSS_GROWTH_CEILING, run
    assert large["growth"] - small["growth"] < MORE_ROWS_CEILING, (small, large)
    assert large["recovered"]["spill_files"] > 0, (small, large)  # the bound held
