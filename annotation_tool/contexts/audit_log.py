"""Writing the audit log; every context that changes state calls ``record``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.models import AuditLog, Item, User


def record(
    db: Session,
    actor: User | None,
    action: str,
    *,
    item: Item | None = None,
    project_id: int | None = None,
    **data: Any,
) -> AuditLog:
    return AuditLog.create(
        db,
        user_id=actor.id if actor else None,
        project_id=item.project_id if item is not None else project_id,
        item_id=item.id if item is not None else None,
        action=action,
        data=data,
    )


def item_log(db: Session, item_id: int) -> list[AuditLog]:
    return list(
        db.scalars(select(AuditLog).where(AuditLog.item_id == item_id).order_by(AuditLog.id))
    )
