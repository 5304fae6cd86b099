from __future__ import annotations


class TestGetMe:
    def url(self) -> str:
        return "/api/auth/me"

    def test_returns_user_and_csrf(self, client_for, annotator):
        client = client_for(annotator)
        resp = client.get(self.url())
        assert resp.status_code == 200
        assert resp.json()["username"] == "ann"
        assert resp.json()["csrf_token"] == client.headers["X-CSRF-Token"]

    def test_anonymous_is_401(self, anonymous):
        assert anonymous.get(self.url()).status_code == 401
