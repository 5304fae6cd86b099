"""Issue 22.3 in Chromium: a crafted ?next= never sends the browser off-site after login."""

from __future__ import annotations

import pytest
from review_factories import PASSWORD, make_user


@pytest.mark.parametrize("next_param", ["/%5Cevil.invalid/", "/%09/evil.invalid/"])
def test_login_stays_on_this_server(live_server, new_page, db, next_param):
    make_user(db, "ann", "annotator")
    page = new_page()
    page.goto(f"{live_server.url}/login?next={next_param}")
    page.fill("#username", "ann")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    # A Python-side predicate: the pages' CSP forbids evaluating strings in them.
    page.wait_for_url(lambda url: not url.startswith(f"{live_server.url}/login"))
    assert page.url == f"{live_server.url}/projects"
