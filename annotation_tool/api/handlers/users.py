from __future__ import annotations

from fastapi import APIRouter

from annotation_tool.api.deps import CurrentAuth, CurrentUser, Db, commits_in_thread
from annotation_tool.api.policies import UserPolicy, authorize
from annotation_tool.api.schemas.common import PathId
from annotation_tool.api.schemas.users import UserCreate, UserOut, UserUpdate
from annotation_tool.contexts import accounts
from annotation_tool.models import User, UserSession

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("")
def list_users(user: CurrentUser, db: Db) -> list[UserOut]:
    authorize(user, UserPolicy.list())
    return [UserOut.model_validate(u) for u in accounts.list_users(db)]


@router.post("", status_code=201)
@commits_in_thread
def create_user(body: UserCreate, user: CurrentUser, db: Db) -> UserOut:
    authorize(user, UserPolicy.create())
    created = accounts.create_user(db, body.username, body.password, body.role, actor=user)
    return UserOut.model_validate(created)


@router.patch("/{user_id}")
@commits_in_thread
def update_user(user_id: PathId, body: UserUpdate, auth: CurrentAuth, db: Db) -> UserOut:
    authorize(auth.user, UserPolicy.update())
    target = User.get_or_raise(db, user_id)
    updated = accounts.update_user(
        db,
        target,
        auth.user,
        role=body.role,
        is_active=body.is_active,
        password=body.password,
        actor_session=UserSession.get_or_raise(db, auth.session.id),
    )
    return UserOut.model_validate(updated)
