"""The job's console: quiet by default, everything with ``--verbose``.

``QuietConsole(run_dir)`` wraps a run. Inside it:

* the driver's file descriptor 2 goes to a log file, so whatever libraries write to
  stderr (Ray Data's progress log, Ray's start-up lines, warnings, C++ messages, the
  leak reports some extensions print at exit) lands in ``RUN_DIR/logs/driver-<time>.log``
  and not on the console; ``sys.stderr`` is the console again once the run is over, for
  tracebacks and our own errors;
* Ray's workers (vLLM's engine, transformers) are not forwarded to the driver
  (``log_to_driver``), Ray Data draws no progress bars, and the runner prints no line
  per shard (``verbose()`` says which); the workers' log files are copied from Ray's
  session folder to ``RUN_DIR/logs/workers-<time>/`` at the end (a local Ray; a
  cluster keeps them on its nodes);
* at the end, the warnings and errors of all those logs are shown once each, with a
  count, the most frequent first.

``ProgressView`` is the one progress display: shards done of planned, rows kept /
rejected / error so far, images/s now and on average, ETA; a line rewritten in place on
a terminal; elsewhere (CI, ``ray job logs``) a line every ``interval`` seconds when
shards were written since the last, and every ``HEARTBEAT_S`` regardless.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from paraimage.rundir import LOCK_FILES

LOGS_DIR = "logs"
PROGRESS_INTERVAL_S = 10.0
HEARTBEAT_S = 60.0  # off a terminal, a line at least this often even without news
RATE_WINDOW_S = 60.0
DIGEST_KINDS = 3
# what the quiet console itself causes: not worth a line
_OWN_MESSAGES = ("Progress bars disabled",)
DIGEST_WIDTH = 140
_WORKER_LOG_GLOBS = ("worker-*.out", "worker-*.err", "ray-data/*.log")
_LEVEL = re.compile(r"\b(WARNING|ERROR|CRITICAL|[A-Z][A-Za-z]*Warning)\b:?")
_NOISE = (
    re.compile(r"\x1b\[[0-9;]*m"),  # colours
    re.compile(r"^\s*\(.*?pid=\d+\)\s*"),  # "(MapWorker(MapBatches(...)) pid=7783) "
    re.compile(r"\(EngineCore pid=\d+\)\s*"),
    re.compile(r"\d{4}-\d\d-\d\d[ T][\d:,.]+\s*"),  # 2026-12-03 16:48:10,521
    re.compile(r"\b\d\d-\d\d \d\d:\d\d:\d\d\s*"),  # vLLM's 12-03 16:48:49
    re.compile(r"\[[\w./-]+:\d+\]\s*"),  # [cpu_worker.py:153]
    re.compile(r"\S*(?:\.py|>):\d+:?\s*(?:--\s*)?"),  # util.py:650 --, <string>:14:
)

_verbose = True  # no QuietConsole active: print everything, as before


def verbose() -> bool:
    """Whether library output, Ray Data's progress bars and per-shard lines are shown."""
    return _verbose


def _normalize(line: str) -> str:
    for pattern in _NOISE:
        line = pattern.sub("", line)
    return line.strip()


def log_digest(files: list[Path]) -> Counter[str]:
    """Warning and error lines of ``files``, normalized (no time, pid, file:line), with
    how often each occurs."""
    counts: Counter[str] = Counter()
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if _LEVEL.search(line):
                message = _normalize(line)
                if message and not any(own in message for own in _OWN_MESSAGES):
                    counts[message[:DIGEST_WIDTH]] += 1
    return counts


def _ray_session_logs() -> Path | None:
    try:
        import ray

        if not ray.is_initialized():
            return None
        node = ray._private.worker._global_node  # the local node, None for a client
        return Path(node.get_session_dir_path()) / "logs" if node else None
    except Exception:  # noqa: BLE001 - no Ray, or another version's internals
        return None


def dashboard_url() -> str | None:
    try:
        import ray

        if not ray.is_initialized():
            return None
        url = ray._private.worker.get_dashboard_url()
    except Exception:  # noqa: BLE001
        return None
    if not url:
        return None
    return url if url.startswith("http") else f"http://{url}"


def _run_dir_made(run_dir: Path) -> bool:
    """The run directory exists for more than this invocation's lock (which goes with
    it when nothing else was made: a run that could not be planned)."""
    if not run_dir.is_dir():
        return False
    names = {path.name for path in run_dir.iterdir()}
    return not names or not names <= set(LOCK_FILES)


class QuietConsole:
    """See the module docstring. ``verbose=True`` changes nothing."""

    def __init__(self, run_dir: Path, verbose: bool = False,
                 out: Callable[[str], None] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.verbose = verbose
        self.out = out or (lambda line: print(line, flush=True))
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self._started = time.time()
        self.log_path: Path | None = None
        self._saved_fd: int | None = None

    def __enter__(self) -> QuietConsole:
        global _verbose
        if self.verbose:
            return self
        # a temp file first: a run that stops before its run directory exists (a source
        # that cannot be planned) must leave no directory behind
        fd, name = tempfile.mkstemp(prefix="paraimage-driver-", suffix=".log")
        os.close(fd)
        self._tmp_log = Path(name)
        self._log = open(self._tmp_log, "a", buffering=1)  # noqa: SIM115
        sys.stderr.flush()
        # the process's own stderr (the command line) is put back on the console at the
        # end; an embedding's (pytest's capture) is left as it is
        self._real_stderr = sys.stderr is sys.__stderr__
        self._saved_fd = os.dup(2)
        os.dup2(self._log.fileno(), 2)
        _verbose = False
        return self

    def __exit__(self, *exc: Any) -> None:
        global _verbose
        if self.verbose or self._saved_fd is None:
            return
        _verbose = True
        sys.stderr.flush()
        console_fd, self._saved_fd = self._saved_fd, None
        if self._real_stderr:  # Python's stderr (tracebacks, our errors): the console again
            sys.stderr = os.fdopen(os.dup(console_fd), "w", buffering=1)
        digest: Counter[str] = Counter()
        kept_tmp = False
        if _run_dir_made(self.run_dir):
            logs = self.run_dir / LOGS_DIR
            logs.mkdir(exist_ok=True)
            self.log_path = logs / f"driver-{self.stamp}.log"
            shutil.copyfile(self._tmp_log, self.log_path)
            if self._real_stderr:
                # fd 2 stays on the log: what extensions print at exit goes there too
                with open(self.log_path, "a") as final:
                    os.dup2(final.fileno(), 2)
            else:
                os.dup2(console_fd, 2)
            workers = self._copy_worker_logs(logs / f"workers-{self.stamp}")
            digest = log_digest([self.log_path, *workers])
        else:  # stopped before the run directory existed: keep what libraries said
            os.dup2(console_fd, 2)
            kept_tmp = self._tmp_log.stat().st_size > 0
        os.close(console_fd)
        self._log.close()
        if kept_tmp:
            self.out(f"[paraimage] library output of this invocation: {self._tmp_log}")
        else:
            self._tmp_log.unlink(missing_ok=True)
        if self.log_path is not None:
            self._report(self.log_path.parent, digest)

    def _copy_worker_logs(self, target: Path) -> list[Path]:
        session = _ray_session_logs()
        if session is None:
            return []
        copied = []
        for pattern in _WORKER_LOG_GLOBS:
            for path in sorted(session.glob(pattern)):
                # a shared cluster's session holds other jobs' workers too: only those
                # written during this run (an actor may run in a worker started before
                # its job, so the job id in the name does not tell)
                if (path.is_file() and path.stat().st_size
                        and path.stat().st_mtime >= self._started):
                    destination = target / path.relative_to(session)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, destination)
                    copied.append(destination)
        return copied

    def _report(self, logs: Path, digest: Counter[str]) -> None:
        total = sum(digest.values())
        if not total:
            self.out(f"[paraimage] library logs: {logs} (no warning, no error)")
            return
        self.out(f"[paraimage] library logs: {logs} ({total} warning/error lines, "
                 f"{len(digest)} kinds; --verbose shows everything):")
        for message, count in digest.most_common(DIGEST_KINDS):
            self.out(f"[paraimage]   {count:>5}x {message}")


@dataclass(frozen=True)
class RunTotals:
    """The run on disk when the progress view first finds its plan."""

    planned_shards: int
    planned_rows: int
    complete_shards: int
    by_status: dict[str, int]


def run_totals(root: Path) -> RunTotals | None:
    """From plan.json and the complete manifests; None before the plan exists."""
    from paraimage.rundir import RunDir, RunDirError
    from paraimage.summary import summarize

    run_dir = RunDir(Path(root))
    try:
        plan = run_dir.load_plan()
    except RunDirError:
        return None
    if plan is None:
        return None
    complete = [run_dir.manifest_path(s.shard_id) for s in plan if run_dir.is_complete(s)]
    return RunTotals(len(plan), sum(s.n_records for s in plan), len(complete),
                     summarize(complete).by_status)


class ProgressView:
    """Shards done of planned, rows by status, images/s now and on average, ETA.

    ``totals`` is asked (until it answers) for the run on disk; the shards this view is
    told about afterwards are added to it."""

    def __init__(self, totals: Callable[[], RunTotals | None],
                 interval: float = PROGRESS_INTERVAL_S, stream: IO[str] | None = None,
                 tty: bool | None = None, clock: Callable[[], float] = time.monotonic,
                 stages: Callable[[], str | None] | None = None) -> None:
        self.totals_source = totals
        # each stage's rows, rate and queue (paraimage.stage_progress), when running
        self.stages = stages
        self.totals: RunTotals | None = None
        self.interval = interval
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.shards = 0  # written since the totals were read
        self.status: Counter[str] = Counter()
        self.rows = 0  # written by this invocation
        self.recent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dashboard_said = False
        self._last_state: tuple[int, int, bool] | None = None
        self._last_line = -float("inf")

    def shard_written(self, by_status: dict[str, int]) -> None:
        fresh = self.totals is None
        self._read_totals()
        with self._lock:
            n = sum(by_status.values())
            self.rows += n  # this invocation's rate counts it in any case
            self.recent.append((self.clock(), n))
            if not (fresh and self.totals is not None):  # else the totals hold it already
                self.shards += 1
                self.status.update(by_status)
            totals = self.totals
            finished = (totals is not None
                        and totals.complete_shards + self.shards >= totals.planned_shards)
        if finished:
            self.stop()  # the last line before the run-level steps and the summary

    def _read_totals(self) -> None:
        if self.totals is None:
            totals = self.totals_source()
            with self._lock:
                if totals is not None and self.totals is None:
                    self.totals = totals

    def line(self) -> str:
        self._read_totals()
        with self._lock:
            now = self.clock()
            elapsed = max(now - self.started, 1e-9)
            while self.recent and self.recent[0][0] < now - RATE_WINDOW_S:
                self.recent.popleft()
            rate_now = sum(n for _, n in self.recent) / min(elapsed, RATE_WINDOW_S)
            average = self.rows / elapsed
            if self.totals is None:
                return (f"[paraimage] progress: preparing (source, model, shard plan), "
                        f"{format_duration(elapsed)} in")
            totals = self.totals
            status = Counter(totals.by_status) + self.status
            done_rows = sum(status.values())
            left = totals.planned_rows - done_rows
            rate = rate_now or average
            if left <= 0:
                eta = "all rows written"
            else:
                eta = f"ETA {format_duration(left / rate)}" if rate else "ETA -"
            counts = ", ".join(f"{status.get(s, 0)} {s}" for s in ("kept", "rejected", "error"))
            line = (f"[paraimage] progress: {totals.complete_shards + self.shards}/"
                    f"{totals.planned_shards} shards, {done_rows}/{totals.planned_rows} rows "
                    f"({counts}), {rate_now:.2f} images/s now, {average:.2f} average, {eta}, "
                    f"{format_duration(elapsed)} in")
        stages = self.stages() if self.stages is not None and left > 0 else None
        return f"{line}; stages: {stages}" if stages else line

    def _changed(self) -> bool:
        """Off a terminal, a line when shards were written since the last one, and one
        every HEARTBEAT_S regardless."""
        self._read_totals()
        now = self.clock()
        state = (self.shards, self.rows, self.totals is not None)
        if state != self._last_state or now - self._last_line >= HEARTBEAT_S:
            self._last_state, self._last_line = state, now
            return True
        return False

    def emit(self, force: bool = True) -> None:
        if not force and not self.tty and not self._changed():
            return
        if not self._dashboard_said:
            url = dashboard_url()
            if url:
                self._write(f"[paraimage] Ray dashboard: {url}", final=True)
                self._dashboard_said = True
        self._write(self.line(), final=False)

    def _write(self, text: str, final: bool) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}" + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def start(self) -> ProgressView:
        def loop() -> None:
            # a terminal's line is redrawn every second; elsewhere one line per interval
            while not self._stop.wait(1.0 if self.tty else self.interval):
                self.emit(force=False)

        self._thread = threading.Thread(target=loop, name="paraimage-progress", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """The last line (once); none for an invocation that had nothing to do."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self.rows or self._thread is None:
            self._write(self.line(), final=True)


ManifestCallback = Callable[[Any, Path], None]


def _stage_line() -> str | None:
    from paraimage.stage_progress import format_stages, latest

    return format_stages(latest())


def _status_counts(manifest: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    return dict(Counter(pq.read_table(manifest, columns=["status"]).column(0).to_pylist()))


@contextlib.contextmanager
def job_console(run_dir: Path, verbose: bool = False,
                on_manifest_written: ManifestCallback | None = None
                ) -> Iterator[ManifestCallback | None]:
    """A run's console: quiet with one progress view, or (``verbose``) everything.
    Yields the ``on_manifest_written`` to give ``run_job``: it feeds the view, then
    calls the given one."""
    if verbose:
        yield on_manifest_written
        return
    with QuietConsole(run_dir):
        view = ProgressView(lambda: run_totals(run_dir), stages=_stage_line).start()

        def written(job_run_dir: Any, manifest: Path) -> None:
            view.shard_written(_status_counts(manifest))
            if on_manifest_written is not None:
                on_manifest_written(job_run_dir, manifest)

        try:
            yield written
        finally:
            view.stop()


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``: the console's and ``paraimage status``'s."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
