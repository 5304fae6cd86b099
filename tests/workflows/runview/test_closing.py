from __future__ import annotations

from pathlib import Path

from report_run import make_report_run

from paraimage.rundir import RunDir
from paraimage.summary import RunSummary, summarize
from workflows.runview.closing import closing_lines
from workflows.runview.findings import findings


def test_report_path_and_what_to_look_at(tmp_path: Path) -> None:
    run = make_report_run(tmp_path / "run")
    summary = summarize(RunDir(run).manifest_files())
    assert closing_lines(run, summary) == [
        f"report: {run / 'report' / 'index.html'}",
        "look first: 3 of 9 captions truncated: raise max_tokens "
        "(captioner.sampling.max_tokens) or lower captioner.target_words (5 more in the "
        "report)",
    ]
    assert (run / "report" / "index.html").exists()


def test_a_report_that_fails_is_a_line(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    assert closing_lines(tmp_path, RunSummary()) == [
        f"report: not written (ValueError: {tmp_path} has no manifests yet: nothing to "
        f"report); `paraimage report {tmp_path}` retries it",
        "look first: nothing (no caption flag, no reject, no error)",
    ]


def test_truncated_comes_first_among_equal_shares() -> None:
    summary = RunSummary(inputs=13, by_status={"kept": 13},
                         by_caption_flag={"non_english": 13, "truncated": 13},
                         by_caption_model={"m": 13})
    assert [f.flag for f in findings(summary)] == ["truncated", "non_english"]
