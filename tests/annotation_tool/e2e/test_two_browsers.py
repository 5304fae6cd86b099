"""Two annotators in two browsers at once never get the same item."""

from __future__ import annotations

from browser_support import ui_login
from playwright.sync_api import Page, expect
from review_factories import PASSWORD, make_item, make_project, make_user

from annotation_tool.models import Score

EMPTY = "The queue is empty. Thank you!"


def shown_item(page: Page) -> int | None:
    """The item on screen, or None once the page says the queue is empty."""
    page.wait_for_function(
        "() => document.querySelector('#item-meta').textContent.startsWith('item ')"
        " || document.querySelector('#status').textContent.includes('queue is empty')"
    )
    text = page.locator("#item-meta").inner_text()
    return int(text.split(" · ")[0].removeprefix("item ")) if text else None


def score_and_wait(page: Page, item_id: int) -> None:
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    # Wait until this page moved on: a different item, or the empty-queue message.
    expect(page.locator("#item-meta")).not_to_contain_text(f"item {item_id} ")


def test_two_annotators_never_share_an_item(live_server, new_page, db, images, fresh):
    make_user(db, "ann", "annotator")
    make_user(db, "bob", "annotator")
    project = make_project(db)
    items = [make_item(db, project, path, image_id=name) for name, path in sorted(images.items())]
    url = f"/projects/{project.id}/tasks/selection"
    pages = {"ann": new_page(), "bob": new_page()}
    for name, page in pages.items():
        ui_login(page, live_server, name, PASSWORD, url)
    seen: dict[str, list[int]] = {"ann": [], "bob": []}
    rounds = 0
    while True:
        current = {name: shown_item(page) for name, page in pages.items()}
        if current["ann"] is None and current["bob"] is None:
            break
        assert current["ann"] != current["bob"], current  # never the same item at once
        for name, page in pages.items():
            if current[name] is not None:
                seen[name].append(current[name])
                score_and_wait(page, current[name])
        rounds += 1
        assert rounds <= len(items)
    for page in pages.values():
        expect(page.locator("#status")).to_have_text(EMPTY)
    assert not set(seen["ann"]) & set(seen["bob"])
    assert sorted(seen["ann"] + seen["bob"]) == sorted(i.id for i in items)
    assert len(seen["ann"]) > 0 and len(seen["bob"]) > 0
    db = fresh()
    assert sorted(s.item_id for s in db.query(Score)) == sorted(i.id for i in items)
