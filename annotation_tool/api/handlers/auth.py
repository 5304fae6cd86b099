from __future__ import annotations

from fastapi import APIRouter, Request, Response

from annotation_tool.api.deps import AppSettings, CurrentAuth, Db, commits_in_thread
from annotation_tool.api.schemas.auth import LoginCreate, Me
from annotation_tool.contexts import accounts
from annotation_tool.errors import CsrfError
from annotation_tool.models import User, UserSession
from annotation_tool.security import new_token, tokens_equal
from annotation_tool.settings import COOKIE_LOGIN_CSRF, COOKIE_SESSION, HEADER_CSRF

router = APIRouter(prefix="/api/auth", tags=["auth"])


def set_login_csrf_cookie(
    response: Response, settings: AppSettings, token: str | None = None
) -> str:
    token = token or new_token()
    response.set_cookie(
        COOKIE_LOGIN_CSRF, token, httponly=True, samesite="strict", secure=settings.secure_cookies
    )
    return token


@router.get("/login-token")
def get_login_token(response: Response, settings: AppSettings) -> dict[str, str]:
    """Double-submit token for the login request (there is no session yet)."""
    return {"csrf_token": set_login_csrf_cookie(response, settings)}


@router.post("/login")
@commits_in_thread
def login(
    body: LoginCreate, request: Request, response: Response, db: Db, settings: AppSettings
) -> Me:
    if not tokens_equal(request.cookies.get(COOKIE_LOGIN_CSRF), request.headers.get(HEADER_CSRF)):
        raise CsrfError("missing or wrong login CSRF token; reload the login page")
    # The password check (scrypt, tens of ms) runs on a read session: on SQLite the write
    # session would hold the single write lock for all of it and queue every other save.
    with request.app.state.read_sessions() as read_db:
        user_id = accounts.authenticate(read_db, body.username, body.password).id
    user = User.get_or_raise(db, user_id)
    token, session = accounts.open_session(db, user, settings.session_ttl_s)
    response.set_cookie(
        COOKIE_SESSION,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_ttl_s,
    )
    response.delete_cookie(COOKIE_LOGIN_CSRF)
    return Me(id=user.id, username=user.username, role=user.role, csrf_token=session.csrf_token)


@router.post("/logout", status_code=204)
@commits_in_thread
def logout(auth: CurrentAuth, db: Db, response: Response) -> None:
    accounts.close_session(db, UserSession.get_or_raise(db, auth.session.id))
    response.delete_cookie(COOKIE_SESSION)


@router.get("/me")
def me(auth: CurrentAuth) -> Me:
    user = auth.user
    return Me(
        id=user.id, username=user.username, role=user.role, csrf_token=auth.session.csrf_token
    )
