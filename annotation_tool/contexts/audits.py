"""Two audit rounds of two reviewers each; a rejection sends the text back to its author."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.contexts.claims import release, require_lock, transition
from annotation_tool.errors import InvalidStateError
from annotation_tool.models import Decision, Item, Review, Stage, User
from annotation_tool.validators import ReviewValidator

REVIEWERS_PER_ROUND = 2
AUDIT_ROUND_OF_STAGE = {Stage.AUDIT_1: 1, Stage.AUDIT_2: 2}


def reviews(db: Session, item_id: int) -> list[Review]:
    return list(db.scalars(select(Review).where(Review.item_id == item_id).order_by(Review.id)))


def decide(
    db: Session,
    user: User,
    item: Item,
    decision: Decision,
    rules: list[str],
    comment: str,
    ttl_s: int,
) -> Review:
    if item.stage not in AUDIT_ROUND_OF_STAGE:
        raise InvalidStateError("This item is not waiting for an audit.", stage=item.stage)
    if item.describer_id == user.id:
        raise InvalidStateError("Nobody audits their own description.")
    already = db.scalar(
        select(func.count()).where(
            Review.item_id == item.id,
            Review.reviewer_id == user.id,
            Review.audit_cycle == item.audit_cycle,
        )
    )
    if already:
        raise InvalidStateError("You have already audited this version.")
    if decision == Decision.REJECT:
        ReviewValidator.validate_rejection(rules, comment)
    require_lock(db, user, item, ttl_s)
    stage = Stage(item.stage)
    round_ = AUDIT_ROUND_OF_STAGE[stage]
    review = Review.create(
        db,
        item_id=item.id,
        round=round_,
        audit_cycle=item.audit_cycle,
        description_version=item.description_version,
        reviewer_id=user.id,
        decision=decision,
        rules=sorted(set(rules)) if decision == Decision.REJECT else [],
        comment=comment,
    )
    if decision == Decision.REJECT:
        transition(db, item, stage, stage=Stage.REVISION)
    else:
        accepts = db.scalar(
            select(func.count()).where(
                Review.item_id == item.id,
                Review.audit_cycle == item.audit_cycle,
                Review.round == round_,
                Review.decision == Decision.ACCEPT,
            )
        )
        if accepts >= REVIEWERS_PER_ROUND:
            transition(db, item, stage, stage=Stage.AUDIT_2 if round_ == 1 else Stage.DONE)
    audit_log.record(
        db,
        user,
        "audit.decide",
        item=item,
        round=round_,
        decision=decision.value,
        rules=review.rules,
        comment=comment,
        version=review.description_version,
    )
    release(db, user, item)
    return review
