"""Export ParaImage-Small: one row per accepted description, as Parquet or JSONL."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.contexts.descriptions import current_version, draft_model_used
from annotation_tool.contexts.selection import latest_scores
from annotation_tool.errors import ValidationFailedError
from annotation_tool.models import Item, Project, Review, ScoreRound, Stage, User, utcnow
from annotation_tool.validators.description import count_words, split_sentences

FORMATS = ("parquet", "jsonl")

_REVIEW = pa.struct(
    [
        ("round", pa.int32()),
        ("audit_cycle", pa.int32()),
        ("reviewer", pa.string()),
        ("decision", pa.string()),
        ("rules", pa.list_(pa.string())),
        ("comment", pa.string()),
        ("at", pa.string()),
    ]
)
EXPORT_SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),
        ("image_ref", pa.string()),
        ("source", pa.string()),
        ("source_key", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("aesthetic_score", pa.float32()),
        ("description", pa.string()),
        ("n_words", pa.int32()),
        ("n_sentences", pa.int32()),
        ("final_score", pa.int32()),
        ("annotator_score", pa.int32()),
        ("inspection_scores", pa.list_(pa.int32())),
        ("settled_score", pa.int32()),
        ("selection_annotator", pa.string()),
        ("inspectors", pa.list_(pa.string())),
        ("annotator", pa.string()),
        ("reviewers", pa.list_(pa.string())),
        ("reviews", pa.list_(_REVIEW)),
        ("audit_cycles", pa.int32()),
        ("n_revisions", pa.int32()),
        ("description_version", pa.int32()),
        ("draft_model", pa.string()),
        ("exported_at", pa.string()),
    ]
)


def export_rows(db: Session, project: Project) -> list[dict[str, Any]]:
    names = {u.id: u.username for u in db.scalars(select(User))}
    items = db.scalars(
        select(Item)
        .where(Item.project_id == project.id, Item.stage == Stage.DONE)
        .order_by(Item.id)
    )
    now = utcnow().isoformat(timespec="seconds") + "Z"
    rows = []
    for item in items:
        text = current_version(db, item)
        scores = latest_scores(db, item.id)
        reviews = list(
            db.scalars(select(Review).where(Review.item_id == item.id).order_by(Review.id))
        )
        final_reviews = [r for r in reviews if r.audit_cycle == item.audit_cycle]
        inspections = [
            scores[r] for r in (ScoreRound.INSPECTION_1, ScoreRound.INSPECTION_2) if r in scores
        ]
        settled = scores.get(ScoreRound.SETTLEMENT)
        rows.append(
            {
                "image_id": item.image_id,
                "image_ref": item.image_ref,
                "source": item.source,
                "source_key": item.source_key,
                "width": item.width,
                "height": item.height,
                "aesthetic_score": item.aesthetic_score,
                "description": text.text if text else "",
                "n_words": count_words(text.text) if text else 0,
                "n_sentences": len(split_sentences(text.text)) if text else 0,
                "final_score": item.final_score,
                "annotator_score": scores[ScoreRound.ANNOTATOR].score
                if ScoreRound.ANNOTATOR in scores
                else None,
                "inspection_scores": [s.score for s in inspections],
                "settled_score": settled.score if settled else None,
                "selection_annotator": names.get(item.annotator_id),
                "inspectors": [names.get(s.user_id) for s in inspections],
                "annotator": names.get(item.describer_id),
                "reviewers": [names.get(r.reviewer_id) for r in final_reviews],
                "reviews": [
                    {
                        "round": r.round,
                        "audit_cycle": r.audit_cycle,
                        "reviewer": names.get(r.reviewer_id),
                        "decision": r.decision,
                        "rules": list(r.rules),
                        "comment": r.comment,
                        "at": r.created_at.isoformat(timespec="seconds") + "Z",
                    }
                    for r in reviews
                ],
                "audit_cycles": item.audit_cycle,
                "n_revisions": item.audit_cycle - 1,
                "description_version": item.description_version,
                "draft_model": draft_model_used(db, item.id),
                "exported_at": now,
            }
        )
    return rows


def export_bytes(db: Session, project: Project, fmt: str, actor: User | None) -> bytes:
    if fmt not in FORMATS:
        raise ValidationFailedError(f"format must be one of {FORMATS}")
    rows = export_rows(db, project)
    audit_log.record(db, actor, "project.export", project_id=project.id, format=fmt, rows=len(rows))
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
    table = pa.Table.from_pylist(rows, schema=EXPORT_SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
