from __future__ import annotations

from review_factories import role_users_status

from annotation_tool.models import AuditLog, User


class TestPostUsers:
    def url(self) -> str:
        return "/api/users"

    def body(self, name: str = "newbie", role: str = "annotator") -> dict:
        return {"username": name, "password": "long enough pw", "role": role}

    def test_admin_creates_user(self, client_for, admin, db):
        resp = client_for(admin).post(self.url(), json=self.body())
        assert resp.status_code == 201
        assert resp.json()["role"] == "annotator"
        user = db.query(User).filter_by(username="newbie").one()
        assert user.password_hash.startswith("scrypt$")
        assert db.query(AuditLog).filter_by(action="user.create", user_id=admin.id).count() == 1

    def test_duplicate_is_conflict(self, client_for, admin):
        client = client_for(admin)
        client.post(self.url(), json=self.body())
        resp = client.post(self.url(), json=self.body())
        assert resp.status_code == 409

    def test_short_password_is_422(self, client_for, admin):
        resp = client_for(admin).post(
            self.url(), json={"username": "x", "password": "short", "role": "annotator"}
        )
        assert resp.status_code == 422

    def test_unknown_role_is_422(self, client_for, admin):
        assert client_for(admin).post(self.url(), json=self.body(role="boss")).status_code == 422

    def test_only_admin(self, client_for, db):
        statuses = role_users_status(client_for, db, "POST", self.url(), json=self.body("zed"))
        assert statuses == {"annotator": 403, "reviewer": 403, "admin": 201}
