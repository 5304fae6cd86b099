"""Import a candidate pool from a recaption run's manifests with one DuckDB query."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.errors import ValidationFailedError
from annotation_tool.models import Item, Project, ProjectKind, Stage, StudyCaption, User

MAX_IMPORT_ROWS = 1_000_000


@dataclass(frozen=True)
class ImportFilter:
    """The structured query the UI offers; ``where`` is raw SQL for the CLI only."""

    min_aesthetic: float | None = None
    min_short_edge: int | None = None
    sources: tuple[str, ...] = ()
    limit: int | None = None
    draft_model: str | None = None  # which captioner's text becomes the draft
    where: str | None = None


@dataclass(frozen=True)
class ImportResult:
    matched: int
    imported: int
    already_present: int


def manifest_glob(run_dir: Path) -> str:
    manifests = run_dir / "manifests"
    if not manifests.is_dir() or not any(manifests.glob("*.parquet")):
        # No path in the message: the web UI shows it, and the resolved path is the
        # server's business (the caller knows which directory it named).
        raise ValidationFailedError("no manifests/*.parquet in this run directory")
    return str(manifests / "*.parquet")


def check_run_dir(run_dir: str | Path, roots: tuple[Path, ...]) -> Path:
    """A run directory the UI names must lie under a configured root."""
    resolved = Path(run_dir).resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        raise ValidationFailedError(f"{run_dir} is outside the configured roots")
    return resolved


def _query(glob: str, flt: ImportFilter, per_model: bool) -> tuple[str, list[object]]:
    conditions = ["status = 'kept'", "image_ref IS NOT NULL"]
    params: list[object] = []
    if flt.min_aesthetic is not None:
        conditions.append("coalesce(aesthetic_score, source_aesthetic) >= ?")
        params.append(flt.min_aesthetic)
    if flt.min_short_edge is not None:
        conditions.append("short_edge >= ?")
        params.append(flt.min_short_edge)
    if flt.sources:
        conditions.append(f"source IN ({', '.join('?' for _ in flt.sources)})")
        params.extend(flt.sources)
    if flt.where:
        conditions.append(f"({flt.where})")
    if per_model:
        conditions.append("caption IS NOT NULL AND caption_model IS NOT NULL")
    # The glob is a validated path; quoting it keeps DuckDB from reading it as SQL.
    source = "read_parquet('{}', union_by_name = true)".format(glob.replace("'", "''"))
    columns = (
        "id, source, source_key, image_ref, width, height, "
        "coalesce(aesthetic_score, source_aesthetic) AS aesthetic, caption, caption_model"
    )
    sql = f"SELECT {columns} FROM {source} WHERE {' AND '.join(conditions)}"
    if not per_model:
        # Several captioners give several rows per image: keep one, preferring the
        # requested draft model, so each image is imported once.
        sql += (
            " QUALIFY row_number() OVER (PARTITION BY id ORDER BY "
            "(caption_model IS NOT DISTINCT FROM ?) DESC, caption_model NULLS LAST) = 1"
        )
        params.append(flt.draft_model)
    sql += " ORDER BY id, caption_model"
    return sql, params


def query_candidates(run_dir: Path, flt: ImportFilter, kind: str) -> dict[str, list[tuple]]:
    """Rows per image id, by the DuckDB query alone. Kept apart from the writes so a
    caller can run it before opening a write transaction (SQLite's lock is not held
    while DuckDB scans a large run)."""
    per_model = kind == ProjectKind.CAPTION_STUDY
    sql, params = _query(manifest_glob(run_dir), flt, per_model)
    try:
        rows = duckdb.connect().execute(sql, params).fetchall()
    except duckdb.Error as exc:
        detail = str(exc).replace(str(run_dir), "RUN_DIR")
        raise ValidationFailedError(f"import query failed: {detail}") from exc
    by_image: dict[str, list[tuple]] = {}
    for row in rows:
        by_image.setdefault(row[0], []).append(row)
    limit = min(flt.limit or MAX_IMPORT_ROWS, MAX_IMPORT_ROWS)
    return dict(list(by_image.items())[:limit])


def add_candidates(
    db: Session,
    project: Project,
    by_image: dict[str, list[tuple]],
    run_dir: Path,
    flt: ImportFilter,
    actor: User | None,
) -> ImportResult:
    per_model = project.kind == ProjectKind.CAPTION_STUDY
    existing = set(db.scalars(select(Item.image_id).where(Item.project_id == project.id)))
    imported = 0
    for image_id, image_rows in by_image.items():
        if image_id in existing:
            continue
        _, source, source_key, image_ref, width, height, aesthetic, caption, model = image_rows[0]
        item = Item(
            project_id=project.id,
            image_id=image_id,
            image_ref=image_ref,
            source=source or "",
            source_key=source_key or "",
            width=width,
            height=height,
            aesthetic_score=aesthetic,
            stage=Stage.STUDY if per_model else Stage.SELECTION,
            draft_caption=None if per_model else caption,
            draft_model=None if per_model or caption is None else model,
        )
        db.add(item)
        db.flush()
        if per_model:
            for row in image_rows:
                db.add(StudyCaption(item_id=item.id, model=row[8], caption=row[7]))
        imported += 1
    result = ImportResult(
        matched=len(by_image), imported=imported, already_present=len(by_image) - imported
    )
    audit_log.record(
        db,
        actor,
        "project.import",
        project_id=project.id,
        run_dir=str(run_dir),
        filter={k: v for k, v in flt.__dict__.items() if v not in (None, ())},
        **result.__dict__,
    )
    return result


def import_candidates(
    db: Session, project: Project, run_dir: Path, flt: ImportFilter, actor: User | None
) -> ImportResult:
    by_image = query_candidates(run_dir, flt, project.kind)
    return add_candidates(db, project, by_image, run_dir, flt, actor)
