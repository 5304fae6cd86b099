"""An item's history (every score, description version, review and log entry), cut
down to what one reader may see; the same ``ItemVisibility`` shapes the item view."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.contexts.audits import reviews
from annotation_tool.contexts.descriptions import versions
from annotation_tool.models import Item, Score, User, VersionKind


class TextAccess(StrEnum):
    NONE = "none"
    SUBMITTED = "submitted"  # only texts as submitted for audit (reviewers)
    ALL = "all"  # every version, autosaves included (the author, admins)


@dataclass(frozen=True)
class ItemVisibility:
    """What one reader may see of one item (built by ``ItemPolicy.visibility``)."""

    reader_id: int
    all_scores: bool  # every round's score, else only the reader's own
    names: bool  # who scored, wrote and reviewed
    text: TextAccess
    reviews: bool
    log: bool  # the raw audit log


def item_history(db: Session, item: Item, view: ItemVisibility) -> dict[str, Any]:
    names = {u.id: u.username for u in db.scalars(select(User))}

    def who(user_id: int | None) -> str | None:
        if user_id is None or not (view.names or user_id == view.reader_id):
            return None
        return names.get(user_id)

    scores = db.scalars(select(Score).where(Score.item_id == item.id).order_by(Score.id))
    texts = [] if view.text is TextAccess.NONE else versions(db, item.id)
    if view.text is TextAccess.SUBMITTED:
        texts = [v for v in texts if v.kind == VersionKind.SUBMIT]
    return {
        "scores": [
            {
                "round": s.round,
                "score": s.score,
                "user": who(s.user_id),
                "checklist": s.checklist,
                "comment": s.comment,
                "at": s.created_at,
            }
            for s in scores
            if view.all_scores or s.user_id == view.reader_id
        ],
        "versions": [
            {
                "version": v.version,
                "kind": v.kind,
                "text": v.text,
                "author": who(v.author_id),
                "draft_model": v.draft_model,
                "at": v.created_at,
            }
            for v in texts
        ],
        "reviews": [
            {
                "round": r.round,
                "audit_cycle": r.audit_cycle,
                "version": r.description_version,
                "reviewer": who(r.reviewer_id),
                "decision": r.decision,
                "rules": r.rules,
                "comment": r.comment,
                "at": r.created_at,
            }
            for r in (reviews(db, item.id) if view.reviews else [])
        ],
        "log": [
            {"action": e.action, "user": who(e.user_id), "data": e.data, "at": e.at}
            for e in (audit_log.item_log(db, item.id) if view.log else [])
        ],
    }
