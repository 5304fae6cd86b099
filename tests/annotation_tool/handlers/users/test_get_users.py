from __future__ import annotations

from review_factories import role_users_status


class TestGetUsers:
    def url(self) -> str:
        return "/api/users"

    def test_admin_lists_users(self, client_for, admin, annotator):
        resp = client_for(admin).get(self.url())
        assert resp.status_code == 200
        assert [(u["username"], u["role"]) for u in resp.json()] == [
            ("ada", "admin"),
            ("ann", "annotator"),
        ]
        assert "password_hash" not in resp.json()[0]

    def test_only_admin(self, client_for, db):
        assert role_users_status(client_for, db, "GET", self.url()) == {
            "annotator": 403,
            "reviewer": 403,
            "admin": 200,
        }
