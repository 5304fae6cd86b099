"""Runs the whole ParaImage-Small workflow in headless Chromium, from a recaption
run's manifests to the exported Parquet, and saves a screenshot of each screen.

    .venv/bin/python tests/annotation_tool/e2e/make_screenshots.py docs/screenshots

Not a test (no ``test_`` prefix); it uses the same server and browser set-up.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[2]))

import pyarrow.parquet as pq  # noqa: E402
import uvicorn  # noqa: E402
from browser_support import CHROMIUM, CHROMIUM_ARGS, LiveServer, free_port, ui_login  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from review_factories import GOOD_DESCRIPTION  # noqa: E402

from annotation_tool.app import create_app  # noqa: E402
from annotation_tool.contexts import accounts  # noqa: E402
from annotation_tool.database import session_scope  # noqa: E402
from annotation_tool.demo import write_demo_run  # noqa: E402
from annotation_tool.settings import Settings, sqlite_url  # noqa: E402

PASSWORD = "demo password"


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="review-shots-"))
    run = write_demo_run(work / "run")
    settings = Settings(
        database_url=sqlite_url(work / "review.db"),
        image_roots=(run / "images",),
        thumbnail_dir=work / "thumbs",
        manifest_roots=(work,),
    )
    app = create_app(settings)
    with session_scope(app.state.write_sessions) as db:
        accounts.create_user(db, "ada", PASSWORD, "admin")
        for name in ("ann", "bob"):
            accounts.create_user(db, name, PASSWORD, "annotator")
        for i in range(1, 5):
            accounts.create_user(db, f"rev{i}", PASSWORD, "reviewer")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    live = LiveServer(f"http://127.0.0.1:{port}", settings)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            workflow(browser, live, run, out_dir, work)
            browser.close()
    finally:
        server.should_exit = True


def page_for(browser, live: LiveServer, user: str, path: str) -> Page:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    ui_login(page, live, user, PASSWORD, path)
    return page


def shot(page: Page, out: Path, name: str) -> None:
    page.wait_for_timeout(300)  # let the image finish painting
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"saved {out / name}.png")


def workflow(browser, live: LiveServer, run: Path, out: Path, work: Path) -> None:  # type: ignore[no-untyped-def]
    login = browser.new_page(viewport={"width": 1440, "height": 900})
    login.goto(f"{live.url}/login")
    shot(login, out, "01-login")

    admin = page_for(browser, live, "ada", "/projects")
    admin.fill("#project-name", "ParaImage-Small demo")
    admin.click("#project-create")
    admin.wait_for_url("**/projects/1")
    admin.goto(f"{live.url}/projects/1/dashboard")
    admin.fill("#import-run-dir", str(run))
    admin.fill("#import-short-edge", "2000")
    admin.click("#import-preview")  # a bound above every image: the preview says so
    expect(admin.locator("#import-explanation")).to_contain_text("largest kept short edge")
    admin.locator("#import-explanation").scroll_into_view_if_needed()
    shot(admin, out, "02-dashboard-import")
    admin.fill("#import-short-edge", "300")
    admin.click("#import-preview")
    expect(admin.locator("#import-submit")).to_have_text("Import 6 image(s)")
    admin.click("#import-submit")
    expect(admin.locator("#import-result")).to_contain_text("imported 6")

    ann = page_for(browser, live, "ann", "/projects/1/tasks/selection")
    first = True
    fives: set[str] = set()  # the astronaut and one more image are scored 5
    while True:
        ann.wait_for_function(
            "() => document.querySelector('#item-meta').textContent.startsWith('item ')"
            " || document.querySelector('#status').textContent.includes('queue is empty')"
        )
        meta = ann.locator("#item-meta").inner_text()
        if not meta:
            break
        key = meta.split(" · ")[1]
        if "astronaut" in meta or not fives:  # ids come in order: this one is described first
            fives.add(key)
        ann.locator("#checklist input[value=S1]").check()
        ann.keyboard.press("5" if key in fives else "3")
        if first:
            shot(ann, out, "03-selection")
            first = False
        ann.keyboard.press("Enter")
        expect(ann.locator("#item-meta")).not_to_have_text(meta)

    # Blind inspection (the default): each inspector scores without seeing the others.
    for i, reviewer in enumerate(("rev1", "rev2")):
        page = page_for(browser, live, reviewer, "/projects/1/tasks/inspection")
        for n in range(6):
            expect(page.locator("#blind-note")).to_be_visible()
            expect(page.locator("#item-meta")).to_contain_text("item ")
            meta = page.locator("#item-meta").inner_text()
            page.keyboard.press("5" if meta.split(" · ")[1] in fives else "3")
            if n == 0:
                shot(page, out, "04-inspection" if i == 0 else "17-blind-inspection")
            page.keyboard.press("Enter")
            expect(page.locator("#item-meta")).not_to_have_text(meta)

    # The first description on offer is skipped as "not a 5"; it goes to bob.
    ann.goto(f"{live.url}/projects/1/tasks/description")
    editor = ann.locator("#editor")
    expect(editor).not_to_have_value("")
    if "astronaut" not in ann.locator("#item-meta").inner_text():
        ann.fill("#skip-comment", "little to describe beyond the one object")
        ann.click("#skip-bar button[data-reason=not_a_5]")
        expect(ann.locator("#last-action")).to_contain_text("skipped as not a 5")
        expect(ann.locator("#item-meta")).to_contain_text("astronaut")
    expect(ann.locator("#progress [data-figure=skipped]")).to_have_text("1 skipped")
    shot(ann, out, "16-description-skip-progress")
    editor.fill("This image depicts an astronaut. It might be a famous one.")
    expect(ann.locator("#checks li[data-rule=D7]")).to_have_class("bad")
    shot(ann, out, "05-description-violations")
    editor.fill(GOOD_DESCRIPTION)
    expect(ann.locator("#save-state")).to_have_text("saved")
    shot(ann, out, "06-description-ok")
    ann.click("#submit")
    expect(ann.locator("#status")).to_have_text("Nothing waits for you here now.")

    rev = page_for(browser, live, "rev1", "/projects/1/tasks/audit")
    expect(rev.locator("#description")).to_have_text(GOOD_DESCRIPTION)
    astronaut = int(rev.locator("#item-meta").inner_text().split(" · ")[0].removeprefix("item "))
    rev.locator("#broken-rules input[value=D5]").check()
    rev.fill("#comment", "Give the colours of the patches on the suit.")
    shot(rev, out, "07-audit")
    rev.click("#reject")
    expect(rev.locator("#status")).to_have_text("Nothing waits for an audit now.")

    ann.goto(f"{live.url}/projects/1/tasks/revision")
    expect(ann.locator("#rejection-list li")).to_contain_text("Give the colours")
    ann.locator("#editor").fill(GOOD_DESCRIPTION.replace("several round", "two round"))
    expect(ann.locator("#save-state")).to_have_text("saved")
    shot(ann, out, "08-revision")
    ann.click("#submit")
    expect(ann.locator("#status")).to_have_text("Nothing waits for you here now.")

    for reviewer in ("rev1", "rev2", "rev3", "rev4"):
        page = page_for(browser, live, reviewer, "/projects/1/tasks/audit")
        expect(page.locator("#description")).not_to_have_text("")
        expect(page.locator("#revision")).to_be_visible()
        if reviewer == "rev2":
            expect(page.locator("#diff ins")).to_have_text(["two "])
            shot(page, out, "18-audit-revision-diff")
        page.click("#accept")
        expect(page.locator("#status")).to_have_text("Nothing waits for an audit now.")

    admin.goto(f"{live.url}/items/{astronaut}/history")
    expect(admin.locator("#timeline li.revision")).to_be_visible()
    shot(admin, out, "19-history-timeline")

    admin.goto(f"{live.url}/projects/1/dashboard")
    expect(admin.locator("#progress")).to_contain_text("done")
    shot(admin, out, "09-dashboard")
    with admin.expect_download() as info:
        admin.click("#export-parquet")
    export = work / "paraimage-small.parquet"
    info.value.save_as(export)
    rows = pq.read_table(export).to_pylist()
    summary = [(r["source_key"], r["annotator"], r["reviewers"]) for r in rows]
    print(f"exported {len(rows)} row(s): {summary}")

    admin.goto(f"{live.url}/projects")
    admin.fill("#project-name", "Caption study")
    admin.select_option("#project-kind", "caption_study")
    admin.click("#project-create")
    admin.wait_for_url("**/projects/2")
    admin.goto(f"{live.url}/projects/2/dashboard")
    admin.fill("#import-run-dir", str(run))
    admin.fill("#import-aesthetic", "6.5")
    admin.fill("#import-short-edge", "300")
    admin.fill("#import-limit", "2")
    admin.click("#import-submit")
    expect(admin.locator("#import-result")).to_contain_text("imported 2")
    for k, assessor in enumerate(("ann", "bob", "rev1")):
        page = page_for(browser, live, assessor, "/projects/2/tasks/study")
        for item_no in range(2):
            expect(page.locator(".caption").first).to_be_visible()
            meta = page.locator("#item-meta").inner_text()
            for c, caption in enumerate(page.locator(".caption").all()):
                for a in range(3):  # completeness, relevance, fantasy
                    score = 5 - ((c + a + k) % 3)
                    caption.locator(f".scale:nth-of-type({a + 1}) input[value='{score}']").check()
            if k == 0 and item_no == 0:
                shot(page, out, "10-caption-study")
            page.click("#submit")
            expect(page.locator("#item-meta")).not_to_have_text(meta)
    admin.goto(f"{live.url}/projects/2/dashboard")
    expect(admin.locator("#study-results tbody tr")).to_have_count(3)
    admin.locator("#study-results").scroll_into_view_if_needed()
    shot(admin, out, "11-caption-study-results")

    admin.goto(f"{live.url}/admin/users")
    expect(admin.locator("#users tbody tr")).to_have_count(7)
    shot(admin, out, "12-users")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
