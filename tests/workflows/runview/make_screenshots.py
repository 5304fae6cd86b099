"""Screenshots of a run report in headless Chromium, for docs/screenshots/.

    .venv/bin/python tests/workflows/runview/make_screenshots.py docs/screenshots [RUN_DIR]

Without RUN_DIR it reports the synthetic run of the tests. Not a test (no ``test_``
prefix); it uses the same browser settings as test_report_browser.py.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[2]))

from playwright.sync_api import sync_playwright  # noqa: E402
from report_run import make_report_run  # noqa: E402
from test_report_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

from workflows.runview.report import write_report  # noqa: E402


def main(out_dir: Path, run_dir: Path | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="report-shots-"))
    run_dir = run_dir or make_report_run(work / "run")
    index = write_report(run_dir, work / "report")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(index.as_uri(), wait_until="load")
        page.screenshot(path=str(out_dir / "13-run-report.png"))
        page.evaluate("document.getElementById('kept').scrollIntoView()")
        page.screenshot(path=str(out_dir / "14-run-report-gallery.png"))
        page.evaluate("document.getElementById('rejected').scrollIntoView()")
        page.screenshot(path=str(out_dir / "15-run-report-rejects.png"))
        browser.close()
    print(f"screenshots of {index} in {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
