from __future__ import annotations

import pytest
from review_factories import PASSWORD, make_user

from annotation_tool.api.throttle import LoginThrottle
from annotation_tool.contexts import accounts
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


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestPostLoginBruteForce:
    """Issue 22.4: guesses get a growing back-off per account and per client address,
    and a login token serves one attempt."""

    def url(self) -> str:
        return "/api/auth/login"

    @pytest.fixture
    def clock(self, app) -> FakeClock:
        clock = FakeClock()
        app.state.login_throttle = LoginThrottle(clock=clock)
        return clock

    def attempt(self, client, username: str, password: str):  # type: ignore[no-untyped-def]
        token = client.get("/api/auth/login-token").json()["csrf_token"]
        return client.post(
            self.url(),
            json={"username": username, "password": password},
            headers={HEADER_CSRF: token},
        )

    def test_login_token_serves_one_attempt(self, anonymous, db):
        make_user(db, "ann", "annotator")
        token = anonymous.get("/api/auth/login-token").json()["csrf_token"]
        first = anonymous.post(
            self.url(),
            json={"username": "ann", "password": "guess one"},
            headers={HEADER_CSRF: token},
        )
        again = anonymous.post(
            self.url(), json={"username": "ann", "password": PASSWORD}, headers={HEADER_CSRF: token}
        )
        assert (first.status_code, again.status_code) == (401, 403)
        assert again.json()["error"] == "csrf_failed"

    def test_account_back_off_grows_and_a_success_resets_it(self, anonymous, db, clock):
        make_user(db, "ann", "annotator")
        statuses = [self.attempt(anonymous, "ann", f"guess {i}").status_code for i in range(5)]
        assert statuses == [401] * 5
        blocked = self.attempt(anonymous, "ann", PASSWORD)  # even the right password waits
        assert (blocked.status_code, blocked.headers["retry-after"]) == (429, "1")
        assert blocked.json() == {
            "error": "rate_limited",
            "message": "Too many failed logins; wait before trying again.",
            "retry_after_s": 1,
        }
        clock.now += 1
        assert self.attempt(anonymous, "ann", "guess 6").status_code == 401
        assert self.attempt(anonymous, "ann", PASSWORD).headers["retry-after"] == "2"
        clock.now += 2
        assert self.attempt(anonymous, "ann", "guess 7").status_code == 401
        assert self.attempt(anonymous, "ann", PASSWORD).headers["retry-after"] == "4"
        clock.now += 4
        assert self.attempt(anonymous, "ann", PASSWORD).status_code == 200
        assert self.attempt(anonymous, "ann", "typo").status_code == 401  # counting restarts

    def test_unknown_usernames_are_counted_alike(self, anonymous, clock):
        statuses = [self.attempt(anonymous, "nobody", "x").status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]

    def test_one_client_guessing_many_accounts_is_held_back(self, anonymous, db, clock):
        make_user(db, "ann", "annotator")
        statuses = [self.attempt(anonymous, f"user{i}", "x").status_code for i in range(20)]
        assert statuses == [401] * 20
        assert self.attempt(anonymous, "ann", PASSWORD).status_code == 429

    def test_refused_guess_costs_no_password_hash(self, anonymous, db, clock, monkeypatch):
        make_user(db, "ann", "annotator")
        for i in range(5):
            self.attempt(anonymous, "ann", f"guess {i}")
        calls = []
        monkeypatch.setattr(accounts, "verify_password", lambda *a: calls.append(a) or False)
        assert self.attempt(anonymous, "ann", "guess 5").status_code == 429
        assert calls == []
