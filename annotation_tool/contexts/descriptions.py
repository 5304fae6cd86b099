"""Long descriptions: versioned autosaves, the optional VLM draft, submission."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from annotation_tool.contexts import audit_log
from annotation_tool.contexts.claims import (
    refuse_if_skipped,
    release,
    require_lock,
    transition,
)
from annotation_tool.errors import (
    ConflictError,
    ForbiddenError,
    InvalidStateError,
    ValidationFailedError,
)
from annotation_tool.models import DescriptionVersion, Item, Project, Stage, User, VersionKind
from annotation_tool.validators import DescriptionValidator

MAX_TEXT_CHARS = 20_000  # ~4x the longest allowed description; stops runaway pastes


def current_version(db: Session, item: Item) -> DescriptionVersion | None:
    if item.description_version == 0:
        return None
    return db.scalar(
        select(DescriptionVersion).where(
            DescriptionVersion.item_id == item.id,
            DescriptionVersion.version == item.description_version,
        )
    )


def last_submitted(db: Session, item: Item) -> DescriptionVersion | None:
    """What reviewers may read: the text as last submitted, never a later autosave."""
    return db.scalar(
        select(DescriptionVersion)
        .where(DescriptionVersion.item_id == item.id, DescriptionVersion.kind == VersionKind.SUBMIT)
        .order_by(DescriptionVersion.version.desc())
        .limit(1)
    )


def versions(db: Session, item_id: int) -> list[DescriptionVersion]:
    return list(
        db.scalars(
            select(DescriptionVersion)
            .where(DescriptionVersion.item_id == item_id)
            .order_by(DescriptionVersion.version)
        )
    )


def draft_model_used(db: Session, item_id: int) -> str | None:
    return db.scalar(
        select(DescriptionVersion.draft_model).where(
            DescriptionVersion.item_id == item_id, DescriptionVersion.kind == VersionKind.DRAFT
        )
    )


def ensure_draft(db: Session, project: Project, item: Item) -> None:
    """Seed version 1 with the manifest's VLM caption, kept as a version of its own."""
    if not project.use_drafts or not item.draft_caption or item.description_version != 0:
        return
    _write_version(db, item, 0, item.draft_caption, VersionKind.DRAFT, None, item.draft_model)


def _write_version(
    db: Session,
    item: Item,
    base_version: int,
    text: str,
    kind: VersionKind,
    author: User | None,
    draft_model: str | None = None,
) -> DescriptionVersion:
    # The version number is bumped with a compare-and-set, so of two saves made from
    # the same version exactly one wins and the other gets a conflict, never a silent
    # overwrite.
    result = db.execute(
        update(Item)
        .where(Item.id == item.id, Item.description_version == base_version)
        .values(description_version=base_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.refresh(item)  # only on a conflict: report what is stored now
        latest = current_version(db, item)
        # Only the description's author gets here (claim_authorship runs first), so
        # the stored text is theirs to read; a conflict never carries anyone else's.
        readable = author is None or item.describer_id == author.id
        raise ConflictError(
            "This description was saved elsewhere in the meantime (another tab or person).",
            current_version=item.description_version,
            current_text=latest.text if readable and latest else "",
        )
    set_committed_value(item, "description_version", base_version + 1)
    return DescriptionVersion.create(
        db,
        item_id=item.id,
        version=base_version + 1,
        kind=kind,
        text=text,
        author_id=author.id if author else None,
        draft_model=draft_model,
    )


def _check_editable(item: Item, user: User) -> None:
    if item.stage == Stage.REVISION:
        if item.describer_id not in (None, user.id):  # None: its author skipped it
            raise InvalidStateError("Only the original annotator revises a rejected description.")
    elif item.stage != Stage.DESCRIPTION:
        raise InvalidStateError("This description is not open for editing.", stage=item.stage)


def claim_authorship(db: Session, user: User, item: Item) -> None:
    """A description belongs to whoever saves it first (``describer_id``, set by a
    compare-and-set). Nobody else may write it, or read it through a conflict reply;
    it changes hands only through ``take_over`` when its author has left it."""
    result = db.execute(
        update(Item)
        .where(
            Item.id == item.id,
            or_(Item.describer_id.is_(None), Item.describer_id == user.id),
        )
        .values(describer_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ForbiddenError("Another annotator is writing this description.")
    set_committed_value(item, "describer_id", user.id)


def take_over(db: Session, user: User, item: Item) -> None:
    """Called on a description claim: an item whose author has left it (claim_next
    hands it out only after ``takeover_after_s`` without a heartbeat or a save) goes to
    the claimer, logged with its previous author, whose versions stay in the history."""
    previous = item.describer_id
    if item.stage != Stage.DESCRIPTION or previous in (None, user.id):
        return
    db.execute(
        update(Item)
        .where(Item.id == item.id, Item.describer_id == previous)
        .values(describer_id=user.id)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(item, "describer_id", user.id)
    audit_log.record(
        db,
        user,
        "description.takeover",
        item=item,
        from_user=previous,
        version=item.description_version,
    )


def save(
    db: Session, user: User, item: Item, text: str, base_version: int, ttl_s: int
) -> DescriptionVersion:
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationFailedError(f"descriptions are limited to {MAX_TEXT_CHARS} characters")
    _check_editable(item, user)
    refuse_if_skipped(db, user, item)
    claim_authorship(db, user, item)
    require_lock(db, user, item, ttl_s)
    version = _write_version(db, item, base_version, text, VersionKind.AUTOSAVE, user)
    audit_log.record(db, user, "description.save", item=item, version=version.version)
    return version


def submit(
    db: Session, user: User, item: Item, text: str, base_version: int, ttl_s: int
) -> DescriptionVersion:
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationFailedError(f"descriptions are limited to {MAX_TEXT_CHARS} characters")
    _check_editable(item, user)
    DescriptionValidator.validate_for_submit(text)  # the browser checked too; never trust it
    refuse_if_skipped(db, user, item)
    claim_authorship(db, user, item)
    require_lock(db, user, item, ttl_s)
    stage = Stage(item.stage)
    version = _write_version(db, item, base_version, text, VersionKind.SUBMIT, user)
    transition(
        db,
        item,
        stage,
        stage=Stage.AUDIT_1,
        describer_id=user.id,
        audit_cycle=item.audit_cycle + 1,
    )
    audit_log.record(
        db,
        user,
        "description.submit",
        item=item,
        version=version.version,
        revision=stage == Stage.REVISION,
    )
    release(db, user, item)
    return version
