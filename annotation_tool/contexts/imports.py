"""Import a candidate pool from a recaption run's manifests with one DuckDB query.

The rows are read through the kernel's one manifest reader (``paraimage.manifest_reader``),
so a row the run's decisions rejected (dedup) is not a candidate, as in every other view
of the run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.errors import ValidationFailedError
from annotation_tool.models import Item, Project, ProjectKind, Stage, StudyCaption, User
from paraimage.manifest_reader import manifest_files, run_sql

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


def check_manifests(run_dir: Path) -> None:
    if not manifest_files(run_dir):
        # No path in the message: the web UI shows it, and the resolved path is the
        # server's business (the caller knows which directory it named).
        raise ValidationFailedError("no manifests/*.parquet in this run directory")


def _run_rows(con: duckdb.DuckDBPyConnection, run_dir: Path) -> str:
    """The run's rows as a parenthesised relation, or the import's clear error."""
    check_manifests(run_dir)
    try:
        return f"({run_sql(con, run_dir)})"
    except duckdb.Error as exc:
        detail = str(exc).replace(str(run_dir), "RUN_DIR")
        raise ValidationFailedError(f"import query failed: {detail}") from exc


def check_run_dir(run_dir: str | Path, roots: tuple[Path, ...]) -> Path:
    """A run directory the UI names must lie under a configured root."""
    resolved = Path(run_dir).resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        raise ValidationFailedError(f"{run_dir} is outside the configured roots")
    return resolved


def _query(source: str, flt: ImportFilter, per_model: bool) -> tuple[str, list[object]]:
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


@dataclass(frozen=True)
class ImportStep:
    label: str  # what the rows passed, in words
    images: int


@dataclass(frozen=True)
class ImportPreview:
    """How many images each filter leaves, so a form that matches nothing says which
    filter removed them and what the run holds instead."""

    steps: list[ImportStep]
    matched: int
    new: int  # not yet in the project
    largest_short_edge: int | None  # among kept images
    best_aesthetic: float | None
    sources: list[str]
    explanation: str


def preview(run_dir: Path, flt: ImportFilter, kind: str, existing: set[str]) -> ImportPreview:
    con = duckdb.connect()
    source = _run_rows(con, run_dir)
    kept = "status = 'kept' AND image_ref IS NOT NULL"
    aesthetic = "coalesce(aesthetic_score, source_aesthetic)"
    steps_sql = [("images in the run", "TRUE", []), ("kept by the pipeline", kept, [])]
    cond, params = kept, []  # type: ignore[var-annotated]
    if flt.min_aesthetic is not None:
        cond += f" AND {aesthetic} >= ?"
        params = [*params, flt.min_aesthetic]
        steps_sql.append((f"with aesthetic ≥ {flt.min_aesthetic:g}", cond, params))
    if flt.min_short_edge is not None:
        cond += " AND short_edge >= ?"
        params = [*params, flt.min_short_edge]
        steps_sql.append((f"with a short edge ≥ {flt.min_short_edge} px", cond, params))
    if flt.sources:
        cond += f" AND source IN ({', '.join('?' for _ in flt.sources)})"
        params = [*params, *flt.sources]
        steps_sql.append((f"from {', '.join(flt.sources)}", cond, params))
    counts = ", ".join(f"count(DISTINCT id) FILTER (WHERE {c})" for _, c, _ in steps_sql)
    sql = (
        f"SELECT {counts}, max(short_edge) FILTER (WHERE {kept}), "
        f"max({aesthetic}) FILTER (WHERE {kept}), "
        f"list(DISTINCT source) FILTER (WHERE {kept}) FROM {source}"
    )
    all_params = [p for _, _, ps in steps_sql for p in ps]
    try:
        row = con.execute(sql, all_params).fetchone()
    except duckdb.Error as exc:
        detail = str(exc).replace(str(run_dir), "RUN_DIR")
        raise ValidationFailedError(f"import query failed: {detail}") from exc
    assert row is not None
    n = len(steps_sql)
    steps = [ImportStep(label, int(c)) for (label, _, _), c in zip(steps_sql, row[:n], strict=True)]
    largest, best, sources = row[n], row[n + 1], sorted(s for s in (row[n + 2] or []) if s)
    matched_ids = list(query_candidates(run_dir, flt, kind))
    new = sum(1 for i in matched_ids if i not in existing)
    return ImportPreview(
        steps=steps,
        matched=len(matched_ids),
        new=new,
        largest_short_edge=None if largest is None else int(largest),
        best_aesthetic=None if best is None else round(float(best), 2),
        sources=sources,
        explanation=_explain(steps, flt, len(matched_ids), new, largest, best, sources),
    )


def _explain(
    steps: list[ImportStep],
    flt: ImportFilter,
    matched: int,
    new: int,
    largest: int | None,
    best: float | None,
    sources: list[str],
) -> str:
    if matched:
        limit = f" (limit {flt.limit})" if flt.limit and flt.limit < steps[-1].images else ""
        return f"{matched} image(s) match{limit}; {new} of them are new to this project."
    if steps[0].images == 0:
        return "The run's manifests hold no rows."
    if steps[1].images == 0:
        return "No image of this run was kept by the pipeline (all rejected or errors)."
    emptied = next(s for s in steps if s.images == 0)
    if "aesthetic" in emptied.label:
        hint = f"the best kept image scores {best:.2f}" if best is not None else "no score"
        return f"No kept image has {emptied.label[5:]}: {hint}. Lower the aesthetic bound."
    if "short edge" in emptied.label:
        return (
            f"No kept image has {emptied.label[5:]}: the largest kept short edge is "
            f"{largest} px. Lower the short-edge bound (the default 1024 px suits "
            "LAION-sized images, not small test runs)."
        )
    return f"No kept image comes {emptied.label}: the run's sources are {', '.join(sources)}."


def query_candidates(run_dir: Path, flt: ImportFilter, kind: str) -> dict[str, list[tuple]]:
    """Rows per image id, by the DuckDB query alone. Kept apart from the writes so a
    caller can run it before opening a write transaction (SQLite's lock is not held
    while DuckDB scans a large run)."""
    per_model = kind == ProjectKind.CAPTION_STUDY
    con = duckdb.connect()
    sql, params = _query(_run_rows(con, run_dir), flt, per_model)
    try:
        rows = con.execute(sql, params).fetchall()
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
