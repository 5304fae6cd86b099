from __future__ import annotations

from annotation_tool.settings import COOKIE_LOGIN_CSRF


class TestGetLoginToken:
    def url(self) -> str:
        return "/api/auth/login-token"

    def test_sets_matching_cookie(self, anonymous):
        resp = anonymous.get(self.url())
        assert resp.status_code == 200
        assert resp.json()["csrf_token"] == anonymous.cookies.get(COOKIE_LOGIN_CSRF)
