"""Submitting work on a claimed item: scores, inspections, settlements, descriptions,
audit decisions and caption ratings."""

from __future__ import annotations

from fastapi import APIRouter

from annotation_tool.api.deps import AppSettings, CurrentUser, Db, commits_in_thread
from annotation_tool.api.policies import ItemPolicy, authorize, authorize_read
from annotation_tool.api.schemas.common import PathId
from annotation_tool.api.schemas.items import (
    DescriptionSave,
    DescriptionSaved,
    InspectionCreate,
    RatingsCreate,
    ReviewCreate,
    ReviewOut,
    ScoreCreate,
    SettlementCreate,
    SkipCreate,
    SkipOut,
    StageOut,
    Violation,
)
from annotation_tool.contexts import audits, descriptions, selection, skips, study
from annotation_tool.contexts.claims import STAGE_TASK, Task
from annotation_tool.errors import InvalidStateError
from annotation_tool.models import Decision, Item, Project, SkipReason, Stage
from annotation_tool.validators import check_description

router = APIRouter(prefix="/api/items/{item_id}", tags=["work"])


def _stage(item: Item) -> StageOut:
    return StageOut(id=item.id, stage=item.stage, final_score=item.final_score)


@router.post("/scores", status_code=201)
async def create_score(
    item_id: PathId, body: ScoreCreate, user: CurrentUser, db: Db, settings: AppSettings
) -> StageOut:
    authorize(user, ItemPolicy.work(Task.SELECTION))
    item = Item.get_or_raise(db, item_id)
    selection.submit_score(db, user, item, body.score, body.checklist, settings.lock_ttl_s)
    return _stage(item)


@router.post("/inspections", status_code=201)
async def create_inspection(
    item_id: PathId, body: InspectionCreate, user: CurrentUser, db: Db, settings: AppSettings
) -> StageOut:
    authorize(user, ItemPolicy.work(Task.INSPECTION))
    item = Item.get_or_raise(db, item_id)
    selection.inspect_score(db, user, item, body.score, body.comment, settings.lock_ttl_s)
    return _stage(item)


@router.post("/settlements", status_code=201)
async def create_settlement(
    item_id: PathId, body: SettlementCreate, user: CurrentUser, db: Db, settings: AppSettings
) -> StageOut:
    authorize(user, ItemPolicy.work(Task.SETTLE))
    item = Item.get_or_raise(db, item_id)
    selection.settle_score(db, user, item, body.score, body.comment, settings.lock_ttl_s)
    return _stage(item)


def _description_task(item: Item) -> Task:
    return Task.REVISION if item.stage == Stage.REVISION else Task.DESCRIPTION


@router.put("/description")
async def save_description(
    item_id: PathId, body: DescriptionSave, user: CurrentUser, db: Db, settings: AppSettings
) -> DescriptionSaved:
    authorize(user, ItemPolicy.work(Task.DESCRIPTION))  # the role first: 403 says no ids
    item = Item.get_or_raise(db, item_id)
    authorize(user, ItemPolicy.work(_description_task(item)))
    version = descriptions.save(db, user, item, body.text, body.base_version, settings.lock_ttl_s)
    return DescriptionSaved(
        version=version.version,
        kind=version.kind,
        violations=[Violation(**v.as_dict()) for v in check_description(body.text)],
    )


@router.post("/description/submissions", status_code=201)
async def submit_description(
    item_id: PathId, body: DescriptionSave, user: CurrentUser, db: Db, settings: AppSettings
) -> StageOut:
    authorize(user, ItemPolicy.work(Task.DESCRIPTION))  # the role first: 403 says no ids
    item = Item.get_or_raise(db, item_id)
    authorize(user, ItemPolicy.work(_description_task(item)))
    descriptions.submit(db, user, item, body.text, body.base_version, settings.lock_ttl_s)
    return _stage(item)


@router.post("/reviews", status_code=201)
async def create_review(
    item_id: PathId, body: ReviewCreate, user: CurrentUser, db: Db, settings: AppSettings
) -> ReviewOut:
    authorize(user, ItemPolicy.work(Task.AUDIT))
    item = Item.get_or_raise(db, item_id)
    review = audits.decide(
        db, user, item, Decision(body.decision), body.rules, body.comment, settings.lock_ttl_s
    )
    return ReviewOut(
        id=review.id,
        round=review.round,
        decision=review.decision,
        rules=review.rules,
        stage=item.stage,
    )


@router.post("/ratings", status_code=201)
async def create_ratings(
    item_id: PathId, body: RatingsCreate, user: CurrentUser, db: Db, settings: AppSettings
) -> StageOut:
    authorize(user, ItemPolicy.work(Task.STUDY))
    item = Item.get_or_raise(db, item_id)
    project = Project.get_or_raise(db, item.project_id)
    ratings = [study.RatingInput(**r.model_dump()) for r in body.ratings]
    study.rate(db, user, project, item, ratings, settings.lock_ttl_s)
    return _stage(item)


# In a worker thread: a report of an unreadable image decodes the image to check it.
@router.post("/skips", status_code=201)
@commits_in_thread
def skip_item(
    item_id: PathId, body: SkipCreate, user: CurrentUser, db: Db, settings: AppSettings
) -> SkipOut:
    item = Item.get_or_raise(db, item_id)
    authorize_read(user, ItemPolicy.read(item), item, item.id)
    task = STAGE_TASK.get(Stage(item.stage))
    if task is None:
        raise InvalidStateError("This item cannot be skipped now.", stage=item.stage)
    authorize(user, ItemPolicy.work(task))
    outcome = skips.skip(
        db,
        user,
        item,
        SkipReason(body.reason),
        body.comment,
        settings.image_roots,
        settings.lock_ttl_s,
    )
    return SkipOut(
        id=item.id, reason=outcome.reason, image_problem=outcome.image_problem, stage=item.stage
    )
