from __future__ import annotations


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
