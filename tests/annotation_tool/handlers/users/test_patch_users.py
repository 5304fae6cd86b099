from __future__ import annotations

import pytest
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


class TestPatchUsersPassword:
    """Issue 22.7: a password change ends the sessions opened with the old one."""

    def url(self, user_id: int) -> str:
        return f"/api/users/{user_id}"

    def test_new_password_ends_the_users_sessions(self, client_for, admin, annotator):
        laptop, phone = client_for(annotator), client_for(annotator)
        resp = client_for(admin).patch(self.url(annotator.id), json={"password": "a new secret"})
        assert resp.status_code == 200
        assert (laptop.get("/api/auth/me").status_code, phone.get("/api/auth/me").status_code) == (
            401,
            401,
        )

    def test_own_change_keeps_only_the_current_session(self, client_for, admin):
        here, elsewhere = client_for(admin), client_for(admin)
        resp = here.patch(self.url(admin.id), json={"password": "a new secret"})
        assert resp.status_code == 200
        assert here.get("/api/auth/me").status_code == 200
        assert elsewhere.get("/api/auth/me").status_code == 401

    def test_role_change_keeps_sessions(self, client_for, admin, annotator):
        ann = client_for(annotator)
        client_for(admin).patch(self.url(annotator.id), json={"role": "reviewer"})
        assert ann.get("/api/auth/me").json()["role"] == "reviewer"


class TestPatchUsersLastAdmin:
    """Issue 22.9: the last active admin can neither demote nor deactivate itself."""

    def url(self, user_id: int) -> str:
        return f"/api/users/{user_id}"

    @pytest.mark.parametrize("change", [{"role": "reviewer"}, {"is_active": False}])
    def test_last_admin_stays(self, client_for, admin, db, change):
        resp = client_for(admin).patch(self.url(admin.id), json=change)
        assert resp.status_code == 409
        assert resp.json() == {
            "error": "conflict",
            "message": "This is the last active admin; make someone else admin first.",
            "user_id": admin.id,
        }
        db.refresh(admin)
        assert (admin.role, admin.is_active) == ("admin", True)

    def test_with_another_admin_it_may_step_down(self, client_for, admin, db):
        make_user(db, "second", "admin")
        resp = client_for(admin).patch(self.url(admin.id), json={"role": "reviewer"})
        assert (resp.status_code, resp.json()["role"]) == (200, "reviewer")

    def test_an_inactive_admin_does_not_count(self, client_for, admin, db):
        other = make_user(db, "gone", "admin")
        other.is_active = False
        db.commit()
        resp = client_for(admin).patch(self.url(admin.id), json={"is_active": False})
        assert resp.status_code == 409
