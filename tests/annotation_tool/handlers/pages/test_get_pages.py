"""Pages answer by role exactly like the API: nobody reaches another role's page."""

from __future__ import annotations

import pytest
from review_factories import make_item, make_project, make_user

from annotation_tool.models import ProjectKind, Stage

PAGES = {
    "/projects": {"annotator": 200, "reviewer": 200, "admin": 200},
    "/projects/{p}": {"annotator": 200, "reviewer": 200, "admin": 200},
    "/projects/{p}/tasks/selection": {"annotator": 200, "reviewer": 403, "admin": 403},
    "/projects/{p}/tasks/description": {"annotator": 200, "reviewer": 403, "admin": 403},
    "/projects/{p}/tasks/revision": {"annotator": 200, "reviewer": 403, "admin": 403},
    "/projects/{p}/tasks/inspection": {"annotator": 403, "reviewer": 200, "admin": 403},
    "/projects/{p}/tasks/audit": {"annotator": 403, "reviewer": 200, "admin": 403},
    "/projects/{p}/tasks/settle": {"annotator": 403, "reviewer": 403, "admin": 200},
    "/projects/{p}/mine": {"annotator": 200, "reviewer": 403, "admin": 403},
    "/projects/{p}/dashboard": {"annotator": 403, "reviewer": 403, "admin": 200},
    "/admin/users": {"annotator": 403, "reviewer": 403, "admin": 200},
    # an item one may not read is one that does not exist (issue 22.9)
    "/items/{i}/history": {"annotator": 404, "reviewer": 404, "admin": 200},
}


class TestGetPages:
    @pytest.fixture
    def clients(self, client_for, db):
        return {
            role: client_for(make_user(db, f"page-{role}", role))
            for role in ("annotator", "reviewer", "admin")
        }

    def test_role_matrix(self, clients, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        for template, expected in PAGES.items():
            url = template.format(p=project.id, i=item.id)
            got = {role: c.get(url).status_code for role, c in clients.items()}
            assert got == expected, url

    def test_anonymous_is_sent_to_login(self, anonymous, db):
        project = make_project(db)
        resp = anonymous.get(f"/projects/{project.id}/tasks/selection", follow_redirects=False)
        assert resp.status_code == 303
        assert resp.headers["location"] == f"/login?next=/projects/{project.id}/tasks/selection"

    def test_login_page_does_not_redirect_off_site(self, anonymous):
        page = anonymous.get("/login?next=//evil.example/x").text
        assert 'data-next="/projects"' in page

    @pytest.mark.parametrize(
        "next_param",
        [
            "/%5Cevil.invalid/",  # /\evil.invalid/: browsers read "\\" as "/"
            "/%09/evil.invalid/",  # browsers drop the tab: //evil.invalid/
            "/%0A/evil.invalid/",
            "/%0D/evil.invalid/",
            "/%20/evil.invalid/",
            "%5C%5Cevil.invalid/",
            "https://evil.invalid/",
            "javascript:alert(1)",
            "evil.invalid/x",
            "/%C3%A9//evil.invalid/",
        ],
    )
    def test_login_redirect_stays_on_this_server(self, anonymous, next_param):
        """Issue 22.3."""
        page = anonymous.get(f"/login?next={next_param}").text
        assert 'data-next="/projects"' in page

    def test_login_redirect_keeps_a_local_path_and_query(self, anonymous):
        page = anonymous.get("/login?next=/projects/3/tasks/selection%3Fa%3D1").text
        assert 'data-next="/projects/3/tasks/selection?a=1"' in page

    def test_redirect_to_login_quotes_the_path(self, anonymous):
        resp = anonymous.get("/projects/a%20b%26next=x", follow_redirects=False)
        assert resp.status_code == 303
        assert resp.headers["location"] == "/login?next=/projects/a%20b%26next%3Dx"

    def test_study_task_only_in_study_projects(self, clients, db):
        small = make_project(db, "small")
        study = make_project(db, "study", kind=ProjectKind.CAPTION_STUDY)
        assert clients["annotator"].get(f"/projects/{small.id}/tasks/study").status_code == 404
        assert clients["annotator"].get(f"/projects/{study.id}/tasks/study").status_code == 200

    def test_project_names_are_escaped(self, clients, db):
        make_project(db, "<img src=x onerror=alert(1)>")
        page = clients["admin"].get("/projects").text
        assert "<img src=x onerror" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page

    def test_security_headers(self, clients, db):
        resp = clients["admin"].get("/projects")
        assert "script-src 'self'" in resp.headers["content-security-policy"]
        assert resp.headers["x-content-type-options"] == "nosniff"

    def test_history_page_for_own_item(self, client_for, db, images):
        ann = make_user(db, "owner", "annotator")
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_1, annotator_id=ann.id
        )
        assert client_for(ann).get(f"/items/{item.id}/history").status_code == 200
