"""End to end in headless Chromium: login, scoring by keyboard, a description with a
rule violation then fixed (and surviving a reload), rejection and revision, export."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
from browser_support import end_all_sessions, login_in_second_tab, task_page, ui_login
from playwright.sync_api import expect
from review_factories import (
    GOOD_DESCRIPTION,
    PASSWORD,
    finished_item,
    make_item,
    make_project,
    make_user,
    submitted_item,
)

from annotation_tool.models import DescriptionVersion, Item, Score, Stage


def test_login_failure_then_success(live_server, new_page, db):
    make_user(db, "ann", "annotator")
    page = new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "ann")
    page.fill("#password", "not the password")
    page.click("#login-button")
    expect(page.locator("#login-error")).to_have_text("wrong username or password")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(f"{live_server.url}/projects")
    expect(page.locator("#who")).to_have_text("ann · annotator")


def test_scoring_by_keyboard(live_server, new_page, db, images, fresh):
    ann = make_user(db, "ann", "annotator")
    project = make_project(db)
    first = make_item(db, project, images["coffee"], image_id="first")
    second = make_item(db, project, images["rocket"], image_id="second")
    page = task_page(new_page, live_server, "ann", project.id, "selection")
    expect(page.locator("#item-meta")).to_contain_text(f"item {first.id}")
    expect(page.locator("#shortcuts")).to_contain_text("submit and next")
    page.locator("#checklist input[value=S1]").check()
    page.keyboard.press("4")
    expect(page.locator("#scores button.chosen")).to_have_text("4")
    page.keyboard.press("Enter")
    expect(page.locator("#item-meta")).to_contain_text(f"item {second.id}")
    page.keyboard.press("ArrowLeft")  # back to the first: its score can still change
    expect(page.locator("#item-meta")).to_contain_text(f"item {first.id}")
    expect(page.locator("#scores button.chosen")).to_have_text("4")
    page.keyboard.press("5")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Score 5 saved.")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#item-meta")).to_contain_text(f"item {second.id}")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("The queue is empty. Thank you!")
    db = fresh()
    rows = [(s.item_id, s.score, s.checklist) for s in db.query(Score).order_by(Score.id)]
    assert rows == [(first.id, 4, ["S1"]), (first.id, 5, ["S1"]), (second.id, 2, [])]
    assert db.get(Item, first.id).annotator_id == ann.id


def test_description_with_violation_then_fixed(live_server, new_page, db, images, fresh):
    make_user(db, "ann", "annotator")
    project = make_project(db)
    item = make_item(
        db,
        project,
        images["astronaut"],
        stage=Stage.DESCRIPTION,
        final_score=5,
        draft_caption="An astronaut in a suit.",
        draft_model="cogvlm",
    )
    page = task_page(new_page, live_server, "ann", project.id, "description")
    editor = page.locator("#editor")
    expect(editor).to_have_value("An astronaut in a suit.")
    expect(page.locator("#draft-note")).to_contain_text("cogvlm")
    bad = "This image depicts " + GOOD_DESCRIPTION.replace("The lighting", "Maybe the lighting")
    editor.fill(bad)
    expect(page.locator("#checks li[data-rule=D7]")).to_have_class("bad")
    expect(page.locator("#checks li[data-rule=D4]")).to_contain_text("Speculative words: maybe")
    expect(page.locator("#checks li[data-rule=D1]")).to_have_class("ok")
    page.click("#submit")  # the server refuses it as well
    expect(page.locator("#status")).to_contain_text("Not submitted: D3:")
    expect(page.locator("#status")).to_contain_text(
        "D7: Starts with the forbidden opener 'this image depicts'."
    )
    editor.fill(GOOD_DESCRIPTION)
    expect(page.locator("#checks li.bad")).to_have_count(0)
    expect(page.locator("#save-state")).to_have_text("saved")
    page.reload()  # nothing typed is lost
    expect(page.locator("#editor")).to_have_value(GOOD_DESCRIPTION)
    page.click("#submit")
    expect(page.locator("#status")).to_have_text("Nothing waits for you here now.")
    db = fresh()
    assert db.get(Item, item.id).stage == "audit_1"
    kinds = [v.kind for v in db.query(DescriptionVersion).order_by(DescriptionVersion.version)]
    assert kinds[0] == "draft" and kinds[-1] == "submit"


def test_unsaved_text_survives_an_offline_reload(describing, fresh):
    page, item = describing
    # The claim must be in before the network drops: typed earlier, the text was
    # overwritten by the claimed item's arriving (a race CI hit once).
    expect(page.locator("#item-meta")).to_contain_text(f"item {item.id}")
    page.context.set_offline(True)
    page.locator("#editor").fill("A white spacesuit typed while offline.")
    expect(page.locator("#save-state")).to_contain_text("offline")
    page.context.set_offline(False)
    page.reload()
    expect(page.locator("#editor")).to_have_value("A white spacesuit typed while offline.")
    expect(page.locator("#save-state")).to_have_text("saved")
    db = fresh()
    latest = (
        db.query(DescriptionVersion)
        .filter_by(item_id=item.id)
        .order_by(DescriptionVersion.version.desc())
        .first()
    )
    assert latest.text == "A white spacesuit typed while offline."


def test_rejection_and_revision(live_server, new_page, db, images, fresh):
    ann = make_user(db, "ann", "annotator")
    make_user(db, "rev", "reviewer")
    project = make_project(db)
    item = submitted_item(db, project, images["astronaut"], ann, final_score=5, audit_cycle=1)
    reviewer_page = task_page(new_page, live_server, "rev", project.id, "audit")
    expect(reviewer_page.locator("#description")).to_have_text(GOOD_DESCRIPTION)
    reviewer_page.locator("#broken-rules input[value=D5]").check()
    reviewer_page.fill("#comment", "Name the <b>colours</b> of the patches.")
    reviewer_page.click("#reject")
    expect(reviewer_page.locator("#status")).to_have_text("Nothing waits for an audit now.")

    page = task_page(new_page, live_server, "ann", project.id, "revision")
    # The comment is shown as text, never as markup.
    expect(page.locator("#rejection-list li")).to_have_text(
        "D5 (round 1): Name the <b>colours</b> of the patches."
    )
    assert page.locator("#rejection-list b").count() == 1  # only our own <b> for the rule ids
    page.locator("#editor").fill(GOOD_DESCRIPTION.replace("several round", "two round"))
    page.click("#submit")
    expect(page.locator("#status")).to_have_text("Nothing waits for you here now.")
    db = fresh()
    item = db.get(Item, item.id)
    assert (item.stage, item.audit_cycle) == ("audit_1", 2)


def test_export_button(live_server, new_page, db, images):
    make_user(db, "boss", "admin")
    ann = make_user(db, "ann", "annotator")
    revs = [make_user(db, f"r{i}", "reviewer") for i in range(4)]
    project = make_project(db)
    finished_item(db, project, images["astronaut"], ann, revs, image_id="astro")
    page = new_page()
    ui_login(page, live_server, "boss", PASSWORD, f"/projects/{project.id}/dashboard")
    expect(page.locator("#progress")).to_contain_text("done")
    with page.expect_download() as info:
        page.click("#export-parquet")
    rows = pq.read_table(io.BytesIO(info.value.path().read_bytes())).to_pylist()
    assert [(r["image_id"], r["annotator"], r["reviewers"]) for r in rows] == [
        ("astro", "ann", ["r0", "r1", "r2", "r3"])
    ]


def test_text_typed_after_the_session_expired_is_saved_after_login(live_server, describing, fresh):
    page, item = describing
    expect(page.locator("#item-meta")).to_contain_text(f"item {item.id}")
    end_all_sessions(fresh())  # while the annotator types
    page.locator("#editor").fill("A white helmet typed after the session ended.")
    expect(page.locator("#relogin")).to_be_visible()
    expect(page.locator("#save-state")).to_contain_text("not saved")
    login_in_second_tab(page, live_server, "ann")  # the first tab then saves
    expect(page.locator("#save-state")).to_have_text("saved", timeout=15_000)
    db = fresh()
    latest = (
        db.query(DescriptionVersion)
        .filter_by(item_id=item.id)
        .order_by(DescriptionVersion.version.desc())
        .first()
    )
    assert latest.text == "A white helmet typed after the session ended."
