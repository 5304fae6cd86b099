from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from report_run import make_report_run
from runview_helpers import T0, build_run, row

from curation.image_ref import file_ref
from filters.mosaic_eval.legacy import generate
from paraimage.rundir import RunDir
from paraimage.summary import RunSummary, summarize
from workflows.cli import main
from workflows.runview.captioners import compare_captioners
from workflows.runview.cards import MOSAIC_NOTES
from workflows.runview.findings import findings
from workflows.runview.markdown import markdown_to_html
from workflows.runview.regions import run_mosaic_config
from workflows.runview.report import ReportOptions, funnel_steps, write_report
from workflows.runview.sampling import connect, draw_sample


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_report_run(tmp_path / "run")


def cards(html: str) -> list[tuple[str, str]]:
    """(status, id) of every card, in page order."""
    return re.findall(r'<article class="card (\w+)" id="row-(\w+)"', html)


def md5_order(ids: list[str], seed: int) -> list[str]:
    return sorted(ids, key=lambda i: hashlib.md5(f"{i}:{seed}".encode()).hexdigest())


def test_sample_is_seeded_round_robin_over_sources(run: Path) -> None:
    con = connect(RunDir(run).manifest_files())
    kept = {source: [r[0] for r in con.execute(
        "SELECT id FROM m WHERE status = 'kept' AND source = ?", [source]).fetchall()]
        for source in ("photos", "laion")}
    for seed in (0, 1):
        sample = draw_sample(con, n=5, per_group=2, seed=seed)
        photos, laion = md5_order(kept["photos"], seed), md5_order(kept["laion"], seed)
        # each source's first rows by hash first, then the next ones: rank, then hash
        ranked = sorted([(rank, hashlib.md5(f"{i}:{seed}".encode()).hexdigest(), i)
                         for ids in (photos, laion) for rank, i in enumerate(ids)])
        assert [r["id"] for r in sample.kept] == [i for _, _, i in ranked[:5]]
        assert sorted(r["source"] for r in sample.kept) == ["laion"] * 2 + ["photos"] * 3
        assert {k: len(v) for k, v in sample.rejected.items()} == {
            "dedup_exact": 1, "mosaic_pixelated": 1, "resolution_short_edge": 2}
        assert {k: len(v) for k, v in sample.errors.items()} == {
            "decode_corrupt": 1, "download_http_404": 1}
    assert draw_sample(con, 5, 2, seed=3) == draw_sample(con, 5, 2, seed=3)


def test_report_page(run: Path) -> None:
    index = write_report(run)
    assert index == run / "report" / "index.html"
    html = index.read_text()
    statuses = [status for status, _ in cards(html)]
    assert statuses.count("kept") == 9
    assert statuses.count("rejected") == 5
    assert statuses.count("error") == 2
    # every sampled row with a readable image has its thumbnail; the corrupt file and
    # the 404 have none
    assert len(list((run / "report" / "thumbs").glob("*.jpg"))) == 14
    assert html.count("no thumbnail: not an image Pillow can decode") == 1
    assert html.count("no thumbnail: no image_ref") == 1
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sources and all(not re.match(r"[a-z]+:", s) for s in sources), sources
    assert all(s.startswith(("thumbs/", "#")) for s in sources)
    # every error kind and reject reason of the summary links to its examples
    for anchor in ("error-decode_corrupt", "error-download_http_404",
                   "rejected-resolution_short_edge", "rejected-mosaic_pixelated",
                   "rejected-dedup_exact"):
        assert f'href="#{anchor}"' in html
        assert f'id="{anchor}"' in html
    # a flat colour has no region: detected again, none found
    assert html.count(MOSAIC_NOTES["none"]) == 1
    first = re.search(r'<ol class="findings">\s*<li><a href="([^"]*)"[^>]*>([^<]*)<', html)
    assert first.groups() == (
        "#kept", "3 of 9 captions truncated: raise max_tokens "
        "(captioner.sampling.max_tokens) or lower captioner.target_words")
    assert "This run has no statistics report" in html


def test_report_cli_sample_and_stale_thumbnails(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"report: {out / 'index.html'}\n"
    assert len(list((out / "thumbs").glob("*.jpg"))) == 14
    assert main(["report", str(run), "--out", str(out), "--sample", "2",
                 "--per-reason", "1", "--seed", "7"]) == 0
    html = (out / "index.html").read_text()
    statuses = [status for status, _ in cards(html)]
    assert (statuses.count("kept"), statuses.count("rejected"), statuses.count("error")) == (
        2, 3, 2)
    assert len(list((out / "thumbs").glob("*.jpg"))) == 5  # the first report's are gone


def test_report_cli_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifests").mkdir()
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path} has no manifests yet: nothing to report\n"
    with pytest.raises(ValueError, match="--sample must be 0..5000, not -1"):
        ReportOptions(sample=-1)


def test_captioners_compared(run: Path) -> None:
    con = connect(RunDir(run).manifest_files())
    assert compare_captioners(con) == [
        {"captioner": "cogvlm", "variant": "150w", "model": "cogvlm-model", "captions": 6,
         "ok": 6, "rejected": 0, "error": 0, "mean_words": 4.0, "mean_tokens": 8.0,
         "truncated": 0, "repetitive": 1},
        {"captioner": "llava", "variant": "10w", "model": "llava-model", "captions": 6,
         "ok": 6, "rejected": 0, "error": 0, "mean_words": 2.0, "mean_tokens": 4.0,
         "truncated": 0, "repetitive": 0},
        {"captioner": "llava", "variant": "150w", "model": "llava-model", "captions": 9,
         "ok": 9, "rejected": 0, "error": 0, "mean_words": 6.0, "mean_tokens": 12.0,
         "truncated": 3, "repetitive": 0},
    ]


def test_findings_first_is_the_largest_share() -> None:
    summary = RunSummary(
        inputs=26, by_status={"kept": 13, "rejected": 8, "error": 5},
        by_reject_reason={"resolution_short_edge": 8}, by_error_kind={"decode_corrupt": 5},
        by_caption_flag={"truncated": 13}, by_caption_model={"m": 13},
    )
    assert [f.text for f in findings(summary)] == [
        "13 of 13 captions truncated: raise max_tokens (captioner.sampling.max_tokens) or "
        "lower captioner.target_words",
        "8 of 26 rows rejected as resolution_short_edge: judge its threshold by eye in the "
        "rejected gallery",
        "5 of 26 rows are decode_corrupt errors: broken or unusual files in the source: see "
        "the examples",
    ]


def test_funnel_from_the_jobs_funnel_table(run: Path) -> None:
    summary = summarize(RunDir(run).manifest_files())
    by_reason = [(s.label, s.passed, s.removed) for s in funnel_steps(run, summary)]
    assert by_reason == [("inputs", 16, 0), ("errors", 14, 2),
                         ("resolution_short_edge", 11, 3), ("dedup_exact", 10, 1),
                         ("mosaic_pixelated", 9, 1), ("kept", 9, 0)]
    (run / "funnel").mkdir()
    pq.write_table(pa.table({"filter": ["resolution", "mosaic"], "saw": [14, 11],
                             "rejected": [3, 1], "passed": [11, 10]}),
                   run / "funnel" / "funnel.parquet")
    assert [(s.label, s.passed, s.removed) for s in funnel_steps(run, summary)] == [
        ("inputs", 16, 0), ("errors", 14, 2), ("resolution", 11, 3), ("mosaic", 10, 1),
        ("kept", 9, 0)]


def test_stats_report_is_shown_with_its_plots(run: Path) -> None:
    stats = run / "stats"
    (stats / "plots").mkdir(parents=True)
    (stats / "plots" / "top_nouns.png").write_bytes(b"\x89PNG fake")
    (stats / "report.md").write_text(
        "# Caption statistics: run\n\nGenerated now. Kept rows only.\n\n## Funnel\n\n"
        "| source | reason |\n|---|---|\n| a\\|b | `x<y` |\n\n"
        "![top_nouns](plots/top_nouns.png)\n")
    html = write_report(run).read_text()
    assert (run / "report" / "stats" / "plots" / "top_nouns.png").read_bytes() == (
        b"\x89PNG fake")
    assert ('<table class="stats"><thead><tr><th>source</th><th>reason</th></tr></thead>'
            "<tbody><tr><td>a|b</td><td><code>x&lt;y</code></td></tr></tbody></table>") in html
    assert '<img src="stats/plots/top_nouns.png" alt="top_nouns">' in html


def test_markdown_headings_and_paragraphs() -> None:
    assert markdown_to_html("# T\n\nline one\nline <two>\n\n## Sub") == (
        "<h2>T</h2>\n<p>line one line &lt;two&gt;</p>\n<h3>Sub</h3>")


def test_mosaic_region_is_detected_again_and_drawn(tmp_path: Path) -> None:
    sample = next(generate(1, seed=0, categories=("pixelate_avg",)))
    image = tmp_path / "pixelated.png"
    sample.image.save(image)
    width, height = sample.image.size
    assert (width, height) == (525, 428)
    build_run(tmp_path / "run", {"s0": ([row(
        "photos", "m", "s0", "rejected", image_ref=file_ref(image), width=width,
        height=height, mosaic_score=55.1, mosaic_detected=True,
        reject_reason="mosaic_detected")], T0)})
    # An older run (no mosaic_boxes in its manifest) whose filter was the hand-built one.
    (tmp_path / "run" / "config.yaml").write_text(
        "fingerprint: x\nconfig:\n  filters:\n    mosaic: {detector: hand_built}\n")
    html = write_report(tmp_path / "run").read_text()
    # detect_mosaic's box (y0, x0, y1, x1) = (128, 240, 288, 368) over the image, in %
    assert ('<div class="box" title="detected mosaic region" style="left:45.71%;'
            'top:29.91%;width:24.38%;height:37.38%"></div>') in html
    assert MOSAIC_NOTES["redetected"] in html


def test_the_runs_own_mosaic_settings(tmp_path: Path) -> None:
    assert run_mosaic_config(tmp_path).threshold == 1.0  # no config.yaml: the defaults
    (tmp_path / "config.yaml").write_text(
        "fingerprint: x\nconfig:\n  filters:\n    mosaic: {mode: on, threshold: 2.5}\n")
    assert run_mosaic_config(tmp_path).threshold == 2.5
