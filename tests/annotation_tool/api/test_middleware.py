"""Issue 22.5: request bodies are capped before they are read."""

from __future__ import annotations

import asyncio
import json

from review_factories import make_item, make_project

from annotation_tool.api.middleware import BodySizeLimitMiddleware
from annotation_tool.models import Stage
from annotation_tool.settings import HEADER_CSRF, MAX_BODY_BYTES, MAX_CONCURRENT_REQUESTS

TOO_LARGE = {"error": "too_large", "message": "request bodies here are limited to 4096 bytes"}


class TestBodySizeLimit:
    def test_login_body_over_its_limit_is_413_unauthenticated(self, anonymous):
        token = anonymous.get("/api/auth/login-token").json()["csrf_token"]
        body = json.dumps({"username": "x", "password": "p" * 5000})
        resp = anonymous.post(
            "/api/auth/login",
            content=body,
            headers={"content-type": "application/json", HEADER_CSRF: token},
        )
        assert resp.status_code == 413
        assert resp.json() == TOO_LARGE
        assert "script-src 'self'" in resp.headers["content-security-policy"]

    def test_chunked_body_without_length_is_cut_off(self, anonymous):
        def chunks():
            for _ in range(100):  # 6.4 MB if it were read in full
                yield b"x" * 65536

        resp = anonymous.post("/api/auth/login", content=chunks())
        assert (resp.status_code, resp.json()) == (413, TOO_LARGE)

    def test_other_routes_have_the_default_limit(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        client = client_for(annotator)
        big = client.put(
            f"/api/items/{item.id}/description",
            content=b'{"text": "' + b"a" * MAX_BODY_BYTES + b'", "base_version": 0}',
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        # The longest text allowed, written as escaped JSON, stays below the limit.
        longest = client.put(
            f"/api/items/{item.id}/description",
            content=json.dumps({"text": "\U0001f600" * 10_000, "base_version": 0}),
            headers={"content-type": "application/json"},
        )
        assert longest.status_code == 200

    def test_stops_reading_at_the_limit(self):
        """A 300 MiB upload is not read: the cap answers after the first chunk past it."""
        received = 0
        sent: list[dict] = []

        async def receive():
            nonlocal received
            received += 1
            return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

        async def send(message):
            sent.append(message)

        async def app(scope, receive, send):
            raise AssertionError("the app must not run")

        middleware = BodySizeLimitMiddleware(app, default=256 * 1024, per_path={})
        scope = {"type": "http", "path": "/api/x", "headers": []}
        asyncio.run(middleware(scope, receive, send))
        assert received == 5  # 4 chunks fill 256 KiB, the 5th goes past it
        assert sent[0]["status"] == 413

    def test_declared_length_over_the_limit_is_refused_unread(self):
        received = 0

        async def receive():
            nonlocal received
            received += 1
            return {"type": "http.request", "body": b"", "more_body": False}

        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        middleware = BodySizeLimitMiddleware(None, default=1024, per_path={})
        scope = {"type": "http", "path": "/", "headers": [(b"content-length", b"314572800")]}
        asyncio.run(middleware(scope, receive, send))
        assert (received, sent[0]["status"]) == (0, 413)


def test_slow_uploads_hold_no_admission_slot(app):
    """The cap reads bodies outside the admission limit: as many stalled uploads as
    there are slots do not keep the next request out."""

    async def scenario() -> int:
        stalled = asyncio.Event()  # never set: the uploads never finish

        async def slow_receive():
            await stalled.wait()

        async def ignore(message):
            pass

        def scope(method: str, path: str) -> dict:
            return {
                "type": "http",
                "method": method,
                "path": path,
                "raw_path": path.encode(),
                "query_string": b"",
                "headers": [(b"host", b"127.0.0.1")],
                "scheme": "http",
                "server": ("127.0.0.1", 80),
                "client": ("127.0.0.1", 1),
                "root_path": "",
                "http_version": "1.1",
            }

        uploads = [
            asyncio.create_task(app(scope("POST", "/api/auth/login"), slow_receive, ignore))
            for _ in range(MAX_CONCURRENT_REQUESTS)
        ]
        await asyncio.sleep(0.1)
        sent: list[dict] = []

        bodies = [{"type": "http.request", "body": b"", "more_body": False}]

        async def done_receive():
            if bodies:
                return bodies.pop()
            await stalled.wait()  # like a connection that stays open

        async def record(message):
            sent.append(message)

        await asyncio.wait_for(app(scope("GET", "/static/app.css"), done_receive, record), 5)
        for task in uploads:
            task.cancel()
        return sent[0]["status"]

    assert asyncio.run(scenario()) == 200
