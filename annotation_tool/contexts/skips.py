"""Setting an item aside with a reason: the queue then hands it to someone else.

A skip is kept per person and stage, and ``claims.claim_next`` never offers that
person the item again in that stage. A description or revision its skipper had started
loses its author, so another annotator may take it (their versions stay in the
history). A report of an unreadable image is checked by reading the image: when it
really does not read, the item leaves every queue and no one can score or describe it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log, images
from annotation_tool.contexts.claims import release, require_lock, transition
from annotation_tool.errors import InvalidStateError
from annotation_tool.models import Item, Skip, SkipReason, Stage, User

SKIPPABLE = frozenset(
    {
        Stage.SELECTION,
        Stage.INSPECTION_1,
        Stage.INSPECTION_2,
        Stage.DESCRIPTION,
        Stage.REVISION,
        Stage.AUDIT_1,
        Stage.AUDIT_2,
    }
)


@dataclass(frozen=True)
class SkipOutcome:
    reason: SkipReason
    image_problem: str | None  # set when the image was confirmed unreadable


def skip(
    db: Session,
    user: User,
    item: Item,
    reason: SkipReason,
    comment: str,
    image_roots: tuple[Path, ...],
    ttl_s: int,
) -> SkipOutcome:
    if item.stage not in SKIPPABLE:
        raise InvalidStateError("This item cannot be skipped now.", stage=item.stage)
    require_lock(db, user, item, ttl_s)  # only the person working on it sets it aside
    stage = Stage(item.stage)
    problem = None
    if reason is SkipReason.UNREADABLE:
        problem = images.problem(item.image_ref, image_roots)
    Skip.create(db, item_id=item.id, user_id=user.id, stage=stage, reason=reason, comment=comment)
    values: dict[str, object] = {}
    if stage in (Stage.DESCRIPTION, Stage.REVISION) and item.describer_id == user.id:
        values["describer_id"] = None
    if problem is not None:
        values["image_problem"] = problem
    if values:
        transition(db, item, stage, **values)
    audit_log.record(
        db,
        user,
        "item.skip",
        item=item,
        stage=stage.value,
        reason=reason.value,
        comment=comment,
        image_problem=problem,
    )
    release(db, user, item)
    return SkipOutcome(reason, problem)


def skip_counts(db: Session, project_id: int) -> dict[str, int]:
    """Skips per reason in a project, for the dashboard."""
    rows = db.scalars(
        select(Skip.reason).join(Item, Item.id == Skip.item_id).where(Item.project_id == project_id)
    )
    counts = Counter(rows)
    return {reason.value: counts.get(reason.value, 0) for reason in SkipReason}


def unreadable_items(db: Session, project_id: int) -> list[dict[str, object]]:
    rows = db.execute(
        select(Item.id, Item.image_id, Item.stage, Item.image_problem)
        .where(Item.project_id == project_id, Item.image_problem.is_not(None))
        .order_by(Item.id)
        .limit(200)
    )
    return [
        {"id": id_, "image_id": image_id, "stage": stage, "problem": problem}
        for id_, image_id, stage, problem in rows
    ]
