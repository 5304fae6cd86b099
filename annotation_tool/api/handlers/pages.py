"""HTML pages. Each page checks the role like the API does; the page's script then
talks to the JSON API with the session's CSRF token."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from annotation_tool.api.deps import CurrentAuth, Db
from annotation_tool.api.handlers.auth import set_login_csrf_cookie
from annotation_tool.api.policies import (
    ItemPolicy,
    ProjectPolicy,
    UserPolicy,
    authorize,
    authorize_read,
)
from annotation_tool.api.policies.item_policy import TASK_ROLES
from annotation_tool.api.schemas.common import PathId
from annotation_tool.contexts import projects
from annotation_tool.contexts.claims import Task
from annotation_tool.errors import NotFoundError
from annotation_tool.guidelines import (
    DESCRIPTION_RULES,
    SCORE_ANCHORS,
    SELECTION_RULES,
    STUDY_ASPECTS,
)
from annotation_tool.models import Item, Project, ProjectKind
from annotation_tool.validators.description import RULE_CONFIG

router = APIRouter(include_in_schema=False)

TASK_TEMPLATES = {
    Task.SELECTION: "selection.html",
    Task.INSPECTION: "score_review.html",
    Task.SETTLE: "score_review.html",
    Task.DESCRIPTION: "description.html",
    Task.REVISION: "description.html",
    Task.AUDIT: "audit.html",
    Task.STUDY: "study.html",
}
TASK_TITLES = {
    Task.SELECTION: "Select images (score 1-5)",
    Task.INSPECTION: "Inspect selection scores",
    Task.SETTLE: "Settle disputed scores",
    Task.DESCRIPTION: "Describe selected images",
    Task.REVISION: "Revise rejected descriptions",
    Task.AUDIT: "Audit descriptions",
    Task.STUDY: "Rate machine captions",
}
PROJECT_TASKS = {
    ProjectKind.SMALL: (
        Task.SELECTION,
        Task.DESCRIPTION,
        Task.REVISION,
        Task.INSPECTION,
        Task.AUDIT,
        Task.SETTLE,
    ),
    ProjectKind.CAPTION_STUDY: (Task.STUDY,),
}


def render(request: Request, template: str, auth: CurrentAuth | None, **context: Any) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": auth.user if auth else None,
            "csrf_token": auth.session.csrf_token if auth else "",
            **context,
        },
    )


DEFAULT_NEXT = "/projects"


def local_path(target: str) -> str:
    """``target`` if it is a path on this server, else ``DEFAULT_NEXT``: an open
    redirect after login would be a phishing aid. Browsers drop tabs and newlines from
    URLs and read a backslash as a slash, so ``/\\evil`` and ``/<TAB>/evil`` are the
    host-relative ``//evil``; anything but printable ASCII is refused before that."""
    if not target.isascii() or not target.isprintable() or "\\" in target or " " in target:
        return DEFAULT_NEXT
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return DEFAULT_NEXT
    if parts.path.startswith("//"):
        return DEFAULT_NEXT
    return target


@router.get("/login")
def login_page(request: Request, next: str = DEFAULT_NEXT) -> Response:
    target = local_path(next)
    token = request.app.state.login_tokens.issue()
    templates = request.app.state.templates
    response = templates.TemplateResponse(
        request, "login.html", {"user": None, "next": target, "login_csrf": token}
    )
    set_login_csrf_cookie(request, response, token)
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/projects", status_code=303)


@router.get("/projects")
def projects_page(request: Request, auth: CurrentAuth, db: Db) -> Response:
    authorize(auth.user, ProjectPolicy.list())
    rows = [(p, projects.stage_counts(db, p.id)) for p in projects.list_projects(db)]
    return render(request, "projects.html", auth, projects=rows)


@router.get("/projects/{project_id}")
def project_page(project_id: PathId, request: Request, auth: CurrentAuth, db: Db) -> Response:
    authorize(auth.user, ProjectPolicy.list())
    project = Project.get_or_raise(db, project_id)
    tasks = [
        (task, TASK_TITLES[task])
        for task in PROJECT_TASKS[ProjectKind(project.kind)]
        if auth.user.role in TASK_ROLES[task]
    ]
    return render(
        request,
        "project.html",
        auth,
        project=project,
        tasks=tasks,
        stages=projects.stage_counts(db, project.id),
    )


@router.get("/projects/{project_id}/tasks/{task}")
def task_page(
    project_id: PathId, task: Task, request: Request, auth: CurrentAuth, db: Db
) -> Response:
    authorize(auth.user, ItemPolicy.work(task))
    project = Project.get_or_raise(db, project_id)
    if task not in PROJECT_TASKS[ProjectKind(project.kind)]:
        raise NotFoundError(f"project {project.name!r} has no {task.value} task")
    page = {
        "projectId": project.id,
        "task": task.value,
        "rules": RULE_CONFIG,
        "descriptionRules": [r.__dict__ for r in DESCRIPTION_RULES],
        "selectionRules": [r.__dict__ for r in SELECTION_RULES],
        "aspects": [a.__dict__ for a in STUDY_ASPECTS],
        "lockTtlS": request.app.state.settings.lock_ttl_s,
    }
    return render(
        request,
        TASK_TEMPLATES[task],
        auth,
        project=project,
        task=task,
        title=TASK_TITLES[task],
        # "<" escaped so no string in the JSON can close the <script> block.
        page_json=json.dumps(page).replace("<", "\\u003c"),
        selection_rules=SELECTION_RULES,
        score_anchors=SCORE_ANCHORS,
        description_rules=DESCRIPTION_RULES,
        aspects=STUDY_ASPECTS,
    )


@router.get("/projects/{project_id}/mine")
def mine_page(project_id: PathId, request: Request, auth: CurrentAuth, db: Db) -> Response:
    authorize(auth.user, ProjectPolicy.my_items())
    project = Project.get_or_raise(db, project_id)
    return render(request, "mine.html", auth, project=project)


@router.get("/projects/{project_id}/dashboard")
def dashboard_page(project_id: PathId, request: Request, auth: CurrentAuth, db: Db) -> Response:
    authorize(auth.user, ProjectPolicy.dashboard())
    project = Project.get_or_raise(db, project_id)
    return render(request, "dashboard.html", auth, project=project)


@router.get("/admin/users")
def users_page(request: Request, auth: CurrentAuth) -> Response:
    authorize(auth.user, UserPolicy.list())
    return render(request, "users.html", auth)


@router.get("/items/{item_id}/history")
def history_page(item_id: PathId, request: Request, auth: CurrentAuth, db: Db) -> Response:
    item = Item.get_or_raise(db, item_id)
    authorize_read(auth.user, ItemPolicy.history(item), item, item.id)
    return render(request, "history.html", auth, item=item)
