from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from annotation_tool.api.deps import AppSettings, CurrentUser, Db, commits_in_thread
from annotation_tool.api.policies import ProjectPolicy, authorize
from annotation_tool.api.schemas.common import PathId
from annotation_tool.api.schemas.projects import (
    ImportCreate,
    ImportOut,
    ImportPreviewOut,
    ModelMeansOut,
    MyItem,
    ProjectCreate,
    ProjectOut,
    ProjectWithCounts,
)
from annotation_tool.contexts import dashboard, exports, imports, projects, study
from annotation_tool.contexts.selection import latest_scores
from annotation_tool.models import Item, Project, ScoreRound

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.get("")
def list_projects(user: CurrentUser, db: Db) -> list[ProjectOut]:
    authorize(user, ProjectPolicy.list())
    return [ProjectOut.model_validate(p) for p in projects.list_projects(db)]


@router.post("", status_code=201)
@commits_in_thread
def create_project(body: ProjectCreate, user: CurrentUser, db: Db) -> ProjectOut:
    authorize(user, ProjectPolicy.create())
    project = projects.create_project(db, actor=user, **body.model_dump())
    return ProjectOut.model_validate(project)


@router.get("/{project_id}")
def get_project(project_id: PathId, user: CurrentUser, db: Db) -> ProjectWithCounts:
    authorize(user, ProjectPolicy.list())
    project = Project.get_or_raise(db, project_id)
    return ProjectWithCounts(
        **ProjectOut.model_validate(project).model_dump(),
        stages=projects.stage_counts(db, project.id),
    )


@router.post("/{project_id}/imports", status_code=201)
@commits_in_thread
def import_items(
    project_id: PathId,
    body: ImportCreate,
    request: Request,
    user: CurrentUser,
    db: Db,
    settings: AppSettings,
) -> ImportOut:
    authorize(user, ProjectPolicy.import_items())
    run_dir = imports.check_run_dir(body.run_dir, settings.import_roots)
    flt = _import_filter(body)
    # DuckDB scans the run before the write session is first used, so SQLite's write
    # lock is held only for the inserts.
    with request.app.state.read_sessions() as read_db:
        kind = Project.get_or_raise(read_db, project_id).kind
    by_image = imports.query_candidates(run_dir, flt, kind)
    project = Project.get_or_raise(db, project_id)
    result = imports.add_candidates(db, project, by_image, run_dir, flt, user)
    return ImportOut(**result.__dict__)


def _import_filter(body: ImportCreate) -> imports.ImportFilter:
    return imports.ImportFilter(
        min_aesthetic=body.min_aesthetic,
        min_short_edge=body.min_short_edge,
        sources=tuple(body.sources),
        limit=body.limit,
        draft_model=body.draft_model,
    )


# A POST for its body, but it changes nothing: the count before an import, and why a
# filter matches no image.
@router.post("/{project_id}/imports/preview")
def preview_import(
    project_id: PathId,
    body: ImportCreate,
    request: Request,
    user: CurrentUser,
    settings: AppSettings,
) -> ImportPreviewOut:
    authorize(user, ProjectPolicy.import_items())
    run_dir = imports.check_run_dir(body.run_dir, settings.import_roots)
    with request.app.state.read_sessions() as read_db:
        project = Project.get_or_raise(read_db, project_id)
        kind = project.kind
        existing = set(read_db.scalars(select(Item.image_id).where(Item.project_id == project.id)))
    result = imports.preview(run_dir, _import_filter(body), kind, existing)
    return ImportPreviewOut.model_validate(result, from_attributes=True)


@router.get("/{project_id}/my-items")
def my_items(project_id: PathId, user: CurrentUser, db: Db) -> list[MyItem]:
    """An annotator's own work: what they scored or described, newest first."""
    authorize(user, ProjectPolicy.my_items())
    project = Project.get_or_raise(db, project_id)
    items = db.scalars(
        select(Item)
        .where(
            Item.project_id == project.id,
            (Item.annotator_id == user.id) | (Item.describer_id == user.id),
        )
        .order_by(Item.updated_at.desc(), Item.id.desc())
        .limit(500)
    )
    out = []
    for item in items:
        mine = latest_scores(db, item.id).get(ScoreRound.ANNOTATOR)
        out.append(
            MyItem(
                id=item.id,
                image_id=item.image_id,
                stage=item.stage,
                my_score=mine.score if mine and mine.user_id == user.id else None,
                final_score=item.final_score,
                description_version=item.description_version,
                updated_at=item.updated_at,
            )
        )
    return out


@router.get("/{project_id}/dashboard")
def get_dashboard(project_id: PathId, user: CurrentUser, db: Db) -> dict[str, Any]:
    authorize(user, ProjectPolicy.dashboard())
    project = Project.get_or_raise(db, project_id)
    return dashboard.dashboard(db, project.id)


# POST, not GET: an export writes an audit row, and a GET must change nothing (a link,
# a prefetch or an <img> could trigger it; POST needs the CSRF header).
@router.post("/{project_id}/export")
@commits_in_thread
def export(
    project_id: PathId, user: CurrentUser, db: Db, format: Literal["parquet", "jsonl"] = "parquet"
) -> Response:
    authorize(user, ProjectPolicy.export())
    project = Project.get_or_raise(db, project_id)
    data = exports.export_bytes(db, project, format, user)
    media = "application/vnd.apache.parquet" if format == "parquet" else "application/x-ndjson"
    filename = f"paraimage-small-{project.id}.{format}"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{project_id}/study-results")
def study_results(project_id: PathId, user: CurrentUser, db: Db) -> list[ModelMeansOut]:
    authorize(user, ProjectPolicy.study_results())
    project = Project.get_or_raise(db, project_id)
    return [ModelMeansOut(**m.__dict__) for m in study.results(db, project.id)]
