"""Request dependencies: the database session, the logged-in user, the CSRF check."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from annotation_tool.contexts import accounts
from annotation_tool.errors import CsrfError
from annotation_tool.models import User, UserSession
from annotation_tool.security import tokens_equal
from annotation_tool.settings import COOKIE_SESSION, HEADER_CSRF, Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_db(request: Request) -> AsyncIterator[Session]:
    # Async so that creating the session and committing it cost no worker-thread hops;
    # the commit itself is short (WAL, synchronous=NORMAL) and runs on the event loop,
    # which also means a request holding SQLite's write lock never waits for a free
    # worker thread to release it.
    state = request.app.state
    # Reads use the deferred engine so they never queue for SQLite's write lock.
    factory = state.read_sessions if request.method in SAFE_METHODS else state.write_sessions
    db = factory()
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


# "function" scope: commit before the response is sent, so a client that acts on a
# response always finds the change in the database.
Db = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]


@dataclass
class Auth:
    user: User
    session: UserSession


async def get_auth(request: Request) -> Auth:
    # The lookup uses a read session of its own, so a write request takes SQLite's
    # write lock only once its handler starts. It is one indexed read (WAL readers never
    # wait), cheap enough to run on the event loop instead of hopping to a thread.
    with request.app.state.read_sessions() as read_db:
        session = accounts.session_for_token(read_db, request.cookies.get(COOKIE_SESSION))
    # Every state-changing request carries the session's CSRF token in a header, which
    # a cross-site form or image tag cannot set.
    if request.method not in SAFE_METHODS and not tokens_equal(
        request.headers.get(HEADER_CSRF), session.csrf_token
    ):
        raise CsrfError("missing or wrong CSRF token; reload the page")
    return Auth(user=session.user, session=session)


CurrentAuth = Annotated[Auth, Depends(get_auth)]


async def get_user(auth: CurrentAuth) -> User:
    return auth.user


CurrentUser = Annotated[User, Depends(get_user)]


P = ParamSpec("P")
R = TypeVar("R")


def commits_in_thread(handler: Callable[P, R]) -> Callable[P, R]:
    """For sync (thread-run) handlers that write. They commit before leaving their
    worker thread: get_db's commit runs on the event loop, and an async handler waiting
    there for SQLite's write lock would otherwise block the very commit that frees it."""

    @functools.wraps(handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        db = kwargs["db"]
        assert isinstance(db, Session)
        try:
            result = handler(*args, **kwargs)
            db.commit()
            return result
        except BaseException:
            db.rollback()
            raise

    return run
