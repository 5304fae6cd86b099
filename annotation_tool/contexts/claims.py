"""Claiming work: an expiring lock per item, kept alive by heartbeats.

Every lock change is a conditional UPDATE (compare-and-set on the lock columns), so
two people asking at the same moment can never both get an item, on SQLite or on
PostgreSQL, whatever the isolation level.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from annotation_tool.contexts import audit_log
from annotation_tool.errors import ConflictError, InvalidStateError, LockLostError
from annotation_tool.models import (
    CaptionRating,
    Item,
    Project,
    Review,
    Score,
    ScoreRound,
    Skip,
    Stage,
    User,
    utcnow,
)
from annotation_tool.settings import DEFAULT_TAKEOVER_AFTER_S

CANDIDATES_PER_TRY = 16


class Task(StrEnum):
    SELECTION = "selection"
    INSPECTION = "inspection"
    SETTLE = "settle"
    DESCRIPTION = "description"
    REVISION = "revision"
    AUDIT = "audit"
    STUDY = "study"


TASK_STAGES: dict[Task, tuple[Stage, ...]] = {
    Task.SELECTION: (Stage.SELECTION,),
    Task.INSPECTION: (Stage.INSPECTION_1, Stage.INSPECTION_2),
    Task.SETTLE: (Stage.SETTLE,),
    Task.DESCRIPTION: (Stage.DESCRIPTION,),
    Task.REVISION: (Stage.REVISION,),
    Task.AUDIT: (Stage.AUDIT_1, Stage.AUDIT_2),
    Task.STUDY: (Stage.STUDY,),
}
STAGE_TASK: dict[Stage, Task] = {s: t for t, stages in TASK_STAGES.items() for s in stages}


def lock_is_free(now: Any) -> ColumnElement[bool]:
    return or_(Item.lock_user_id.is_(None), Item.lock_expires_at < now)


def eligibility(
    task: Task, user: User, project: Project, takeover_after_s: int = DEFAULT_TAKEOVER_AFTER_S
) -> list[ColumnElement[bool]]:
    """Conditions beyond the stage: who may take which item."""
    if task is Task.DESCRIPTION:
        # A started description stays with its author; someone else gets it only once
        # nobody has touched it (no heartbeat, no save) for takeover_after_s.
        abandoned = Item.updated_at < utcnow() - timedelta(seconds=takeover_after_s)
        return [
            or_(Item.describer_id.is_(None), Item.describer_id == user.id, abandoned),
        ]
    if task is Task.INSPECTION:
        # Each score is checked by two different people, neither of them its annotator.
        already = exists().where(
            Score.item_id == Item.id,
            Score.user_id == user.id,
            Score.round.in_([ScoreRound.INSPECTION_1, ScoreRound.INSPECTION_2]),
        )
        return [or_(Item.annotator_id.is_(None), Item.annotator_id != user.id), ~already]
    if task is Task.AUDIT:
        # Two people per round and four different people per submission.
        already = exists().where(
            Review.item_id == Item.id,
            Review.reviewer_id == user.id,
            Review.audit_cycle == Item.audit_cycle,
        )
        return [or_(Item.describer_id.is_(None), Item.describer_id != user.id), ~already]
    if task is Task.REVISION:
        # A rejection goes back to its author; one they skipped has no author and goes
        # to another annotator.
        return [or_(Item.describer_id == user.id, Item.describer_id.is_(None))]
    if task is Task.STUDY:
        mine = exists().where(CaptionRating.item_id == Item.id, CaptionRating.user_id == user.id)
        raters = (
            select(func.count(func.distinct(CaptionRating.user_id)))
            .where(CaptionRating.item_id == Item.id)
            .scalar_subquery()
        )
        return [~mine, raters < project.assessors_per_item]
    return []


def queue_rules(
    task: Task, user: User, project: Project, takeover_after_s: int = DEFAULT_TAKEOVER_AFTER_S
) -> list[ColumnElement[bool]]:
    """The items of ``project`` waiting for ``user`` in ``task``: its stages, who may
    take them, never an unreadable image, never one this person skipped in its stage."""
    skipped = exists().where(
        Skip.item_id == Item.id, Skip.user_id == user.id, Skip.stage == Item.stage
    )
    return [
        Item.project_id == project.id,
        Item.stage.in_([s.value for s in TASK_STAGES[task]]),
        Item.image_problem.is_(None),
        ~skipped,
        *eligibility(task, user, project, takeover_after_s),
    ]


def refuse_if_skipped(db: Session, user: User, item: Item) -> None:
    """Whoever skipped an item in its stage has given it away: a late autosave from their
    tab must not make them its author again."""
    skipped = db.scalar(
        select(Skip.id)
        .where(Skip.item_id == item.id, Skip.user_id == user.id, Skip.stage == item.stage)
        .limit(1)
    )
    if skipped is not None:
        raise InvalidStateError("You skipped this item; it goes to someone else now.")


def _set_loaded(item: Item, **values: Any) -> None:
    """Mirror a conditional UPDATE onto the loaded object without another SELECT."""
    for key, value in values.items():
        set_committed_value(item, key, value)


def _try_lock(db: Session, item_id: int, user: User, ttl_s: int, extra: Iterable[Any] = ()) -> Any:
    """The new expiry when the lock was taken or extended, else None."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl_s)
    result = db.execute(
        update(Item)
        .where(
            Item.id == item_id,
            or_(lock_is_free(now), Item.lock_user_id == user.id),
            *extra,
        )
        .values(lock_user_id=user.id, lock_expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    return expires if result.rowcount == 1 else None


def release_others(db: Session, user: User, project_id: int, keep: int | None) -> None:
    """One claim per person per project: moving on frees what was left behind."""
    conditions = [Item.project_id == project_id, Item.lock_user_id == user.id]
    if keep is not None:
        conditions.append(Item.id != keep)
    db.execute(
        update(Item)
        .where(*conditions)
        .values(lock_user_id=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def claim_next(
    db: Session,
    user: User,
    project: Project,
    task: Task,
    ttl_s: int,
    exclude: Iterable[int] = (),
    takeover_after_s: int = DEFAULT_TAKEOVER_AFTER_S,
) -> Item | None:
    """The item ``user`` works on next for ``task``, locked to them; None if the queue
    is empty. An item they already hold (a reloaded page) comes back first, then a
    description they started."""
    now = utcnow()
    rules = queue_rules(task, user, project, takeover_after_s)
    excluded = [int(i) for i in exclude]
    rules_now = [*rules, Item.id.not_in(excluded)] if excluded else rules
    # Look the held item up by the lock index first: filtering the whole stage for the
    # lock holder would scan every waiting item on each claim.
    held_ids = list(
        db.scalars(select(Item.id).where(Item.lock_user_id == user.id, Item.lock_expires_at >= now))
    )
    held = (
        db.scalar(
            select(Item.id).where(Item.id.in_(held_ids), *rules_now).order_by(Item.id).limit(1)
        )
        if held_ids
        else None
    )
    candidates = [held] if held is not None else []
    if not candidates:
        order = [Item.id]
        if task is Task.DESCRIPTION:
            order.insert(0, case((Item.describer_id == user.id, 0), else_=1))
        query = select(Item.id).where(*rules_now, lock_is_free(now)).order_by(*order)
        candidates = list(db.scalars(query.limit(CANDIDATES_PER_TRY)))
    for item_id in candidates:
        # Repeat the stage and eligibility test inside the UPDATE: the row may have
        # moved on between the SELECT and now.
        if _try_lock(db, item_id, user, ttl_s, rules):
            release_others(db, user, project.id, keep=item_id)
            item = db.get(Item, item_id, populate_existing=True)
            assert item is not None
            if held is None:
                audit_log.record(db, user, "item.claim", item=item, task=task.value)
            return item
    release_others(db, user, project.id, keep=None)
    return None


def require_lock(db: Session, user: User, item: Item, ttl_s: int) -> None:
    """Writes need the lock. An expired lock nobody else took is taken back, so work
    survives a sleeping laptop or an expired session. An image reported and confirmed
    unreadable takes no more work."""
    if item.image_problem is not None:
        raise InvalidStateError(
            f"This image cannot be read ({item.image_problem}); it was reported and can be "
            "neither scored nor described.",
            image_problem=item.image_problem,
        )
    expires = _try_lock(db, item.id, user, ttl_s)
    if expires is None:
        raise LockLostError("Someone else is working on this item now.", item_id=item.id)
    _set_loaded(item, lock_user_id=user.id, lock_expires_at=expires)


def heartbeat(db: Session, user: User, item: Item, ttl_s: int) -> Item:
    """Extends a claim that is still this person's (even if it lapsed and nobody took
    it). Unlike a write it never takes a released item back: a tab left open on an item
    submitted elsewhere must not keep locking it."""
    expires = _try_lock(db, item.id, user, ttl_s, [Item.lock_user_id == user.id])
    if expires is None:
        raise LockLostError("This item is no longer claimed by you.", item_id=item.id)
    _set_loaded(item, lock_user_id=user.id, lock_expires_at=expires)
    return item


def release(db: Session, user: User, item: Item) -> None:
    db.execute(
        update(Item)
        .where(Item.id == item.id, Item.lock_user_id == user.id)
        .values(lock_user_id=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if item.lock_user_id == user.id:
        _set_loaded(item, lock_user_id=None, lock_expires_at=None)


def release_all(db: Session, user: User) -> int:
    """At logout: every claim of ``user`` is freed now, not when its lock runs out."""
    result = db.execute(
        update(Item)
        .where(Item.lock_user_id == user.id)
        .values(lock_user_id=None, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def transition(db: Session, item: Item, expected: Stage, **values: Any) -> None:
    """Compare-and-set on the stage: a second, concurrent submission of the same step
    fails with a conflict instead of being applied twice."""
    values = {"updated_at": utcnow(), **values}
    result = db.execute(
        update(Item)
        .where(Item.id == item.id, Item.stage == expected.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ConflictError("This item was changed by someone else; reload it.", item_id=item.id)
    _set_loaded(item, **values)
