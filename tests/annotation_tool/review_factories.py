"""Small builders for review-tool tests: images, manifests, users, items in any stage,
and the claim request that starts a task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from skimage import data as skdata
from sqlalchemy.orm import Session

from annotation_tool.contexts import accounts
from annotation_tool.models import (
    DescriptionVersion,
    Item,
    Project,
    ProjectKind,
    Review,
    Score,
    Stage,
    StudyCaption,
    User,
    VersionKind,
)
from curation.image_ref import file_ref
from paraimage.manifest import record_id, to_table

PASSWORD = "correct horse battery"
IMAGE_NAMES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
)

# 6 sentences, 182 words, starts with the subject, no speculation: passes every rule.
# It describes skimage's astronaut photo, which the browser tests and screenshots show.
GOOD_DESCRIPTION = (
    "A portrait photo of a smiling astronaut in an orange spacesuit seated in front of an "
    "American flag and a model of a space shuttle. The astronaut is a woman with short light "
    "brown hair who looks straight at the camera, and the silver metal neck ring of the suit "
    "frames her face and a black collar. On the left side of the frame the flag shows red and "
    "white stripes and white stars on a blue field that fills the upper left corner. On the "
    "right side a white model of the shuttle with a large brown fuel tank stands upright "
    "against a plain grey wall. In the lower right corner she holds a white helmet with a dark "
    "reflective visor, and several round and oval mission patches in blue, white and red are "
    "sewn on the chest and the arms of the orange suit. The lighting is soft and even, and the "
    "whole scene is framed as a formal studio portrait with the person in the centre between "
    "the flag on the left and the shuttle model on the right."
)


def write_images(folder: Path, edge: int = 320) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in IMAGE_NAMES:
        array = getattr(skdata, name)()
        img = Image.fromarray(array).convert("RGB")
        img.thumbnail((edge, edge))
        path = folder / f"{name}.jpg"
        img.save(path, "JPEG", quality=80)
        paths[name] = path
    return paths


def manifest_rows(
    images: dict[str, Path], captioners: tuple[str, ...] = ("cogvlm",)
) -> list[dict[str, Any]]:
    """One row per (image, captioner); aesthetic and short edge vary so filters matter."""
    rows = []
    for i, (name, path) in enumerate(sorted(images.items())):
        for model in captioners:
            rows.append(
                {
                    "id": record_id("test", name),
                    "source": "test",
                    "source_key": name,
                    "shard_id": "00000",
                    "image_ref": file_ref(path),
                    "run_id": "run-1",
                    "schema_version": 1,
                    "width": 1600,
                    "height": 1200 + 100 * i,
                    "short_edge": 1000 + 20 * i,
                    "aesthetic_score": 6.0 + 0.2 * i,
                    "status": "rejected" if name == "immunohistochemistry" else "kept",
                    "caption": f"{model} caption of the {name} photo.",
                    "caption_model": model,
                    "caption_prompt": "Describe the image.",
                }
            )
    return rows


def write_run(run_dir: Path, rows: list[dict[str, Any]]) -> Path:
    (run_dir / "manifests").mkdir(parents=True, exist_ok=True)
    pq.write_table(to_table(rows), run_dir / "manifests" / "00000.parquet")
    return run_dir


def make_user(db: Session, username: str, role: str) -> User:
    user = accounts.create_user(db, username, PASSWORD, role)
    db.commit()
    return user


def make_project(
    db: Session, name: str = "small", kind: str = ProjectKind.SMALL, **kw: Any
) -> Project:
    project = Project.create(db, name=name, kind=kind, **kw)
    db.commit()
    return project


def make_item(
    db: Session,
    project: Project,
    image_path: Path,
    stage: Stage = Stage.SELECTION,
    **values: Any,
) -> Item:
    item = Item.create(
        db,
        project_id=project.id,
        image_id=values.pop("image_id", f"img-{image_path.stem}-{stage}-{id(values)}"),
        image_ref=file_ref(image_path),
        width=320,
        height=240,
        stage=stage,
        **values,
    )
    db.commit()
    return item


def add_score(
    db: Session, item: Item, user: User, round_: int, score: int, blind: bool | None = None
) -> Score:
    score_row = Score.create(
        db, item_id=item.id, user_id=user.id, round=round_, score=score, blind=blind
    )
    db.commit()
    return score_row


def scored_item(
    db: Session,
    project: Project,
    image_path: Path,
    annotator: User,
    score: int,
    stage: Stage = Stage.INSPECTION_1,
    **values: Any,
) -> Item:
    """An item ``annotator`` gave ``score`` in selection, now in ``stage``."""
    item = make_item(db, project, image_path, stage=stage, annotator_id=annotator.id, **values)
    add_score(db, item, annotator, 0, score)
    return item


def add_version(
    db: Session,
    item: Item,
    author: User | None,
    text: str,
    kind: str = VersionKind.SUBMIT,
    draft_model: str | None = None,
) -> None:
    item.description_version += 1
    DescriptionVersion.create(
        db,
        item_id=item.id,
        version=item.description_version,
        kind=kind,
        text=text,
        author_id=author.id if author else None,
        draft_model=draft_model,
    )
    db.commit()


def submitted_item(
    db: Session,
    project: Project,
    image_path: Path,
    author: User,
    text: str = GOOD_DESCRIPTION,
    stage: Stage = Stage.AUDIT_1,
    **values: Any,
) -> Item:
    """An item ``author`` chose in selection and described, with ``text`` submitted as
    its first version; pass ``annotator_id=None`` when the author did not score it."""
    values.setdefault("annotator_id", author.id)
    item = make_item(db, project, image_path, stage=stage, describer_id=author.id, **values)
    add_version(db, item, author, text)
    return item


def add_review(
    db: Session, item: Item, reviewer: User, round_: int, decision: str = "accept"
) -> None:
    Review.create(
        db,
        item_id=item.id,
        round=round_,
        audit_cycle=item.audit_cycle,
        description_version=item.description_version,
        reviewer_id=reviewer.id,
        decision=decision,
        rules=[] if decision == "accept" else ["D5"],
        comment="" if decision == "accept" else "fix",
    )
    db.commit()


def rejected_item(
    db: Session,
    project: Project,
    image_path: Path,
    author: User,
    reviewer: User,
    text: str = GOOD_DESCRIPTION,
    stage: Stage = Stage.REVISION,
    **values: Any,
) -> Item:
    """An item whose first submitted ``text`` ``reviewer`` rejected in audit round 1
    (rule D5, comment "fix"); ``stage`` is where it is now, as for ``submitted_item``."""
    item = submitted_item(db, project, image_path, author, text, stage, audit_cycle=1, **values)
    add_review(db, item, reviewer, 1, "reject")
    return item


def resubmit(db: Session, item: Item, author: User, text: str) -> None:
    """``author`` submits ``text`` again after the rejection: audit cycle 2."""
    add_version(db, item, author, text)
    item.audit_cycle = 2
    db.commit()


def finished_item(
    db: Session,
    project: Project,
    image_path: Path,
    annotator: User,
    reviewers: list[User],
    draft_model: str | None = None,
    **values: Any,
) -> Item:
    """A done item: ``annotator`` scored it 5 and described it (after a VLM draft when
    ``draft_model`` is given), and ``reviewers`` accepted it, the first two in audit round
    1 and the rest in round 2."""
    item = make_item(
        db,
        project,
        image_path,
        stage=Stage.DONE,
        annotator_id=annotator.id,
        describer_id=annotator.id,
        final_score=5,
        audit_cycle=1,
        **values,
    )
    add_score(db, item, annotator, 0, 5)
    if draft_model is not None:
        add_version(db, item, None, "draft text", kind=VersionKind.DRAFT, draft_model=draft_model)
    add_version(db, item, annotator, GOOD_DESCRIPTION)
    for i, reviewer in enumerate(reviewers):
        add_review(db, item, reviewer, 1 if i < 2 else 2)
    return item


def add_caption(db: Session, item: Item, model: str, caption: str) -> StudyCaption:
    row = StudyCaption.create(db, item_id=item.id, model=model, caption=caption)
    db.commit()
    return row


def claim(client: TestClient, project_id: int, task: str) -> Response:
    """Asks for the next item of ``task`` in the project, as the client's user."""
    return client.post(f"/api/projects/{project_id}/claims", json={"task": task})


def role_users_status(client_for, db: Session, method: str, url: str, **kw: Any) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The HTTP status a fresh user of each role gets for the same request."""
    users = {
        "annotator": make_user(db, "role-annotator", "annotator"),
        "reviewer": make_user(db, "role-reviewer", "reviewer"),
        "admin": make_user(db, "role-admin", "admin"),
    }
    return {
        role: client_for(user).request(method, url, **kw).status_code
        for role, user in users.items()
    }
