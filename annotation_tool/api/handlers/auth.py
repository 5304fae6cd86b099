from __future__ import annotations

from fastapi import APIRouter, Request, Response

from annotation_tool.api.deps import AppSettings, CurrentAuth, Db, commits_in_thread
from annotation_tool.api.schemas.auth import LoginCreate, Me
from annotation_tool.contexts import accounts, claims
from annotation_tool.errors import CsrfError
from annotation_tool.models import User, UserSession
from annotation_tool.security import tokens_equal
from annotation_tool.settings import COOKIE_LOGIN_CSRF, COOKIE_SESSION, HEADER_CSRF

router = APIRouter(prefix="/api/auth", tags=["auth"])


def set_login_csrf_cookie(request: Request, response: Response, token: str | None = None) -> str:
    """A new single-use login token (or ``token``, issued for a page), in a cookie and
    returned for the page to send."""
    token = token or request.app.state.login_tokens.issue()
    secure = request.app.state.settings.secure_cookies
    response.set_cookie(COOKIE_LOGIN_CSRF, token, httponly=True, samesite="strict", secure=secure)
    return token


@router.get("/login-token")
def get_login_token(request: Request, response: Response) -> dict[str, str]:
    """Double-submit token for one login request (there is no session yet)."""
    return {"csrf_token": set_login_csrf_cookie(request, response)}


@router.post("/login")
@commits_in_thread
def login(
    body: LoginCreate, request: Request, response: Response, db: Db, settings: AppSettings
) -> Me:
    token = request.headers.get(HEADER_CSRF)
    # Each token serves one attempt, failed or not; the page fetches a new one.
    if not tokens_equal(request.cookies.get(COOKIE_LOGIN_CSRF), token) or not (
        request.app.state.login_tokens.consume(token)
    ):
        raise CsrfError("missing, used or wrong login CSRF token; reload the login page")
    client = request.client.host if request.client else "unknown"
    # The password check (scrypt, tens of ms) runs on a read session: on SQLite the write
    # session would hold the single write lock for all of it and queue every other save.
    with (
        request.app.state.login_throttle.attempt(body.username, client),
        request.app.state.read_sessions() as read_db,
    ):
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
    claims.release_all(db, auth.user)  # the next person need not wait for the lock to lapse
    accounts.close_session(db, UserSession.get_or_raise(db, auth.session.id))
    response.delete_cookie(COOKIE_SESSION)


@router.get("/me")
def me(auth: CurrentAuth) -> Me:
    user = auth.user
    return Me(
        id=user.id, username=user.username, role=user.role, csrf_token=auth.session.csrf_token
    )
