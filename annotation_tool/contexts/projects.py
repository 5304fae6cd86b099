"""Projects and their item counts per stage."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.errors import ConflictError, ValidationFailedError
from annotation_tool.models import Item, Project, ProjectKind, User


def create_project(
    db: Session,
    name: str,
    actor: User | None,
    *,
    kind: str = ProjectKind.SMALL,
    description: str = "",
    use_drafts: bool = True,
    assessors_per_item: int = 3,
    blind_inspection: bool = True,
) -> Project:
    name = name.strip()
    if not name:
        raise ValidationFailedError("project name must not be empty")
    if kind not in set(ProjectKind):
        raise ValidationFailedError(f"kind must be one of {[k.value for k in ProjectKind]}")
    if not 1 <= assessors_per_item <= 20:
        raise ValidationFailedError("assessors_per_item must be 1-20")
    if db.scalar(select(Project).where(Project.name == name)) is not None:
        raise ConflictError(f"project {name!r} already exists")
    project = Project.create(
        db,
        name=name,
        kind=kind,
        description=description,
        use_drafts=use_drafts,
        assessors_per_item=assessors_per_item,
        blind_inspection=blind_inspection,
        created_by=actor.id if actor else None,
    )
    audit_log.record(db, actor, "project.create", project_id=project.id, name=name, kind=kind)
    return project


def list_projects(db: Session) -> list[Project]:
    return list(
        db.scalars(select(Project).where(Project.archived_at.is_(None)).order_by(Project.id))
    )


def find_project(db: Session, name_or_id: str) -> Project:
    project = db.scalar(select(Project).where(Project.name == name_or_id))
    if project is None and name_or_id.isdigit():
        project = db.get(Project, int(name_or_id))
    if project is None:
        raise ValidationFailedError(f"no project named or numbered {name_or_id!r}")
    return project


def stage_counts(db: Session, project_id: int) -> dict[str, int]:
    rows = db.execute(
        select(Item.stage, func.count()).where(Item.project_id == project_id).group_by(Item.stage)
    )
    return {stage: count for stage, count in rows}
