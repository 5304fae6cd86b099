"""Stats throughput: our per-caption stage vs a bare ``nlp.pipe``; DuckDB tables vs a scan.

    python benchmarks/stats_throughput.py [--captions 20000] [--rows 1000000] [--runs 3]

1. ``--captions`` generated ~130-word captions. Reference: a bare ``nlp.pipe`` over the
   texts with the same spaCy components (tok2vec + tagger) on the same matrix backend
   (numpy's BLAS, ``use_numpy_blas``), iterating the docs and nothing else. Ours: the
   ``CaptionStats`` stage over the same texts in Arrow batches (tags, nouns, sentences,
   words, CLIP tokens): ``stats_vs_bare_spacy`` is our words/s over the bare words/s,
   i.e. the cost of everything we add to spaCy. Beside it, the same components as
   ``spacy.load`` runs them (thinc's BLIS), in ``--blis-runs`` runs:
   ``stats_vs_spacy_blis``, what the backend choice gains. One worker is one core: BLAS
   runs one thread (``OPENBLAS_NUM_THREADS=1``, as Ray gives a 1-CPU actor). Then the
   command's compute path (read a manifest, stage, write partials) with 1 worker and
   with 2 Ray workers, each run a fresh process as a user's command is (imports, model
   loading, the first batches' heap growth included on both sides). The 2-worker side
   joins a 2-CPU Ray cluster started beforehand, as a job's driver joins its cluster:
   its actors start, import and load the model within the timing; the cluster's own
   start-up is outside it. The speed-up is the ratio of the median times.
2. A ``--rows``-row generated manifest in 10 shards (statistics and noun lists filled,
   no caption text), each shard rolled up as the job does when it writes it: the DuckDB
   tables (everything ``report.md`` shows except the word table, which reads the texts)
   as the run report computes them (check the rollups are fresh, merge them) against a
   bare ``SELECT count(*), avg(n_words)`` scan of it. Also printed: the time to write
   the rollups, and the tables rolled up from the rows, the path of inputs without
   rollups (``tables_from_rows_vs_scan``); both paths' tables are checked equal.

Every figure is the median of ``--runs`` (``--table-runs``) runs; a machine shared with
other work makes the absolute figures noise, the ratios less so. The last line is
``RATIO name=value``.
"""

# ruff: noqa: E402  (OPENBLAS_NUM_THREADS must be set before numpy is imported)
from __future__ import annotations

import os

# before numpy loads OpenBLAS: one worker is one core (a 1-CPU Ray actor gets the same
# through OMP_NUM_THREADS); the 2-worker run gets one thread per actor likewise
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ray_head import ray_head  # noqa: E402

from paraimage.manifest import MANIFEST_SCHEMA, SCHEMA_VERSION  # noqa: E402
from stats.rollups import update_rollups, write_rollups  # noqa: E402
from stats.tables import compute_tables  # noqa: E402
from stats.text_stats import CaptionStats, load_tagger  # noqa: E402
from stats.views import connect, create_run_views  # noqa: E402


def _words(text: str) -> list[str]:
    return text.split()


NOUNS = _words("woman man dog cat table window wall tree sky cloud street car building chair "
               "lamp book cup flower garden river mountain bridge boat shirt hat bag road "
               "field light shadow roof door floor painting plate bowl fruit bench fence grass")
ADJECTIVES = _words("red blue green small large wooden old bright dark soft white black tall "
                    "narrow wide golden quiet busy warm cold shiny")
ADVERBS = _words("slightly gently softly partially brightly clearly")
PREPOSITIONS = _words("on in under near beside behind above across with of")
VERBS = _words("sits stands rests hangs leans lies grows shines walks holds")
BATCH_ROWS = 256


def make_caption(rng: random.Random, words: int = 130) -> str:
    """A ~130-word caption of simple descriptive sentences."""
    out: list[str] = []
    while len(out) < words:
        sentence = ["A", rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(VERBS),
                    rng.choice(ADVERBS), rng.choice(PREPOSITIONS), "the",
                    rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(PREPOSITIONS), "a",
                    rng.choice(NOUNS) + "."]
        out.extend(sentence)
    text = " ".join(out[:words])
    return text if text.endswith(".") else text + "."


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_stage(texts: list[str], runs: int, blis_runs: int) -> tuple[float, float, float]:
    """Words/s of the bare ``nlp.pipe`` (our backend), of our stage, and of the bare
    ``nlp.pipe`` on thinc's BLIS (0.0 when ``blis_runs`` is 0)."""
    nlp = load_tagger()
    blis_nlp = load_tagger(numpy_blas=False) if blis_runs else None
    stage = CaptionStats(text_columns={"caption": ""})
    n_words = sum(len(t.split()) for t in texts)
    table = pa.table({"caption": pa.array(texts, pa.string())})
    batches = [table.slice(i, BATCH_ROWS) for i in range(0, len(texts), BATCH_ROWS)]

    def bare(pipeline) -> None:
        for _doc in pipeline.pipe(texts, batch_size=BATCH_ROWS):
            pass

    def ours() -> None:
        for batch in batches:
            stage(batch)

    # Warm-up: first calls allocate spaCy's and the BPE caches' working memory.
    for pipeline in (nlp, blis_nlp) if blis_nlp else (nlp,):
        for _doc in pipeline.pipe(texts[:200], batch_size=BATCH_ROWS):
            pass
    stage(table.slice(0, 200))
    sides = {"bare": lambda: bare(nlp), "ours": ours, "blis": lambda: bare(blis_nlp)}
    times: dict[str, list[float]] = {name: [] for name in sides}
    for run in range(max(runs, blis_runs)):
        # interleaved, so machine load hits all alike, and the order reversed in every
        # other run, so no side always inherits another's heap and caches
        order = [name for name in sides if run < (blis_runs if name == "blis" else runs)]
        for name in order if run % 2 == 0 else order[::-1]:
            times[name].append(timed(sides[name]))
    rates = [n_words / statistics.median(times[name]) if times[name] else 0.0
             for name in sides]
    labels = {"bare": "bare nlp.pipe:", "ours": "CaptionStats stage:",
              "blis": "bare nlp.pipe, BLIS:"}
    for (name, label), rate in zip(labels.items(), rates, strict=True):
        if times[name]:
            print(f"{label:22s}{rate:,.0f} words/s  (runs: "
                  + ", ".join(f"{s:.1f}s" for s in times[name]) + ")")
    bare_wps, ours_wps, blis_wps = rates
    return bare_wps, ours_wps, blis_wps


# One command run, as a fresh process runs it: imports, model loading, reading the
# manifest, the stage, writing partials. With RAY_ADDRESS set, compute_text_stats joins
# that cluster (as a job's driver does) instead of starting Ray.
_COMMAND = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from stats.compute import compute_text_stats
from stats.inputs import open_input
summary = compute_text_stats([open_input(Path(sys.argv[1]))], Path(sys.argv[2]),
                             alt_column=None, workers=int(sys.argv[3]))
assert summary.rows > 0
"""


def run_command(manifest: Path, out: Path, workers: int, address: str | None) -> float:
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    if address:
        env["RAY_ADDRESS"] = address
    root = str(Path(__file__).resolve().parents[1])
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _COMMAND, str(manifest), str(out), str(workers),
                    root], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_workers(texts: list[str], work: Path, runs: int) -> float:
    manifest = work / "captions" / "captions.parquet"
    manifest.parent.mkdir(parents=True)
    pq.write_table(pa.table({"id": [str(i) for i in range(len(texts))], "caption": texts}),
                   manifest, row_group_size=2048)
    n_words = sum(len(t.split()) for t in texts)
    one, two = [], []
    with ray_head(cpus=2) as address:
        for run in range(runs):  # alternating, so drift in the machine's load hits both
            sides = [(one, 1, None), (two, 2, address)]
            for times, workers, ray_address in sides if run % 2 == 0 else sides[::-1]:
                times.append(run_command(manifest, work / f"w{workers}", workers,
                                         ray_address))
    speedup = statistics.median(one) / statistics.median(two)
    print(f"command, 1 worker:    {n_words / statistics.median(one):,.0f} words/s  (runs: "
          + ", ".join(f"{s:.1f}s" for s in one) + ")")
    print(f"command, 2 Ray workers: {n_words / statistics.median(two):,.0f} words/s  (runs: "
          + ", ".join(f"{s:.1f}s" for s in two) + f"); speed-up {speedup:.2f}x")
    return speedup


def write_big_manifest(run_dir: Path, rows: int, files: int = 10) -> None:
    """Manifest columns the tables read, filled with plausible values, no texts."""
    rng = np.random.default_rng(0)
    vocab = pa.array([f"{n}{k}" for n in NOUNS for k in range(50)])  # 2,000 nouns
    (run_dir / "manifests").mkdir(parents=True)
    per_file = rows // files
    for f in range(files):
        n = per_file
        status = rng.choice(np.array(["kept"] * 8 + ["rejected", "error"]), n)
        kept = status == "kept"

        def counts(mean: float, size: int = n, where=kept) -> pa.Array:
            values = rng.poisson(mean, size).astype(np.int32)
            return pa.array(values, pa.int32(), mask=~where)

        def noun_lists(mean: float, where=kept, size: int = n) -> pa.Array:
            lengths = rng.poisson(mean, size)
            offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
            values = vocab.take(pa.array(rng.zipf(1.3, offsets[-1]) % len(vocab)))
            return pa.ListArray.from_arrays(offsets, values, mask=pa.array(~where))

        alt = np.ones(n, dtype=bool)
        columns = {
            "id": pa.array([f"{f}-{i}" for i in range(n)]),
            "source": pa.array(rng.choice(np.array(["laion", "sa1b"]), n)),
            "source_key": pa.array([str(i) for i in range(n)]),
            "shard_id": pa.array([str(f)] * n),
            "run_id": pa.array(["bench"] * n),
            "schema_version": pa.array([SCHEMA_VERSION] * n, pa.int32()),
            "status": pa.array(status),
            "short_edge": pa.array(rng.integers(512, 2048, n).astype(np.int32)),
            "caption_model": pa.array(rng.choice(np.array(["cogvlm", "llava"]), n),
                                      mask=~kept),
            "n_words": counts(132.9), "n_nouns": counts(46.8), "n_adj_adv": counts(20),
            "n_prep": counts(16), "n_clip_tokens": counts(160), "n_sentences": counts(8),
            "nouns": noun_lists(30),
            "alt_n_words": counts(11.3, where=alt), "alt_n_nouns": counts(6.8, where=alt),
            "alt_n_adj_adv": counts(1, where=alt), "alt_n_prep": counts(2, where=alt),
            "alt_n_clip_tokens": counts(14, where=alt), "alt_n_sentences": counts(1, where=alt),
            "alt_nouns": noun_lists(5, where=alt),
        }
        arrays = [columns[f.name] if f.name in columns else pa.nulls(n, f.type)
                  for f in MANIFEST_SCHEMA]
        table = pa.Table.from_arrays(arrays, schema=MANIFEST_SCHEMA)
        pq.write_table(table, run_dir / "manifests" / f"shard-{f:05d}.parquet")


def bench_tables(work: Path, rows: int, runs: int) -> float:
    run_dir = work / "run"
    write_big_manifest(run_dir, rows)
    manifests = sorted((run_dir / "manifests").glob("*.parquet"))
    glob = str(run_dir / "manifests" / "*.parquet")
    # As the recaption job does: each shard rolled up as its manifest is written.
    rollup_s = timed(lambda: [write_rollups(run_dir, [m]) for m in manifests])
    con = connect()
    create_run_views(con, run_dir)
    scan_s, cold_s, tables_s = [], [], []
    for _ in range(runs):
        scan_s.append(timed(lambda: con.execute(
            f"SELECT count(*), avg(n_words) FROM read_parquet('{glob}')").fetchall()))
        # a run without rollups (or a read-only copy): rolled up from the rows here
        cold_s.append(timed(lambda: compute_tables(con, words=False)))
        # what the run report does: check the rollups are fresh, then merge them
        tables_s.append(timed(lambda: compute_tables(
            con, words=False, rollup=update_rollups(run_dir).run_rollup)))
    cold = compute_tables(con, words=False)
    warm = compute_tables(con, words=False, rollup=update_rollups(run_dir).run_rollup)
    assert all(warm[name].equals(table) for name, table in cold.items()), "paths differ"
    scan, cold_t, tables = (statistics.median(x) for x in (scan_s, cold_s, tables_s))
    print(f"{rows:,}-row manifest in {len(manifests)} shards, medians: "
          f"bare scan {scan * 1000:.0f} ms")
    print(f"  rollups written per shard (once, as the job writes manifests): "
          f"{rollup_s * 1000:.0f} ms in all ({rollup_s / scan:.1f}x scan)")
    print(f"  all tables but words, rolled up from the rows (no rollups): {cold_t * 1000:.0f} ms "
          f"({cold_t / scan:.1f}x scan)")
    print(f"  all tables but words, from the rollups: {tables * 1000:.0f} ms "
          f"({tables / scan:.2f}x scan; runs: " + ", ".join(f"{s:.3f}s" for s in tables_s)
          + "); identical tables")
    print(f"RATIO tables_from_rows_vs_scan={cold_t / scan:.2f}")
    return tables / scan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of the spaCy parts")
    parser.add_argument("--blis-runs", type=int, default=1,
                        help="runs of the bare nlp.pipe on thinc's BLIS (0: none)")
    parser.add_argument("--table-runs", type=int, default=3, help="runs of the DuckDB part")
    parser.add_argument("--skip-stage", action="store_true", help="no stage-vs-spaCy run")
    parser.add_argument("--skip-workers", action="store_true", help="no Ray run")
    args = parser.parse_args()
    rng = random.Random(0)
    texts = [make_caption(rng) for _ in range(args.captions)]
    print(f"{len(texts):,} captions, {sum(len(t.split()) for t in texts):,} words")
    work = Path(tempfile.mkdtemp(prefix="stats-bench-"))
    try:
        if not args.skip_stage:
            bare_wps, ours_wps, blis_wps = bench_stage(texts, args.runs, args.blis_runs)
            if blis_wps:
                print(f"RATIO stats_vs_spacy_blis={ours_wps / blis_wps:.3f}")
            print(f"RATIO stats_vs_bare_spacy={ours_wps / bare_wps:.3f}", flush=True)
        if not args.skip_workers:
            speedup = bench_workers(texts, work, args.runs)
            print(f"RATIO workers2_speedup={speedup:.2f}")
        ratio = bench_tables(work, args.rows, args.table_runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"RATIO tables_vs_scan={ratio:.2f}")


if __name__ == "__main__":
    main()
