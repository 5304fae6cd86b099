from __future__ import annotations

from review_factories import role_users_status


class TestPostProjects:
    def url(self) -> str:
        return "/api/projects"

    def test_admin_creates(self, client_for, admin):
        resp = client_for(admin).post(self.url(), json={"name": "p1", "kind": "caption_study"})
        assert resp.status_code == 201
        assert (resp.json()["name"], resp.json()["kind"]) == ("p1", "caption_study")

    def test_inspection_is_blind_unless_turned_off(self, client_for, admin):
        client = client_for(admin)
        assert client.post(self.url(), json={"name": "a"}).json()["blind_inspection"] is True
        off = client.post(self.url(), json={"name": "b", "blind_inspection": False})
        assert off.json()["blind_inspection"] is False

    def test_duplicate_name_is_conflict(self, client_for, admin):
        client = client_for(admin)
        client.post(self.url(), json={"name": "p1"})
        assert client.post(self.url(), json={"name": "p1"}).status_code == 409

    def test_only_admin(self, client_for, db):
        assert role_users_status(client_for, db, "POST", self.url(), json={"name": "x"}) == {
            "annotator": 403,
            "reviewer": 403,
            "admin": 201,
        }

    def test_csrf_required(self, client_for, admin):
        client = client_for(admin)
        del client.headers["X-CSRF-Token"]
        resp = client.post(self.url(), json={"name": "p2"})
        assert resp.status_code == 403
        assert resp.json()["error"] == "csrf_failed"
