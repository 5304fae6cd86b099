from __future__ import annotations

from review_factories import make_user, role_users_status


class TestPatchUsers:
    def url(self, user_id: int) -> str:
        return f"/api/users/{user_id}"

    def test_deactivate_ends_sessions_and_keeps_row(self, client_for, admin, annotator, db):
        ann_client = client_for(annotator)
        resp = client_for(admin).patch(self.url(annotator.id), json={"is_active": False})
        assert resp.status_code == 200
        assert resp.json()["is_active"] is False
        assert ann_client.get("/api/auth/me").status_code == 401
        db.refresh(annotator)
        assert annotator.username == "ann"  # deactivated, not deleted

    def test_change_role(self, client_for, admin, annotator):
        resp = client_for(admin).patch(self.url(annotator.id), json={"role": "reviewer"})
        assert resp.json()["role"] == "reviewer"

    def test_missing_user_is_404(self, client_for, admin):
        assert client_for(admin).patch(self.url(999), json={"role": "admin"}).status_code == 404

    def test_only_admin(self, client_for, db):
        target = make_user(db, "target", "annotator")
        statuses = role_users_status(
            client_for, db, "PATCH", self.url(target.id), json={"role": "annotator"}
        )
        assert statuses == {"annotator": 403, "reviewer": 403, "admin": 200}
