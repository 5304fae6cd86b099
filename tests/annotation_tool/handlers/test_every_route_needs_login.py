"""Every API route but the two login ones answers 401 without a session."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

PUBLIC = {"/api/auth/login-token", "/api/auth/login"}


def test_every_api_route_needs_a_session(app, anonymous):
    checked = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        if route.path in PUBLIC:
            continue
        url = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods:
            resp = anonymous.request(method, url, json={})
            assert resp.status_code == 401, (method, route.path, resp.status_code)
            checked.append((method, route.path))
    assert len(checked) == 30
