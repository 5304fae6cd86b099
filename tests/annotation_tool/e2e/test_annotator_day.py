"""Issue 22, an annotator's day, in headless Chromium: skip with a reason, an
unreadable image, progress, blind inspection, the auditor's diff, feedback that stays,
keys that work while typing and on macOS."""

from __future__ import annotations

from browser_support import end_all_sessions, login_in_second_tab, task_page, ui_login
from playwright.sync_api import expect
from review_factories import (
    GOOD_DESCRIPTION,
    PASSWORD,
    add_score,
    make_item,
    make_project,
    make_user,
    rejected_item,
    resubmit,
    scored_item,
)

from annotation_tool.models import Item, Score, Skip, Stage


def test_skip_a_description_as_not_a_5_and_someone_else_gets_it(
    live_server, new_page, db, images, fresh
):
    make_user(db, "ann", "annotator")
    make_user(db, "bob", "annotator")
    project = make_project(db)
    item = make_item(db, project, images["astronaut"], stage=Stage.DESCRIPTION, final_score=5)
    page = task_page(new_page, live_server, "ann", project.id, "description")
    expect(page.locator("#item-meta")).to_contain_text(f"item {item.id}")
    expect(page.locator("#progress [data-figure=left]")).to_have_text("1 left in the queue")
    expect(page.locator("#progress [data-figure=done]")).to_have_text("0 done today")
    page.fill("#skip-comment", "a plain studio portrait")
    page.click("#skip-bar button[data-reason=not_a_5]")
    expect(page.locator("#last-action")).to_contain_text(
        f"Item {item.id} skipped as not a 5; it goes to someone else."
    )
    expect(page.locator("#status")).to_have_text("Nothing waits for you here now.")
    expect(page.locator("#progress [data-figure=skipped]")).to_have_text("1 skipped")
    expect(page.locator("#progress [data-figure=left]")).to_have_text("0 left in the queue")
    db = fresh()
    skip = db.query(Skip).one()
    assert (skip.reason, skip.comment) == ("not_a_5", "a plain studio portrait")
    other = task_page(new_page, live_server, "bob", project.id, "description")
    expect(other.locator("#item-meta")).to_contain_text(f"item {item.id}")


def test_an_unreadable_image_says_why_cannot_be_scored_and_is_reported(
    live_server, new_page, db, images, fresh
):
    make_user(db, "ann", "annotator")
    project = make_project(db)
    item = make_item(db, project, images["coffee"])
    item.image_ref = item.image_ref.replace("coffee.jpg", "gone.jpg")
    db.commit()
    page = task_page(new_page, live_server, "ann", project.id, "selection")
    expect(page.locator("#image-problem")).to_have_text(
        "This image cannot be read: the file is missing."
    )
    expect(page.locator("#scores button").first).to_be_disabled()
    expect(page.locator("#submit")).to_be_disabled()
    page.keyboard.press("4")  # no score while the image does not read
    expect(page.locator("#scores button.chosen")).to_have_count(0)
    expect(page.locator("#status")).to_contain_text("so it cannot be scored")
    page.click("#skip-bar button[data-reason=unreadable]")
    expect(page.locator("#last-action")).to_contain_text(
        "the image cannot be read (the file is missing); it is out of every queue"
    )
    expect(page.locator("#status")).to_have_text("The queue is empty. Thank you!")
    db = fresh()
    assert db.get(Item, item.id).image_problem == "the file is missing"
    assert db.query(Score).count() == 0
    # The admin's dashboard lists it with its reason.
    make_user(db, "boss", "admin")
    admin = new_page()
    ui_login(admin, live_server, "boss", PASSWORD, f"/projects/{project.id}/dashboard")
    expect(admin.locator("#skips")).to_contain_text("Skipped: 1 as unreadable")
    expect(admin.locator("#unreadable tbody tr")).to_contain_text("the file is missing")


def test_blind_inspection_hides_earlier_scores_and_the_confirm_key(
    live_server, new_page, db, images, fresh, annotator, reviewer, reviewer2
):
    project = make_project(db)
    item = scored_item(db, project, images["coffee"], annotator, 4, stage=Stage.INSPECTION_2)
    add_score(db, item, reviewer, 1, 4, blind=True)
    page = task_page(new_page, live_server, "rita", project.id, "inspection")
    expect(page.locator("#item-meta")).to_contain_text(f"item {item.id}")
    expect(page.locator("#blind-note")).to_be_visible()
    expect(page.locator("#prior")).to_be_hidden()
    expect(page.locator("#shortcuts .unblind-only")).to_have_count(2)
    for node in page.locator("#shortcuts .unblind-only").all():
        expect(node).to_be_hidden()  # the "c confirms" line
    assert "ann" not in page.locator("aside").inner_text()
    page.keyboard.press("c")  # no one-key confirm of a score one has not seen
    expect(page.locator("#scores button.chosen")).to_have_count(0)
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#last-action")).to_contain_text(f"Item {item.id}: inspected, 3.")
    expect(page.locator("#status")).to_have_text("Nothing waits for you here now.")
    db = fresh()
    assert db.get(Item, item.id).stage == "settle"  # 4, 4, 3: an admin settles it
    assert [s.blind for s in db.query(Score).order_by(Score.id)] == [None, True, True]


def test_unblinded_inspection_keeps_the_confirm_key(
    live_server, new_page, db, images, fresh, annotator, reviewer
):
    project = make_project(db, blind_inspection=False)
    scored_item(db, project, images["coffee"], annotator, 4)
    page = task_page(new_page, live_server, "rev", project.id, "inspection")
    expect(page.locator("#prior-scores td.score")).to_have_text("4")
    expect(page.locator("#blind-note")).to_be_hidden()
    expect(page.locator("#shortcuts dt.unblind-only")).to_be_visible()
    page.keyboard.press("c")
    expect(page.locator("#scores button.chosen")).to_have_text("4")


def revised_item(db, project, images, ann, rev):  # type: ignore[no-untyped-def]
    item = rejected_item(
        db, project, images["astronaut"], ann, rev, stage=Stage.AUDIT_1, final_score=5
    )
    resubmit(db, item, ann, GOOD_DESCRIPTION.replace("several round", "two round"))
    return item


def test_the_auditor_of_a_revision_sees_the_rejection_and_the_diff(
    live_server, new_page, db, images, fresh, annotator, reviewer, reviewer2
):
    project = make_project(db)
    item = revised_item(db, project, images, annotator, reviewer)
    page = task_page(new_page, live_server, "rita", project.id, "audit")
    expect(page.locator("#revision")).to_be_visible()
    expect(page.locator("#revision-badge")).to_have_text("Revision 1")
    expect(page.locator("#revision-title")).to_have_text("v2, resubmitted after v1 was rejected")
    expect(page.locator("#revision-rejections li")).to_have_text(
        "Rejected (D5) by rev, round 1: fix"
    )
    expect(page.locator("#diff del")).to_have_text(["several "])
    expect(page.locator("#diff ins")).to_have_text(["two "])
    # Alt+A with a rule ticked warns first and keeps the ticks and the comment.
    page.locator("#broken-rules input[value=D6]").check()
    page.fill("#comment", "the order is fine now")
    page.locator("#viewer").click()
    page.keyboard.press("Alt+KeyA")
    expect(page.locator("#status")).to_contain_text("press Alt+A again to accept anyway")
    expect(page.locator("#broken-rules input[value=D6]")).to_be_checked()
    expect(page.locator("#comment")).to_have_value("the order is fine now")
    # macOS: Alt+A types "å"; the key code still says A.
    page.evaluate(
        "document.dispatchEvent(new KeyboardEvent('keydown',"
        " {key: 'å', code: 'KeyA', altKey: true, bubbles: true}))"
    )
    expect(page.locator("#last-action")).to_contain_text(f"Item {item.id} accepted in round 1")
    expect(page.locator("#status")).to_have_text("Nothing waits for an audit now.")
    db = fresh()
    assert db.get(Item, item.id).stage == "audit_1"  # one of two accepts in round 1


def test_the_history_page_is_a_timeline(live_server, new_page, db, images, annotator, reviewer):
    make_user(db, "boss", "admin")
    project = make_project(db)
    item = revised_item(db, project, images, annotator, reviewer)
    page = new_page()
    ui_login(page, live_server, "boss", PASSWORD, f"/items/{item.id}/history")
    events = page.locator("#timeline li.event")
    expect(events).to_have_count(3)
    expect(events.nth(0)).to_contain_text("ann submitted v1 for audit")
    expect(events.nth(1)).to_contain_text("rev rejected v1 in audit round 1 (D5)")
    expect(events.nth(2)).to_contain_text("resubmitted v2 after a rejection (revision 1)")
    expect(events.nth(2).locator("del")).to_have_text("several ")


def test_submitted_for_audit_stays_and_zoom_works_while_typing(live_server, new_page, db, images):
    make_user(db, "ann", "annotator")
    project = make_project(db)
    first = make_item(db, project, images["astronaut"], stage=Stage.DESCRIPTION, image_id="a")
    make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION, image_id="b")
    page = task_page(new_page, live_server, "ann", project.id, "description")
    expect(page.locator("#item-meta")).to_contain_text(f"item {first.id}")
    page.locator("#editor").fill(GOOD_DESCRIPTION)
    page.locator("#editor").focus()
    page.keyboard.press("Alt+Equal")
    assert "scale(1.25)" in page.locator("#full-image").get_attribute("style")
    assert page.locator("#editor").input_value() == GOOD_DESCRIPTION  # nothing typed
    page.keyboard.press("Alt+Digit0")
    assert "scale(1)" in page.locator("#full-image").get_attribute("style")
    page.keyboard.press("Control+Enter")
    # The next item is on screen, and the confirmation is still there.
    expect(page.locator("#item-meta")).not_to_contain_text(f"item {first.id}")
    expect(page.locator("#last-action")).to_contain_text(f"Item {first.id} submitted for audit.")
    expect(page.locator("#progress [data-figure=done]")).to_have_text("1 done today")


def test_the_session_banner_goes_once_saving_resumes(live_server, describing, fresh):
    page, item = describing
    expect(page.locator("#item-meta")).to_contain_text(f"item {item.id}")
    end_all_sessions(fresh())
    page.locator("#editor").fill("A white helmet typed after the session ended.")
    expect(page.locator("#banner")).to_be_visible()
    login_in_second_tab(page, live_server, "ann")
    expect(page.locator("#save-state")).to_have_text("saved", timeout=15_000)
    expect(page.locator("#banner")).to_be_hidden()


def fits(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """The element is on screen without scrolling the page or the side panel."""
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= 900, (selector, box)
    scrolled = page.evaluate("() => [window.scrollY, document.querySelector('aside').scrollTop]")
    assert scrolled == [0, 0]


def test_rubric_rule_keys_and_everything_at_1440x900(
    live_server, browser, db, images, fresh, annotator, reviewer, reviewer2
):
    project = make_project(db)
    make_item(db, project, images["coffee"], image_id="sel")
    scored_item(db, project, images["rocket"], annotator, 4)
    make_item(db, project, images["chelsea"], stage=Stage.DESCRIPTION, image_id="desc")
    revised_item(db, project, images, annotator, reviewer)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    ui_login(page, live_server, "ann", PASSWORD, f"/projects/{project.id}/tasks/selection")
    expect(page.locator("#rubric dt")).to_have_text(["5", "4", "3", "2", "1"])
    expect(page.locator("#rubric")).to_contain_text("Select: S1 and S2 hold")
    expect(page.locator("#item-meta")).to_contain_text("item ")
    expect(page.locator("#progress [data-figure=left]")).to_have_text("1 left in the queue")
    for selector in ("#submit", "#shortcuts", "#scores", "#rubric", "#progress"):
        fits(page, selector)
    page.keyboard.press("Shift+Digit3")  # tick S3 by key
    page.keyboard.press("Shift+Digit5")
    page.keyboard.press("Shift+Digit5")  # and untick S5
    expect(page.locator("#checklist input:checked")).to_have_count(1)
    page.keyboard.press("5")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("The queue is empty. Thank you!")
    db = fresh()
    assert db.query(Score).filter_by(round=0).order_by(Score.id).all()[-1].checklist == ["S3"]
    page.goto(f"{live_server.url}/projects/{project.id}/tasks/description")
    expect(page.locator("#item-meta")).to_contain_text("item ")
    for selector in ("#submit", "#shortcuts", "#save-state", "#skip-bar"):
        fits(page, selector)
    page.click("#logout")
    page.wait_for_url(f"{live_server.url}/login")
    for user, task, selectors in (
        ("rita", "inspection", ("#submit", "#shortcuts", "#rubric")),
        ("rita", "audit", ("#accept", "#reject", "#shortcuts", "#revision")),
    ):
        ui_login(page, live_server, user, PASSWORD, f"/projects/{project.id}/tasks/{task}")
        expect(page.locator("#item-meta")).to_contain_text("item ")
        # inspection: the rocket and the image ann just scored; audit: the revision
        left = {"inspection": "2", "audit": "1"}[task]
        expect(page.locator("#progress [data-figure=left]")).to_have_text(
            f"{left} left in the queue"
        )
        for selector in selectors:
            fits(page, selector)
    context.close()
