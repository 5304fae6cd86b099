"""Fixtures for the review tool: a migrated database per test (copied from one
migrated template), an app, logged-in clients per role, real JPEGs from skimage."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

# The suite runs with --import-mode=importlib, which adds no test folder to sys.path;
# the shared builders in review_factories.py are imported by name from here and from
# the test modules, so this folder goes on the path once.
sys.path.insert(0, str(Path(__file__).parent))

from review_factories import PASSWORD, make_user, write_images  # noqa: E402

from annotation_tool import security  # noqa: E402
from annotation_tool.app import create_app  # noqa: E402
from annotation_tool.migrate import upgrade  # noqa: E402
from annotation_tool.models import User  # noqa: E402
from annotation_tool.settings import HEADER_CSRF, Settings, sqlite_url  # noqa: E402


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real scrypt cost is the point in production; in tests it would only add minutes.
    monkeypatch.setattr(security, "SCRYPT_N", 2**4)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    write_images(folder)
    return folder


@pytest.fixture
def images(image_dir: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(image_dir.glob("*.jpg"))}


@pytest.fixture
def settings(tmp_path: Path, template_db: Path, image_dir: Path) -> Settings:
    db_path = tmp_path / "review.db"
    shutil.copy(template_db, db_path)
    return Settings(
        database_url=sqlite_url(db_path),
        image_roots=(image_dir,),
        thumbnail_dir=tmp_path / "thumbs",
        manifest_roots=(tmp_path,),
        lock_ttl_s=60,
    )


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings, migrate=False)
    yield application
    application.state.write_engine.dispose()
    application.state.read_engine.dispose()


@pytest.fixture
def db(app) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    # The deferred engine: a test's reads never hold SQLite's write lock against the app.
    session = app.state.read_sessions()
    yield session
    session.close()


def end_test_transaction(db: Session):  # type: ignore[no-untyped-def]
    """Before each request the test's own transaction ends, so it holds no lock while
    the server works and its next query sees what the server wrote."""

    def hook(_request) -> None:  # type: ignore[no-untyped-def]
        db.commit()
        db.expire_all()

    return hook


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    token = client.get("/api/auth/login-token").json()["csrf_token"]
    resp = client.post(
        "/api/auth/login",
        json={"username": username, "password": password},
        headers={HEADER_CSRF: token},
    )
    assert resp.status_code == 200, resp.text
    client.headers[HEADER_CSRF] = resp.json()["csrf_token"]
    return client


@pytest.fixture
def client_for(app, db: Session) -> Iterator[Callable[[User], TestClient]]:  # type: ignore[no-untyped-def]
    clients: list[TestClient] = []

    def make(user: User) -> TestClient:
        client = TestClient(app, base_url="http://127.0.0.1")
        client.event_hooks["request"] = [end_test_transaction(db)]
        clients.append(client)
        return login(client, user.username)

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def admin(db: Session) -> User:
    return make_user(db, "ada", "admin")


@pytest.fixture
def annotator(db: Session) -> User:
    return make_user(db, "ann", "annotator")


@pytest.fixture
def annotator2(db: Session) -> User:
    return make_user(db, "bob", "annotator")


@pytest.fixture
def reviewer(db: Session) -> User:
    return make_user(db, "rev", "reviewer")


@pytest.fixture
def reviewer2(db: Session) -> User:
    return make_user(db, "rita", "reviewer")


@pytest.fixture
def anonymous(app, db: Session) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.event_hooks["request"] = [end_test_transaction(db)]
        yield client
