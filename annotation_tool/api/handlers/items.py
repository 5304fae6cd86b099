from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from annotation_tool.api.deps import AppSettings, CurrentUser, Db
from annotation_tool.api.policies import ItemPolicy, authorize, authorize_read
from annotation_tool.api.schemas.common import PathId
from annotation_tool.api.schemas.items import (
    CaptionView,
    ClaimCreate,
    DescriptionView,
    DiffPiece,
    ItemOut,
    LockOut,
    ProgressOut,
    ReviewView,
    RevisionView,
    ScoreView,
)
from annotation_tool.contexts import (
    claims,
    descriptions,
    history,
    images,
    progress,
    revisions,
    study,
)
from annotation_tool.contexts.audits import reviews
from annotation_tool.contexts.claims import STAGE_TASK, Task
from annotation_tool.contexts.history import TextAccess
from annotation_tool.contexts.selection import latest_scores
from annotation_tool.models import Item, Project, Review, Stage, User

router = APIRouter(tags=["items"])

IMAGE_CACHE = "private, max-age=3600"  # images behind a login: browser cache only


AUDIT_STAGES = (Stage.AUDIT_1, Stage.AUDIT_2)


def visibility(db: Session, item: Item, user: User) -> history.ItemVisibility:
    project = db.get(Project, item.project_id)
    blind = project.blind_inspection if project is not None else True
    return ItemPolicy.visibility(item, user, blind_inspection=blind)


def _review_view(db: Session, r: Review, names: bool) -> ReviewView:
    return ReviewView(
        round=r.round,
        audit_cycle=r.audit_cycle,
        decision=r.decision,
        rules=r.rules,
        comment=r.comment,
        reviewer=_name(db, r.reviewer_id) if names else None,
    )


def _revision_view(db: Session, item: Item, view: history.ItemVisibility) -> RevisionView | None:
    """For the auditor of a resubmitted text: the rejection and the diff."""
    if item.stage not in AUDIT_STAGES or view.text is TextAccess.NONE:
        return None
    revision = revisions.revision_of(db, item)
    if revision is None:
        return None
    return RevisionView(
        audit_cycle=revision.audit_cycle,
        previous_version=revision.previous.version,
        version=revision.current.version,
        rejections=[_review_view(db, r, view.names) for r in revision.rejections],
        diff=[DiffPiece(op=op, text=text) for op, text in revision.diff],  # type: ignore[arg-type]
    )


def item_view(db: Session, item: Item, user: User) -> ItemOut:
    """What ``user`` may see of ``item`` (``ItemPolicy.visibility``); assessors never
    see a caption's model."""
    view = visibility(db, item, user)
    scores = [
        ScoreView(
            round=s.round,
            score=s.score,
            user=_name(db, s.user_id) if view.names else None,
            comment=s.comment,
            checklist=s.checklist,
        )
        for s in latest_scores(db, item.id).values()
        if view.all_scores or s.user_id == user.id
    ]
    text = None
    if view.text is TextAccess.ALL:
        text = descriptions.current_version(db, item)
    elif view.text is TextAccess.SUBMITTED:
        text = descriptions.last_submitted(db, item)
    captions: list[CaptionView] = []
    if item.stage == Stage.STUDY:
        captions = [
            CaptionView(id=c.id, label=f"Caption {chr(ord('A') + i)}", caption=c.caption)
            for i, c in enumerate(study.blind_captions(db, item, user))
        ]
    return ItemOut(
        id=item.id,
        project_id=item.project_id,
        image_id=item.image_id,
        source=item.source,
        source_key=item.source_key,
        stage=item.stage,
        task=STAGE_TASK.get(Stage(item.stage), None),
        width=item.width,
        height=item.height,
        aesthetic_score=item.aesthetic_score,
        final_score=item.final_score,
        lock_expires_at=item.lock_expires_at if item.lock_user_id == user.id else None,
        locked_by_me=item.lock_user_id == user.id,
        scores=scores,
        description=(
            DescriptionView(version=text.version, kind=text.kind, text=text.text)
            if text is not None
            else None
        ),
        draft_model=(
            descriptions.draft_model_used(db, item.id) if view.text is not TextAccess.NONE else None
        ),
        reviews=[_review_view(db, r, view.names) for r in reviews(db, item.id)]
        if view.reviews
        else [],
        captions=captions,
        image_problem=item.image_problem,
        blind=view.blind,
        revision=_revision_view(db, item, view),
    )


def _name(db: Session, user_id: int) -> str | None:
    user = db.get(User, user_id)
    return user.username if user else None


@router.post("/api/projects/{project_id}/claims", response_model=None)
async def claim(
    project_id: PathId, body: ClaimCreate, user: CurrentUser, db: Db, settings: AppSettings
) -> ItemOut | Response:
    task = Task(body.task)
    authorize(user, ItemPolicy.work(task))
    project = Project.get_or_raise(db, project_id)
    item = claims.claim_next(
        db, user, project, task, settings.lock_ttl_s, body.exclude, settings.takeover_after_s
    )
    if item is None:
        return Response(status_code=204)  # the queue is empty for this person
    if task is Task.DESCRIPTION:
        descriptions.take_over(db, user, item)
        descriptions.ensure_draft(db, project, item)
    return item_view(db, item, user)


@router.get("/api/projects/{project_id}/progress")
async def my_progress(
    project_id: PathId, task: Task, user: CurrentUser, db: Db, settings: AppSettings
) -> ProgressOut:
    """The caller's own figures for one task: done today, left, pace."""
    authorize(user, ItemPolicy.work(task))
    project = Project.get_or_raise(db, project_id)
    result = progress.my_progress(db, user, project, task, settings.takeover_after_s)
    return ProgressOut(**result.__dict__)


@router.get("/api/items/{item_id}")
async def get_item(item_id: PathId, user: CurrentUser, db: Db) -> ItemOut:
    item = Item.get_or_raise(db, item_id)
    authorize_read(user, ItemPolicy.read(item), item, item.id)
    return item_view(db, item, user)


@router.post("/api/items/{item_id}/heartbeat")
async def heartbeat(item_id: PathId, user: CurrentUser, db: Db, settings: AppSettings) -> LockOut:
    item = Item.get_or_raise(db, item_id)
    authorize_read(user, ItemPolicy.read(item), item, item.id)
    claims.heartbeat(db, user, item, settings.lock_ttl_s)
    return LockOut(item_id=item.id, lock_expires_at=item.lock_expires_at)


@router.delete("/api/items/{item_id}/lock", status_code=204)
async def release_lock(item_id: PathId, user: CurrentUser, db: Db) -> None:
    """Frees the caller's own claim (a closed tab, 'skip'); other people's locks stay."""
    authorize(user, ItemPolicy.release())
    item = Item.get_or_raise(db, item_id)
    claims.release(db, user, item)


@router.get("/api/items/{item_id}/image")
def get_image(item_id: PathId, user: CurrentUser, db: Db, settings: AppSettings) -> Response:
    item = Item.get_or_raise(db, item_id)
    authorize_read(user, ItemPolicy.read(item), item, item.id)
    data, media_type = images.read_original(item.image_ref, settings.image_roots)
    return Response(data, media_type=media_type, headers={"Cache-Control": IMAGE_CACHE})


@router.get("/api/items/{item_id}/thumbnail")
def get_thumbnail(item_id: PathId, user: CurrentUser, db: Db, settings: AppSettings) -> Response:
    item = Item.get_or_raise(db, item_id)
    authorize_read(user, ItemPolicy.read(item), item, item.id)
    data = images.read_thumbnail(item.image_ref, settings.image_roots, settings.thumbnail_dir)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": IMAGE_CACHE})


@router.get("/api/items/{item_id}/history")
def get_history(item_id: PathId, user: CurrentUser, db: Db) -> dict[str, Any]:
    item = Item.get_or_raise(db, item_id)
    authorize_read(user, ItemPolicy.history(item), item, item.id)
    return history.item_history(db, item, visibility(db, item, user))
