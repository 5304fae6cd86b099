"""Issue 22, an annotator's day, item 7, in Chromium: errors in words, role change
and password reset on the users page, an import preview that says why 0 rows match."""

from __future__ import annotations

from browser_support import ui_login
from playwright.sync_api import expect
from review_factories import PASSWORD, make_project, make_user, manifest_rows, write_run

from annotation_tool.models import Item, User


def test_role_change_password_reset_and_errors_in_words(live_server, new_page, db, fresh):
    make_user(db, "boss", "admin")
    bob = make_user(db, "bob", "annotator")
    page = new_page()
    ui_login(page, live_server, "boss", PASSWORD, "/admin/users")
    row = page.locator("#users tr[data-user=bob]")
    row.locator("select.role").select_option("reviewer")
    expect(page.locator("#users-result")).to_have_text("bob is now reviewer.")
    row.locator("input.new-password").fill("short")
    row.locator("button.reset-password").click()
    expect(page.locator("#users-result")).to_have_text("Password must be at least 8 characters.")
    row.locator("input.new-password").fill("a brand new password")
    row.locator("button.reset-password").click()
    expect(page.locator("#users-result")).to_have_text(
        "Password of bob reset; their other sessions have ended."
    )
    page.fill("#new-username", "no spaces")
    page.fill("#new-password", "long enough pw")
    page.click("#user-create")
    expect(page.locator("#user-result")).to_have_text(
        "Username may hold only letters, digits and _ . @ -."
    )
    db = fresh()
    assert db.get(User, bob.id).role == "reviewer"
    other = new_page()
    ui_login(other, live_server, "bob", "a brand new password", "/projects")


def test_import_preview_says_why_nothing_matches(
    live_server, new_page, db, images, fresh, tmp_path
):
    make_user(db, "boss", "admin")
    project = make_project(db)
    run = write_run(tmp_path / "run", manifest_rows(images))
    page = new_page()
    ui_login(page, live_server, "boss", PASSWORD, f"/projects/{project.id}/dashboard")
    page.fill("#import-run-dir", str(run))
    page.fill("#import-short-edge", "2000")
    page.click("#import-preview")
    expect(page.locator("#import-explanation")).to_contain_text(
        "No kept image has a short edge ≥ 2000 px: the largest kept short edge is 1100 px."
    )
    expect(page.locator("#import-steps li.empty")).to_have_text(["0 with a short edge ≥ 2000 px"])
    page.fill("#import-short-edge", "1024")
    page.click("#import-preview")
    expect(page.locator("#import-explanation")).to_have_text(
        "2 image(s) match; 2 of them are new to this project."
    )
    expect(page.locator("#import-submit")).to_have_text("Import 2 image(s)")
    assert fresh().query(Item).count() == 0  # a preview imports nothing
    page.click("#import-submit")
    expect(page.locator("#import-result")).to_have_text("Matched 2, imported 2, already present 0.")
