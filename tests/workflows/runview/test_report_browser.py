"""The report in a real headless Chromium (Debian's, via Playwright), opened from disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from report_run import make_report_run

from workflows.runview.report import write_report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def opened(tmp_path: Path, browser: Browser) -> Iterator[tuple[Page, Path, list[str]]]:
    """The report's page, every request it made, and those outside its folder (aborted)."""
    index = write_report(make_report_run(tmp_path / "run"))
    folder = index.parent.resolve().as_uri() + "/"
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    requests: list[str] = []
    outside: list[str] = []

    def route(r: Route) -> None:
        requests.append(r.request.url)
        if r.request.url.startswith(folder):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.goto(index.as_uri())
    page.wait_for_load_state("load")
    yield page, index, outside
    assert requests[0] == index.as_uri()
    assert sum("/thumbs/" in url for url in requests) == 14
    context.close()


def visible(page: Page, selector: str) -> int:
    return page.locator(f"{selector}:visible").count()


def test_gallery_shows_images_captions_and_flags(opened: tuple[Page, Path, list[str]]) -> None:
    page, index, outside = opened
    kept = page.locator("#kept .card")
    expect(kept).to_have_count(9)
    widths = page.eval_on_selector_all("#kept img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == 9 and all(w > 0 for w in widths)
    p0 = page.locator(".card", has_text="photos").filter(has_text="A photo number 0 in")
    expect(p0.locator(".variant")).to_have_count(3)
    expect(p0.locator(".variant h4")).to_have_text(["llava · 150w", "llava · 10w",
                                                     "cogvlm · 150w"])
    expect(p0.locator(".variant").first.locator(".flag")).to_have_text(["truncated"])
    expect(p0.locator(".flags").first).to_have_text("truncated")
    expect(page.locator("#kept .variant.flagged")).to_have_count(4)  # 3 truncated, 1 repetitive
    expect(page.locator("#rejected-mosaic_pixelated .note")).to_have_text(
        "detected again for this report: no region found")
    expect(page.locator("#shown")).to_have_text("16 of 16 examples shown")
    assert outside == []
    shots = index.parent / "shots"
    page.locator("#funnel").screenshot(path=str(shots / "funnel.png"))
    page.screenshot(path=str(shots / "page.png"), full_page=True)
    assert (shots / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the observer sees what leaves the folder: a request the page did not make
    assert page.evaluate("fetch('https://example.invalid/x.png').then(() => 1, () => 0)") == 0
    assert outside == ["https://example.invalid/x.png"]


def test_filters(opened: tuple[Page, Path, list[str]]) -> None:
    page, _, outside = opened
    page.select_option("#f-source", "laion")
    expect(page.locator("#shown")).to_have_text("5 of 16 examples shown")
    assert visible(page, "#kept .card") == 3
    assert visible(page, "#errors .card") == 1
    page.click("#f-reset")
    page.select_option("#f-captioner", "cogvlm")
    expect(page.locator("#shown")).to_have_text("6 of 16 examples shown")
    page.select_option("#f-flag", "repetitive")
    expect(page.locator("#shown")).to_have_text("1 of 16 examples shown")
    expect(page.locator("#kept .card:visible")).to_contain_text("Cogvlm sees photo 1.")
    page.click("#f-reset")
    page.select_option("#f-reason", "resolution_short_edge")
    expect(page.locator("#shown")).to_have_text("3 of 16 examples shown")
    expect(page.locator("#kept .none")).to_be_visible()
    expect(page.locator("#rejected-resolution_short_edge .none")).to_be_hidden()
    # the other reasons' and kinds' sections fold away, and come back on reset
    expect(page.locator("#rejected-dedup_exact")).to_be_hidden()
    expect(page.locator("#error-decode_corrupt")).to_be_hidden()
    page.click("#f-reset")
    expect(page.locator("#rejected-dedup_exact")).to_be_visible()
    page.select_option("#f-reason", "resolution_short_edge")
    # a finding's flag link sets the flag filter
    page.click("#look a[data-set-flag=truncated]")
    expect(page.locator("#f-flag")).to_have_value("truncated")
    expect(page.locator("#f-reason")).to_have_value("")
    expect(page.locator("#shown")).to_have_text("3 of 16 examples shown")
    assert outside == []
