"""Browser test support: Chromium launch settings, a live uvicorn server, UI login."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from playwright.sync_api import Page

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
