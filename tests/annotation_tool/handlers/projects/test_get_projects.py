from __future__ import annotations

from review_factories import make_project, role_users_status


class TestGetProjects:
    def url(self) -> str:
        return "/api/projects"

    def test_lists_projects(self, client_for, annotator, db):
        make_project(db, "first")
        make_project(db, "second", kind="caption_study")
        resp = client_for(annotator).get(self.url())
        assert [(p["name"], p["kind"]) for p in resp.json()] == [
            ("first", "paraimage_small"),
            ("second", "caption_study"),
        ]

    def test_every_role_may_list_anonymous_may_not(self, client_for, db, anonymous):
        assert role_users_status(client_for, db, "GET", self.url()) == {
            "annotator": 200,
            "reviewer": 200,
            "admin": 200,
        }
        assert anonymous.get(self.url()).status_code == 401
