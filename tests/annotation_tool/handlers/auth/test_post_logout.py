from __future__ import annotations

from review_factories import make_item, make_project

from annotation_tool.models import Item


class TestPostLogout:
    def url(self) -> str:
        return "/api/auth/logout"

    def test_logout_revokes_session(self, client_for, annotator):
        client = client_for(annotator)
        assert client.post(self.url()).status_code == 204
        assert client.get("/api/auth/me").status_code == 401

    def test_logout_needs_csrf(self, client_for, annotator):
        client = client_for(annotator)
        resp = client.post(self.url(), headers={"X-CSRF-Token": "forged"})
        assert resp.status_code == 403
        assert client.get("/api/auth/me").status_code == 200

    def test_logout_frees_the_claim_at_once(self, client_for, annotator, annotator2, db, images):
        """Issue 22.9: the next person need not wait up to the lock's 120 s."""
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        client = client_for(annotator)
        claims = f"/api/projects/{project.id}/claims"
        assert client.post(claims, json={"task": "selection"}).json()["id"] == item.id
        assert client.post(self.url()).status_code == 204
        db.expire_all()
        assert db.get(Item, item.id).lock_user_id is None
        other = client_for(annotator2).post(claims, json={"task": "selection"})
        assert other.json()["id"] == item.id
