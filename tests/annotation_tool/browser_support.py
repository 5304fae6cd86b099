"""Browser test support: Chromium launch settings, a live uvicorn server, UI login and
the steps several browser tests share (a task page, sessions ending, a second tab)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page
from review_factories import PASSWORD
from sqlalchemy import update
from sqlalchemy.orm import Session

from annotation_tool.models import UserSession, utcnow
from annotation_tool.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    settings: Settings


def ui_login(
    page: Page, server: LiveServer, username: str, password: str, next_path: str = "/projects"
) -> None:
    page.goto(f"{server.url}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")
    page.wait_for_url(f"{server.url}{next_path}")


def task_page(
    new_page: Callable[[], Page], server: LiveServer, username: str, project_id: int, task: str
) -> Page:
    """A new page, logged in as ``username``, on the project's ``task`` page."""
    page = new_page()
    ui_login(page, server, username, PASSWORD, f"/projects/{project_id}/tasks/{task}")
    return page


def end_all_sessions(db: Session) -> None:
    """Every session expires at once (one UPDATE, so the test takes the write lock at
    once instead of upgrading a read snapshot)."""
    db.execute(update(UserSession).values(revoked_at=utcnow()))
    db.commit()


def login_in_second_tab(page: Page, server: LiveServer, username: str) -> Page:
    """Logs in again in another tab of the same browser, as after a session expired."""
    other = page.context.new_page()
    ui_login(other, server, username, PASSWORD, "/projects")
    return other
