"""The FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from annotation_tool.api import errors
from annotation_tool.api.handlers import ROUTERS
from annotation_tool.api.middleware import (
    AdmissionMiddleware,
    BodySizeLimitMiddleware,
    SecurityHeadersMiddleware,
)
from annotation_tool.api.throttle import LoginThrottle, LoginTokens
from annotation_tool.database import make_engine, make_session_factory
from annotation_tool.migrate import upgrade
from annotation_tool.settings import (
    BODY_LIMITS,
    MAX_BODY_BYTES,
    MAX_CONCURRENT_REQUESTS,
    Settings,
)

PACKAGE_DIR = Path(__file__).parent


def create_app(settings: Settings, *, migrate: bool = True) -> FastAPI:
    if migrate:
        upgrade(settings.database_url)
    app = FastAPI(title="ParaImage review tool", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.write_engine = make_engine(settings.database_url, immediate=True)
    app.state.read_engine = make_engine(settings.database_url, immediate=False)
    app.state.write_sessions = make_session_factory(app.state.write_engine)
    app.state.read_sessions = make_session_factory(app.state.read_engine)
    app.state.templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
    app.state.login_throttle = LoginThrottle()
    app.state.login_tokens = LoginTokens()
    settings.thumbnail_dir.mkdir(parents=True, exist_ok=True)

    # The last added runs first. The size cap reads bodies before admission, so slow
    # uploads hold no admission slot.
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AdmissionMiddleware, limit=MAX_CONCURRENT_REQUESTS)
    app.add_middleware(BodySizeLimitMiddleware, default=MAX_BODY_BYTES, per_path=BODY_LIMITS)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")
    return app
