"""Selection scoring and its two rounds of inspection, settled by an admin on dispute."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.contexts.claims import release, require_lock, transition
from annotation_tool.errors import InvalidStateError
from annotation_tool.models import Item, Project, Score, ScoreRound, Stage, User
from annotation_tool.validators import ScoreValidator

SELECTED_SCORE = 5  # only images scored 5 are described (paper §3.2.2)


def latest_scores(db: Session, item_id: int) -> dict[int, Score]:
    """The score that counts in each round (rows are append-only; the last one wins)."""
    rows = db.scalars(select(Score).where(Score.item_id == item_id).order_by(Score.id))
    return {row.round: row for row in rows}


def submit_score(
    db: Session, user: User, item: Item, score: int, checklist: list[str], ttl_s: int
) -> Item:
    """The annotator's score. It may be changed (the 'previous' key) until an inspector
    has looked at it."""
    ScoreValidator.validate_score(score)
    ScoreValidator.validate_checklist(checklist)
    rescoring = item.stage == Stage.INSPECTION_1 and item.annotator_id == user.id
    if item.stage != Stage.SELECTION and not rescoring:
        raise InvalidStateError("This item's score can no longer be changed.", stage=item.stage)
    if rescoring and item.lock_user_id not in (None, user.id):
        # An inspector claimed it and has seen the score, even if the claim has since
        # lapsed: a change now would have their inspection stored against a score
        # they never saw.
        raise InvalidStateError("An inspector has already looked at this score.")
    require_lock(db, user, item, ttl_s)
    if rescoring:
        has_inspection = ScoreRound.INSPECTION_1 in latest_scores(db, item.id)
        if has_inspection or item.stage != Stage.INSPECTION_1:
            raise InvalidStateError("An inspector has already checked this score.")
    Score.create(
        db,
        item_id=item.id,
        user_id=user.id,
        round=ScoreRound.ANNOTATOR,
        score=score,
        checklist=sorted(set(checklist)),
    )
    if not rescoring:
        transition(db, item, Stage.SELECTION, stage=Stage.INSPECTION_1, annotator_id=user.id)
    audit_log.record(
        db,
        user,
        "selection.rescore" if rescoring else "selection.score",
        item=item,
        score=score,
        checklist=sorted(set(checklist)),
    )
    release(db, user, item)
    return item


def _finalize(db: Session, item: Item, expected: Stage, score: int) -> None:
    stage = Stage.DESCRIPTION if score == SELECTED_SCORE else Stage.NOT_SELECTED
    transition(db, item, expected, stage=stage, final_score=score)


def inspect_score(
    db: Session, user: User, item: Item, score: int, comment: str, ttl_s: int
) -> Item:
    """A reviewer confirms (same number) or corrects the annotator's score. After the
    second round an item whose three scores agree is final; any disagreement goes to
    an admin."""
    ScoreValidator.validate_score(score)
    if item.stage not in (Stage.INSPECTION_1, Stage.INSPECTION_2):
        raise InvalidStateError("This item is not waiting for inspection.", stage=item.stage)
    scores = latest_scores(db, item.id)
    if item.annotator_id == user.id or any(
        s.user_id == user.id for r, s in scores.items() if r != ScoreRound.ANNOTATOR
    ):
        raise InvalidStateError("Inspect items you have not scored or inspected before.")
    require_lock(db, user, item, ttl_s)
    round_ = (
        ScoreRound.INSPECTION_1 if item.stage == Stage.INSPECTION_1 else ScoreRound.INSPECTION_2
    )
    blind = Project.get_or_raise(db, item.project_id).blind_inspection
    Score.create(
        db,
        item_id=item.id,
        user_id=user.id,
        round=round_,
        score=score,
        comment=comment,
        blind=blind,
    )
    annotator_score = scores[ScoreRound.ANNOTATOR].score
    audit_log.record(
        db,
        user,
        "selection.inspect",
        item=item,
        round=int(round_),
        score=score,
        confirmed=score == annotator_score,
        blind=blind,
    )
    if round_ == ScoreRound.INSPECTION_1:
        transition(db, item, Stage.INSPECTION_1, stage=Stage.INSPECTION_2)
    else:
        first = scores[ScoreRound.INSPECTION_1].score
        if annotator_score == first == score:
            _finalize(db, item, Stage.INSPECTION_2, score)
        else:
            transition(db, item, Stage.INSPECTION_2, stage=Stage.SETTLE)
    release(db, user, item)
    return item


def settle_score(db: Session, user: User, item: Item, score: int, comment: str, ttl_s: int) -> Item:
    ScoreValidator.validate_score(score)
    if item.stage != Stage.SETTLE:
        raise InvalidStateError("This item has no disputed score.", stage=item.stage)
    require_lock(db, user, item, ttl_s)
    Score.create(
        db,
        item_id=item.id,
        user_id=user.id,
        round=ScoreRound.SETTLEMENT,
        score=score,
        comment=comment,
    )
    _finalize(db, item, Stage.SETTLE, score)
    audit_log.record(db, user, "selection.settle", item=item, score=score, comment=comment)
    release(db, user, item)
    return item
