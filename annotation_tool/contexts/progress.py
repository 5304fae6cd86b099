"""One person's progress on one task, shown on every task page: done today, left in
their queue, and their pace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from annotation_tool.contexts.claims import TASK_STAGES, Task, lock_is_free, queue_rules
from annotation_tool.models import AuditLog, Item, Project, User, utcnow
from annotation_tool.settings import DEFAULT_TAKEOVER_AFTER_S

# The log action that finishes one item of each task.
TASK_ACTIONS: dict[Task, str] = {
    Task.SELECTION: "selection.score",
    Task.INSPECTION: "selection.inspect",
    Task.SETTLE: "selection.settle",
    Task.DESCRIPTION: "description.submit",
    Task.REVISION: "description.submit",
    Task.AUDIT: "audit.decide",
    Task.STUDY: "study.rate",
}
SKIP_ACTION = "item.skip"


@dataclass(frozen=True)
class Progress:
    task: str
    done_today: int
    skipped_today: int
    left: int  # items this person could claim now, the one they hold included
    per_hour: float | None  # today's pace: items after the first over the time they took
    since: datetime  # the start of "today" (UTC midnight)


def _counts(task: Task, action: str, data: dict[str, Any]) -> bool:
    if action != TASK_ACTIONS[task]:
        return False
    if task in (Task.DESCRIPTION, Task.REVISION):
        return bool(data.get("revision")) == (task is Task.REVISION)
    return True


def my_progress(
    db: Session,
    user: User,
    project: Project,
    task: Task,
    takeover_after_s: int = DEFAULT_TAKEOVER_AFTER_S,
    now: datetime | None = None,
) -> Progress:
    now = now or utcnow()
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = db.execute(
        select(AuditLog.action, AuditLog.data, AuditLog.at)
        .where(
            AuditLog.user_id == user.id,
            AuditLog.project_id == project.id,
            AuditLog.at >= since,
            AuditLog.action.in_([TASK_ACTIONS[task], SKIP_ACTION]),
        )
        .order_by(AuditLog.at)
    )
    stages = {s.value for s in TASK_STAGES[task]}
    done: list[datetime] = []
    skipped = 0
    for action, data, at in rows:
        if _counts(task, action, data or {}):
            done.append(at)
        elif action == SKIP_ACTION and (data or {}).get("stage") in stages:
            skipped += 1
    left = db.scalar(
        select(func.count())
        .select_from(Item)
        .where(
            *queue_rules(task, user, project, takeover_after_s),
            or_(lock_is_free(now), Item.lock_user_id == user.id),
        )
    )
    per_hour = None
    if len(done) >= 2 and done[-1] > done[0]:
        per_hour = round((len(done) - 1) / ((done[-1] - done[0]).total_seconds() / 3600), 1)
    return Progress(task.value, len(done), skipped, int(left or 0), per_hour, since)
