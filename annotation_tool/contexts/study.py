"""The caption-quality study (paper Table 11): blind ratings and the per-model table."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.contexts.claims import release, require_lock
from annotation_tool.errors import ConflictError, InvalidStateError, ValidationFailedError
from annotation_tool.models import CaptionRating, Item, Project, Stage, StudyCaption, User
from annotation_tool.validators import ScoreValidator

ASPECTS = ("completeness", "relevance", "fantasy")


def blind_captions(db: Session, item: Item, user: User) -> list[StudyCaption]:
    """The item's captions in an order fixed per assessor and item, so the position
    tells nothing about the model and a reload shows the same order."""
    captions = list(db.scalars(select(StudyCaption).where(StudyCaption.item_id == item.id)))

    def key(caption: StudyCaption) -> str:
        return hashlib.sha256(f"{user.id}:{item.id}:{caption.id}".encode()).hexdigest()

    return sorted(captions, key=key)


@dataclass(frozen=True)
class RatingInput:
    caption_id: int
    completeness: int
    relevance: int
    fantasy: int


def rate(
    db: Session, user: User, project: Project, item: Item, ratings: list[RatingInput], ttl_s: int
) -> list[CaptionRating]:
    if item.stage != Stage.STUDY:
        raise InvalidStateError("This item is not part of a caption study.")
    captions = {
        c.id for c in db.scalars(select(StudyCaption).where(StudyCaption.item_id == item.id))
    }
    if {r.caption_id for r in ratings} != captions or len(ratings) != len(captions):
        raise ValidationFailedError("Rate every caption of this image exactly once.")
    for r in ratings:
        for aspect in ASPECTS:
            ScoreValidator.validate_score(getattr(r, aspect), aspect)
    done = db.scalar(
        select(func.count()).where(
            CaptionRating.item_id == item.id, CaptionRating.user_id == user.id
        )
    )
    if done:
        raise ConflictError("You have already rated this image.")
    raters = db.scalar(
        select(func.count(func.distinct(CaptionRating.user_id))).where(
            CaptionRating.item_id == item.id
        )
    )
    if raters >= project.assessors_per_item:
        raise InvalidStateError("This image has all the ratings it needs.")
    require_lock(db, user, item, ttl_s)
    rows = [
        CaptionRating.create(
            db,
            caption_id=r.caption_id,
            item_id=item.id,
            user_id=user.id,
            completeness=r.completeness,
            relevance=r.relevance,
            fantasy=r.fantasy,
        )
        for r in ratings
    ]
    audit_log.record(db, user, "study.rate", item=item, n_captions=len(rows))
    release(db, user, item)
    return rows


@dataclass(frozen=True)
class ModelMeans:
    model: str
    n_captions: int
    n_ratings: int
    completeness: float
    relevance: float
    fantasy: float
    overall: float


def results(db: Session, project_id: int) -> list[ModelMeans]:
    """Mean of each aspect per model over all assessors' ratings (the paper averages the
    assessors per caption; with every caption rated by the same number of people the
    two means are equal)."""
    rows = db.execute(
        select(
            StudyCaption.model,
            func.count(func.distinct(StudyCaption.id)),
            func.count(CaptionRating.id),
            func.avg(CaptionRating.completeness),
            func.avg(CaptionRating.relevance),
            func.avg(CaptionRating.fantasy),
        )
        .join(CaptionRating, CaptionRating.caption_id == StudyCaption.id)
        .join(Item, Item.id == StudyCaption.item_id)
        .where(Item.project_id == project_id)
        .group_by(StudyCaption.model)
        .order_by(StudyCaption.model)
    )
    out = []
    for model, n_captions, n_ratings, comp, rel, fan in rows:
        comp, rel, fan = float(comp), float(rel), float(fan)
        out.append(
            ModelMeans(
                model,
                n_captions,
                n_ratings,
                round(comp, 3),
                round(rel, 3),
                round(fan, 3),
                round((comp + rel + fan) / 3, 3),
            )
        )
    return out
