from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

from paraimage.console import ProgressView, RunTotals, log_digest

REPO_ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_line_counts_the_run_and_this_invocation() -> None:
    clock, out = Clock(), io.StringIO()
    view = ProgressView(lambda: RunTotals(11, 26, 2, {"kept": 3, "error": 1}),
                        stream=out, tty=False, clock=clock)
    assert view.line().startswith("[paraimage] progress: 2/11 shards, 4/26 rows")
    clock.now = 10
    view.shard_written({"kept": 2, "rejected": 2})
    clock.now = 20
    view.emit()
    assert out.getvalue() == (
        "[paraimage] progress: 3/11 shards, 8/26 rows (5 kept, 2 rejected, 1 error), "
        "0.20 images/s now, 0.20 average, ETA 1 min 30 s, 20 s in\n")
    clock.now = 100  # the shard fell out of the 60 s window: the ETA uses the average
    assert view.line() == (
        "[paraimage] progress: 3/11 shards, 8/26 rows (5 kept, 2 rejected, 1 error), "
        "0.00 images/s now, 0.04 average, ETA 7 min 30 s, 1 min 40 s in")


def test_a_shard_already_in_the_totals_is_not_counted_twice() -> None:
    written: list[int] = []
    view = ProgressView(
        lambda: RunTotals(4, 8, len(written), {"kept": 2 * len(written)}) if written else None,
        stream=io.StringIO(), tty=False, clock=Clock())
    assert view.line() == "[paraimage] progress: preparing (source, model, shard plan), 0 s in"
    written.append(1)  # the runner writes the manifest, then tells the view
    view.shard_written({"kept": 2})
    view.shard_written({"kept": 2})
    assert view.line().startswith(
        "[paraimage] progress: 2/4 shards, 4/8 rows (4 kept, 0 rejected, 0 error)")


def test_off_a_terminal_a_line_when_shards_came_or_a_minute_passed() -> None:
    clock, out = Clock(), io.StringIO()
    view = ProgressView(lambda: RunTotals(2, 4, 0, {}), stream=out, tty=False, clock=clock)
    for now in (10, 20, 30):  # the thread's ticks
        clock.now = now
        view.emit(force=False)
    view.shard_written({"kept": 2})
    clock.now = 40
    view.emit(force=False)
    clock.now = 50
    view.emit(force=False)
    clock.now = 100  # a minute after the last line: a heartbeat
    view.emit(force=False)
    assert [line.split(", ")[-1] for line in out.getvalue().splitlines()] == [
        "10 s in", "40 s in", "1 min 40 s in"]


def test_a_terminal_line_is_redrawn_in_place() -> None:
    out = io.StringIO()
    view = ProgressView(lambda: RunTotals(1, 2, 0, {}), stream=out, tty=True, clock=Clock())
    view.emit()
    view.shard_written({"kept": 2})
    view.stop()
    assert out.getvalue() == (
        "\r\x1b[K[paraimage] progress: 0/1 shards, 0/2 rows (0 kept, 0 rejected, 0 error), "
        "0.00 images/s now, 0.00 average, ETA -, 0 s in"
        "\r\x1b[K[paraimage] progress: 1/1 shards, 2/2 rows (2 kept, 0 rejected, 0 error), "
        "2000000000.00 images/s now, 2000000000.00 average, all rows written, 0 s in\n")


def test_log_digest_counts_each_message_once(tmp_path: Path) -> None:
    log = tmp_path / "worker.err"
    log.write_text(
        "\x1b[36m(MapWorker(MapBatches(AsyncVLLMCaptioner)) pid=7783)\x1b[0m (EngineCore "
        "pid=8388) WARNING 12-03 16:48:49 [cpu_worker.py:153] CPU backend doesn't allow "
        "to use `torch.set_num_threads`\n"
        "\x1b[36m(MapWorker(MapBatches(AsyncVLLMCaptioner)) pid=7783)\x1b[0m (EngineCore "
        "pid=8388) WARNING 12-03 16:48:53 [cpu_worker.py:153] CPU backend doesn't allow "
        "to use `torch.set_num_threads`\n"
        "2026-12-03 16:48:17,401\tWARNING util.py:650 -- The argument ``concurrency`` is "
        "deprecated\n"
        "INFO all fine\n"
        "/work/main/paraimage/engine.py:120: RayDeprecationWarning: `ray_remote_args` is "
        "deprecated\n")
    assert log_digest([log]) == Counter({
        "WARNING CPU backend doesn't allow to use `torch.set_num_threads`": 2,
        "WARNING The argument ``concurrency`` is deprecated": 1,
        "RayDeprecationWarning: `ray_remote_args` is deprecated": 1,
    })


SCRIPT = textwrap.dedent("""
    import atexit, logging, os, sys, warnings
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from paraimage import console
    run_dir = Path(sys.argv[1])
    logging.basicConfig(format="%(levelname)s %(message)s")
    with console.QuietConsole(run_dir) as quiet:
        assert console.verbose() is False
        run_dir.mkdir()  # the run directory appears during the run
        os.write(2, b"C-level noise\\n")
        for _ in range(3):
            logging.getLogger("lib").warning("a library warning")
        warnings.warn("a python warning")
        print("[paraimage] ours", flush=True)
    assert console.verbose() is True
    print("error: ours too", file=sys.stderr)
    atexit.register(lambda: os.write(2, b"exit noise\\n"))
""")


def test_quiet_console_sends_library_output_to_the_run_logs(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(repo=str(REPO_ROOT)), str(run_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    [log] = (run_dir / "logs").glob("driver-*.log")
    assert result.stdout == (
        "[paraimage] ours\n"
        f"[paraimage] library logs: {run_dir / 'logs'} (4 warning/error lines, 2 kinds; "
        "--verbose shows everything):\n"
        "[paraimage]       3x WARNING a library warning\n"
        "[paraimage]       1x UserWarning: a python warning\n"
    )
    assert result.stderr == "error: ours too\n"
    text = log.read_text()
    assert text.startswith("C-level noise\nWARNING a library warning\n")
    assert text.endswith("exit noise\n")


def test_verbose_changes_nothing(tmp_path: Path) -> None:
    script = SCRIPT.replace("console.QuietConsole(run_dir)",
                            "console.QuietConsole(run_dir, verbose=True)").replace(
        "assert console.verbose() is False", "assert console.verbose() is True")
    result = subprocess.run(
        [sys.executable, "-c", script.format(repo=str(REPO_ROOT)), str(tmp_path / "run")],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert result.stdout == "[paraimage] ours\n"
    assert "C-level noise\n" in result.stderr and "exit noise\n" in result.stderr
    assert not (tmp_path / "run" / "logs").exists()
