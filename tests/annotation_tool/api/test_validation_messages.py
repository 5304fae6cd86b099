"""Issue 22, an annotator's day, item 7: a 422 says in words what is wrong with which
field, so forms show it as it is ("Password must be at least 8 characters.")."""

from __future__ import annotations

import pytest
from review_factories import make_project


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"username": "new", "password": "short", "role": "annotator"},
            "Password must be at least 8 characters.",
        ),
        (
            {"username": "no spaces", "password": "long enough", "role": "annotator"},
            "Username may hold only letters, digits and _ . @ -.",
        ),
        (
            {"username": "new", "password": "long enough", "role": "boss"},
            "Role must be one of 'annotator', 'reviewer' or 'admin'.",
        ),
        ({"password": "long enough", "role": "admin"}, "Username is required."),
    ],
)
def test_user_form_errors_in_words(client_for, admin, body, message):
    resp = client_for(admin).post("/api/users", json=body)
    assert resp.status_code == 422
    assert resp.json()["message"] == message
    assert "HTTP" not in resp.json()["message"]


def test_import_form_errors_in_words(client_for, admin, db):
    project = make_project(db)
    resp = client_for(admin).post(
        f"/api/projects/{project.id}/imports",
        json={"run_dir": "x", "limit": 0, "min_short_edge": "wide"},
    )
    assert resp.json()["message"] == (
        "Min short edge must be a whole number. Limit must be at least 1."
    )
