"""A real server on 127.0.0.1 and a real headless Chromium (Debian's, via Playwright)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from browser_support import CHROMIUM, CHROMIUM_ARGS, LiveServer, free_port, task_page
from playwright.sync_api import Browser, Page, expect, sync_playwright
from review_factories import make_item, make_project
from sqlalchemy.orm import Session

from annotation_tool.models import Item, Stage

# Assertions wait for the page, not a clock: on a loaded 2-core box autosave round
# trips can take seconds, and the default 5 s made these tests flaky, not stricter.
expect.set_options(timeout=20_000)


@pytest.fixture
def live_server(app, settings) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", settings)
    server.should_exit = True
    thread.join(timeout=10)


# Module, not session: an open sync_playwright() holds an event loop on the main thread,
# so every later test's asyncio.run() (or another module's Playwright) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Browser):  # type: ignore[no-untyped-def]
    contexts = []

    def make() -> Page:
        context = browser.new_context(
            viewport={"width": 1400, "height": 900}, accept_downloads=True
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()


@pytest.fixture
def fresh(db: Session):  # type: ignore[no-untyped-def]
    """Returns a function that ends the test session's transaction so it sees the
    server's writes (the browser bypasses the TestClient hook)."""

    def refresh() -> Session:
        db.commit()
        db.expire_all()
        return db

    return refresh


@pytest.fixture
def describing(db: Session, images, annotator, new_page, live_server) -> tuple[Page, Item]:  # type: ignore[no-untyped-def]
    """``ann`` on the description page of a project whose one item shows the astronaut:
    the page and the item."""
    project = make_project(db)
    item = make_item(db, project, images["astronaut"], stage=Stage.DESCRIPTION)
    return task_page(new_page, live_server, "ann", project.id, "description"), item
