"""Users, login and sessions."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.errors import ConflictError, NotAuthenticatedError, ValidationFailedError
from annotation_tool.models import Role, User, UserSession, utcnow
from annotation_tool.security import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)

# One rule for the API and the CLI: names that are safe in URLs, logs and exports.
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def _validate_username(username: str) -> None:
    if not USERNAME_PATTERN.fullmatch(username):
        raise ValidationFailedError(
            "usernames are 1-64 characters: letters, digits and _ . @ - only"
        )


def _validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailedError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    db: Session, username: str, password: str, role: str, actor: User | None = None
) -> User:
    username = username.strip()
    _validate_username(username)
    if role not in set(Role):
        raise ValidationFailedError(f"role must be one of {[r.value for r in Role]}")
    _validate_password(password)
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise ConflictError(f"user {username!r} already exists")
    user = User.create(db, username=username, password_hash=hash_password(password), role=role)
    audit_log.record(db, actor, "user.create", target_user=user.id, role=role)
    return user


def revoke_sessions(db: Session, user: User, keep: UserSession | None = None) -> int:
    """Ends every open session of ``user`` but ``keep``; returns how many."""
    conditions = [UserSession.user_id == user.id, UserSession.revoked_at.is_(None)]
    if keep is not None:
        conditions.append(UserSession.id != keep.id)
    sessions = list(db.scalars(select(UserSession).where(*conditions)))
    for session in sessions:
        session.revoked_at = utcnow()
    return len(sessions)


def update_user(
    db: Session,
    user: User,
    actor: User,
    *,
    role: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    actor_session: UserSession | None = None,
) -> User:
    """A new password ends the user's sessions, all but the one making the change
    when people change their own (``actor_session``): whoever knew the old password
    is logged out."""
    if role is not None and role not in set(Role):
        raise ValidationFailedError(f"role must be one of {[r.value for r in Role]}")
    demoted = role is not None and role != Role.ADMIN
    if user.role == Role.ADMIN and user.is_active and (demoted or is_active is False):
        _keep_an_admin(db, user)
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            revoke_sessions(db, user)
    if password is not None:
        _validate_password(password)
        user.password_hash = hash_password(password)
        own = actor_session if actor_session is not None and actor.id == user.id else None
        revoke_sessions(db, user, keep=own)
    audit_log.record(
        db,
        actor,
        "user.update",
        target_user=user.id,
        role=role,
        is_active=is_active,
        password_changed=password is not None,
    )
    db.flush()
    return user


def _keep_an_admin(db: Session, leaving: User) -> None:
    others = db.scalar(
        select(func.count()).where(
            User.role == Role.ADMIN, User.is_active.is_(True), User.id != leaving.id
        )
    )
    if not others:
        raise ConflictError(
            "This is the last active admin; make someone else admin first.",
            user_id=leaving.id,
        )


def list_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.id)))


def authenticate(db: Session, username: str, password: str) -> User:
    user = db.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        verify_password(password, DUMMY_HASH)
        raise NotAuthenticatedError("wrong username or password")
    if not verify_password(password, user.password_hash) or not user.is_active:
        raise NotAuthenticatedError("wrong username or password")
    return user


def open_session(db: Session, user: User, ttl_s: int) -> tuple[str, UserSession]:
    """Returns the cookie value (shown once, stored only as a hash) and the session."""
    token = new_token()
    session = UserSession.create(
        db,
        token_hash=token_digest(token),
        csrf_token=new_token(),
        user_id=user.id,
        expires_at=utcnow() + timedelta(seconds=ttl_s),
    )
    audit_log.record(db, user, "session.login")
    return token, session


def session_for_token(db: Session, token: str | None) -> UserSession:
    if not token:
        raise NotAuthenticatedError("not logged in")
    session = db.scalar(select(UserSession).where(UserSession.token_hash == token_digest(token)))
    if (
        session is None
        or session.revoked_at is not None
        or session.expires_at <= utcnow()
        or not session.user.is_active
    ):
        raise NotAuthenticatedError("session expired; log in again")
    return session


def close_session(db: Session, session: UserSession) -> None:
    session.revoked_at = utcnow()
    audit_log.record(db, session.user, "session.logout")
