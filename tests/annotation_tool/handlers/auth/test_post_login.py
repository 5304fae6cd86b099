from __future__ import annotations

from review_factories import PASSWORD, make_user

from annotation_tool.models import UserSession
from annotation_tool.settings import COOKIE_SESSION, HEADER_CSRF


class TestPostLogin:
    def url(self) -> str:
        return "/api/auth/login"

    def token(self, client) -> str:
        return client.get("/api/auth/login-token").json()["csrf_token"]

    def test_login_sets_session_cookie_and_returns_csrf(self, anonymous, db):
        user = make_user(db, "ann", "annotator")
        resp = anonymous.post(
            self.url(),
            json={"username": "ann", "password": PASSWORD},
            headers={HEADER_CSRF: self.token(anonymous)},
        )
        assert resp.status_code == 200
        body = resp.json()
        assert (body["id"], body["username"], body["role"]) == (user.id, "ann", "annotator")
        cookie = anonymous.cookies.get(COOKIE_SESSION)
        stored = db.query(UserSession).one()
        # Only a hash of the cookie is stored.
        assert cookie and stored.token_hash != cookie and len(stored.token_hash) == 64
        assert stored.csrf_token == body["csrf_token"]

    def test_wrong_password_is_401(self, anonymous, db):
        make_user(db, "ann", "annotator")
        resp = anonymous.post(
            self.url(),
            json={"username": "ann", "password": "wrong password"},
            headers={HEADER_CSRF: self.token(anonymous)},
        )
        assert resp.status_code == 401
        assert resp.json()["message"] == "wrong username or password"

    def test_unknown_user_gets_same_answer(self, anonymous):
        resp = anonymous.post(
            self.url(),
            json={"username": "nobody", "password": PASSWORD},
            headers={HEADER_CSRF: self.token(anonymous)},
        )
        assert resp.status_code == 401
        assert resp.json()["message"] == "wrong username or password"

    def test_login_without_csrf_token_is_refused(self, anonymous, db):
        make_user(db, "ann", "annotator")
        resp = anonymous.post(self.url(), json={"username": "ann", "password": PASSWORD})
        assert resp.status_code == 403
        assert resp.json()["error"] == "csrf_failed"

    def test_deactivated_user_cannot_log_in(self, anonymous, db):
        user = make_user(db, "ann", "annotator")
        user.is_active = False
        db.commit()
        resp = anonymous.post(
            self.url(),
            json={"username": "ann", "password": PASSWORD},
            headers={HEADER_CSRF: self.token(anonymous)},
        )
        assert resp.status_code == 401

    def test_password_is_not_stored_in_clear(self, db):
        user = make_user(db, "ann", "annotator")
        assert PASSWORD not in user.password_hash
        assert user.password_hash.startswith("scrypt$")
