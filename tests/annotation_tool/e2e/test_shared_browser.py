"""Issue 22.8 in Chromium: on a shared browser, text one annotator typed but never
saved is neither restored nor autosaved under the next user's name."""

from __future__ import annotations

import json

from browser_support import ui_login
from playwright.sync_api import expect
from review_factories import PASSWORD, make_item, make_project, make_user

from annotation_tool.models import DescriptionVersion, Stage

UNSAVED = "A white spacesuit that ann typed and never saved."


def drafts(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "Object.fromEntries(Object.keys(localStorage)"
        ".filter((k) => k.startsWith('pi-description-')).map((k) => [k, localStorage[k]]))"
    )


def test_logout_clears_unsaved_text_and_the_next_user_does_not_get_it(
    live_server, new_page, db, images, fresh
):
    make_user(db, "ann", "annotator")
    make_user(db, "bob", "annotator")
    project = make_project(db)
    item = make_item(
        db,
        project,
        images["astronaut"],
        stage=Stage.DESCRIPTION,
        draft_caption="An astronaut in a suit.",
        draft_model="cogvlm",
    )
    task = f"/projects/{project.id}/tasks/description"
    page = new_page()
    ui_login(page, live_server, "ann", PASSWORD, task)
    expect(page.locator("#item-meta")).to_contain_text(f"item {item.id}")
    page.route("**/description", lambda route: route.abort())  # no save gets through
    page.locator("#editor").fill(UNSAVED)
    expect(page.locator("#save-state")).to_contain_text("retrying")
    assert [json.loads(v)["text"] for v in drafts(page).values()] == [UNSAVED]

    page.click("#logout")
    page.wait_for_url(f"{live_server.url}/login")
    assert drafts(page) == {}

    page.unroute("**/description")
    ui_login(page, live_server, "bob", PASSWORD, task)
    expect(page.locator("#item-meta")).to_contain_text(f"item {item.id}")
    expect(page.locator("#editor")).to_have_value("An astronaut in a suit.")
    expect(page.locator("#save-state")).to_have_text("saved")
    db = fresh()
    assert [v.text for v in db.query(DescriptionVersion).filter_by(item_id=item.id)] == [
        "An astronaut in a suit."
    ]


def test_drafts_of_another_user_are_not_restored(live_server, new_page, db, images, fresh):
    """Text left by a user whose session just ended (no logout click) stays theirs."""
    make_user(db, "bob", "annotator")
    project = make_project(db)
    item = make_item(db, project, images["astronaut"], stage=Stage.DESCRIPTION)
    page = new_page()
    page.goto(f"{live_server.url}/login")
    stale = '{"text": "someone else\'s words", "base": 0, "saved": false}'
    page.evaluate(
        "([a, b, v]) => { localStorage.setItem(a, v); localStorage.setItem(b, v); }",
        [f"pi-description-{item.id}", f"pi-description-999-{item.id}", stale],
    )
    ui_login(page, live_server, "bob", PASSWORD, f"/projects/{project.id}/tasks/description")
    expect(page.locator("#item-meta")).to_contain_text(f"item {item.id}")
    expect(page.locator("#editor")).to_have_value("")
    expect(page.locator("#save-state")).to_have_text("saved")
    assert fresh().query(DescriptionVersion).count() == 0
