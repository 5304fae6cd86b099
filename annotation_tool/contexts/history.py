"""An item's full history: every score, description version, review and log entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.contexts.audits import reviews
from annotation_tool.contexts.descriptions import versions
from annotation_tool.models import Item, Score, User


def item_history(db: Session, item: Item) -> dict[str, Any]:
    names = {u.id: u.username for u in db.scalars(select(User))}

    def who(user_id: int | None) -> str | None:
        return names.get(user_id) if user_id is not None else None

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
            for s in db.scalars(select(Score).where(Score.item_id == item.id).order_by(Score.id))
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
            for v in versions(db, item.id)
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
            for r in reviews(db, item.id)
        ],
        "log": [
            {"action": e.action, "user": who(e.user_id), "data": e.data, "at": e.at}
            for e in audit_log.item_log(db, item.id)
        ],
    }
