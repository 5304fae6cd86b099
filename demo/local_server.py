"""A small HTTP server on 127.0.0.1 that serves a folder of images the way the web does.

The demo's LAION path, the tests and the download benchmark need URLs that behave like
real ones without leaving the machine. Paths:

* ``/img/NAME``: the file, with its content type;
* ``/noai/NAME``: the file, with ``X-Robots-Tag: noai`` (an opt-out crawlers honour);
* ``/slow/NAME``: the file after ``slow_seconds`` (a server slower than the timeout);
* ``/html/NAME``: an HTML page (what many dead image links return);
* anything else: 404.

It records each request's User-Agent, so tests can check what a crawler sent.
``BackgroundHTTPServer`` is the server itself, for any handler: the tests' own servers
(a scripted OpenAI endpoint, a flaky file server) run on it too.
"""

from __future__ import annotations

import mimetypes
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

HTML_PAGE = b"<!doctype html><html><body><p>This image is no longer here.</p></body></html>"


class BackgroundHTTPServer:
    """A threading HTTP server on 127.0.0.1 (``port=0``: a free one), serving from a
    daemon thread until ``stop()``."""

    def __init__(self, handler: Any, port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = threading.Thread(
            target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def __enter__(self) -> BackgroundHTTPServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self._thread.join()
            self._thread = None


class LocalImageServer:
    def __init__(self, folder: str | Path, port: int = 0, slow_seconds: float = 5.0) -> None:
        self.folder = Path(folder).resolve()
        self.slow_seconds = slow_seconds
        self.user_agents: list[str] = []
        self._port = port
        self._server: BackgroundHTTPServer | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("server is not running")
        return self._server.url

    def url(self, name: str, route: str = "img") -> str:
        return f"{self.base_url}/{route}/{name}"

    def __enter__(self) -> LocalImageServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.user_agents.append(self.headers.get("User-Agent", ""))
                route, _, name = unquote(self.path).lstrip("/").partition("/")
                path = (server.folder / name).resolve()
                if route == "html":
                    self._reply(HTTPStatus.OK, HTML_PAGE, "text/html")
                    return
                if (route not in ("img", "noai", "slow") or not path.is_file()
                        or not path.is_relative_to(server.folder)):
                    self._reply(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
                    return
                if route == "slow":
                    time.sleep(server.slow_seconds)
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                extra = {"X-Robots-Tag": "noai"} if route == "noai" else {}
                self._reply(HTTPStatus.OK, path.read_bytes(), content_type, extra)

            def _reply(self, status: HTTPStatus, body: bytes, content_type: str,
                       extra: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in (extra or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell it

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # thousands of requests per benchmark: keep stderr readable

        self._server = BackgroundHTTPServer(Handler, self._port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
