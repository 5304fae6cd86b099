"""Thread-run writes (logins, user creation) interleaved with event-loop writes (claims,
saves) on one SQLite database: every request is answered, none waits out the lock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from review_factories import GOOD_DESCRIPTION, PASSWORD, make_item, make_project, make_user

from annotation_tool.models import DescriptionVersion, Stage
from annotation_tool.settings import HEADER_CSRF

N = 12


def login(base: str, username: str) -> httpx.Client:
    # A timeout shorter than SQLite's busy timeout: a request stuck behind the write
    # lock fails the test instead of being answered late.
    client = httpx.Client(base_url=base, timeout=10)
    token = client.get("/api/auth/login-token").json()["csrf_token"]
    resp = client.post(
        "/api/auth/login",
        json={"username": username, "password": PASSWORD},
        headers={HEADER_CSRF: token},
    )
    resp.raise_for_status()
    client.headers[HEADER_CSRF] = resp.json()["csrf_token"]
    return client


def test_thread_and_loop_writers_never_deadlock(live_server, db, images, fresh):
    admin = make_user(db, "boss", "admin")
    workers = [make_user(db, f"w{i}", "annotator") for i in range(N)]
    project = make_project(db)
    for i in range(N):
        make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION, image_id=f"i{i}")
    base = live_server.url
    admin_client = login(base, admin.username)

    def describe(username: str) -> int:
        client = login(base, username)  # a thread-run write (session row)
        item = client.post(f"/api/projects/{project.id}/claims", json={"task": "description"})
        item_id = item.json()["id"]
        saved = client.put(
            f"/api/items/{item_id}/description", json={"text": "draft", "base_version": 0}
        )
        done = client.post(
            f"/api/items/{item_id}/description/submissions",
            json={"text": GOOD_DESCRIPTION, "base_version": saved.json()["version"]},
        )
        return done.status_code

    def add_user(i: int) -> int:  # thread-run writes from the admin at the same time
        body = {"username": f"new{i}", "password": "long enough pw", "role": "annotator"}
        return admin_client.post("/api/users", json=body).status_code

    with ThreadPoolExecutor(max_workers=2 * N) as pool:
        described = pool.map(describe, [w.username for w in workers])
        created = pool.map(add_user, range(N))
        assert list(described) == [201] * N
        assert list(created) == [201] * N
    db = fresh()
    assert db.query(DescriptionVersion).filter_by(kind="submit").count() == N
