"""An item's history (every score, description version, review and log entry), cut
down to what one reader may see; the same ``ItemVisibility`` shapes the item view."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_tool.contexts import audit_log
from annotation_tool.contexts.audits import reviews
from annotation_tool.contexts.descriptions import versions
from annotation_tool.contexts.revisions import word_diff
from annotation_tool.models import Item, Score, User, VersionKind


class TextAccess(StrEnum):
    NONE = "none"
    SUBMITTED = "submitted"  # only texts as submitted for audit (reviewers)
    ALL = "all"  # every version, autosaves included (the author, admins)


@dataclass(frozen=True)
class ItemVisibility:
    """What one reader may see of one item (built by ``ItemPolicy.visibility``)."""

    reader_id: int
    all_scores: bool  # every round's score, else only the reader's own
    names: bool  # who scored, wrote and reviewed
    text: TextAccess
    reviews: bool
    log: bool  # the raw audit log
    blind: bool = False  # an inspector under blind inspection: no earlier scores


def item_history(db: Session, item: Item, view: ItemVisibility) -> dict[str, Any]:
    """Every score, version, review and (for admins) log entry the reader may see,
    and the same as one readable ``timeline``."""
    names = {u.id: u.username for u in db.scalars(select(User))}

    def who(user_id: int | None) -> str | None:
        if user_id is None or not (view.names or user_id == view.reader_id):
            return None
        return names.get(user_id)

    scores = db.scalars(select(Score).where(Score.item_id == item.id).order_by(Score.id))
    texts = [] if view.text is TextAccess.NONE else versions(db, item.id)
    if view.text is TextAccess.SUBMITTED:
        texts = [v for v in texts if v.kind == VersionKind.SUBMIT]
    out = {
        "scores": [
            {
                "round": s.round,
                "score": s.score,
                "user": who(s.user_id),
                "checklist": s.checklist,
                "comment": s.comment,
                "at": s.created_at,
            }
            for s in scores
            if view.all_scores or s.user_id == view.reader_id
        ],
        "versions": [
            {
                "version": v.version,
                "kind": v.kind,
                "text": v.text,
                "author": who(v.author_id),
                "draft_model": v.draft_model,
                "at": v.created_at,
            }
            for v in texts
        ],
        "reviews": [
            {
                "round": r.round,
                "audit_cycle": r.audit_cycle,
                "version": r.description_version,
                "reviewer": who(r.reviewer_id),
                "decision": r.decision,
                "rules": r.rules,
                "comment": r.comment,
                "at": r.created_at,
            }
            for r in (reviews(db, item.id) if view.reviews else [])
        ],
        "log": [
            {"action": e.action, "user": who(e.user_id), "data": e.data, "at": e.at}
            for e in (audit_log.item_log(db, item.id) if view.log else [])
        ],
    }
    out["timeline"] = timeline(out)
    return out


ROUND_NAMES = {0: "annotator", 1: "inspection 1", 2: "inspection 2", 3: "settlement"}
# Log entries that say something the other sections do not (admins only see the log).
LOG_EVENTS = {
    "item.skip": "skip",
    "description.takeover": "takeover",
}


def _event(at: Any, kind: str, who: str | None, title: str, **extra: Any) -> dict[str, Any]:
    return {"at": at, "kind": kind, "who": who, "title": title, **extra}


def timeline(h: dict[str, Any]) -> list[dict[str, Any]]:
    """The history as one chronological list of readable events: scores, each
    submission (a revision marked as one, with a word diff from the text before it),
    runs of autosaves folded into one line, audit decisions with their rules and
    comment, and for admins the skips and takeovers from the log."""
    events: list[dict[str, Any]] = []
    for s in h["scores"]:
        round_ = ROUND_NAMES.get(s["round"], str(s["round"]))
        title = {0: "scored", 3: "settled at"}.get(s["round"], f"{round_}:")
        detail = " · ".join(x for x in [" ".join(s["checklist"] or []), s["comment"]] if x)
        events.append(_event(s["at"], "score", s["user"], f"{title} {s['score']}", detail=detail))
    previous_text: str | None = None
    submissions = 0
    autosaves: list[dict[str, Any]] = []

    def flush_autosaves() -> None:
        if autosaves:
            first, last = autosaves[0]["version"], autosaves[-1]["version"]
            span = f"v{first}" if first == last else f"v{first}-v{last}"
            n = len(autosaves)
            events.append(
                _event(
                    autosaves[-1]["at"],
                    "autosave",
                    autosaves[-1]["author"],
                    f"{n} autosave{'s' if n > 1 else ''} ({span})",
                )
            )
            autosaves.clear()

    for v in h["versions"]:
        if v["kind"] == VersionKind.AUTOSAVE:
            autosaves.append(v)
            continue
        flush_autosaves()
        if v["kind"] == VersionKind.DRAFT:
            events.append(
                _event(v["at"], "draft", None, f"draft v{v['version']} by {v['draft_model']}")
            )
        else:
            submissions += 1
            title = (
                f"resubmitted v{v['version']} after a rejection (revision {submissions - 1})"
                if submissions > 1
                else f"submitted v{v['version']} for audit"
            )
            diff = (
                [{"op": op, "text": t} for op, t in word_diff(previous_text, v["text"])]
                if previous_text is not None
                else None
            )
            events.append(
                _event(
                    v["at"],
                    "revision" if submissions > 1 else "submit",
                    v["author"],
                    title,
                    version=v["version"],
                    text=v["text"],
                    diff=diff,
                )
            )
        previous_text = v["text"]
    flush_autosaves()
    for r in h["reviews"]:
        verb = "accepted" if r["decision"] == "accept" else "rejected"
        rules = f" ({', '.join(r['rules'])})" if r["rules"] else ""
        events.append(
            _event(
                r["at"],
                r["decision"],
                r["reviewer"],
                f"{verb} v{r['version']} in audit round {r['round']}{rules}",
                detail=r["comment"],
            )
        )
    for e in h["log"]:
        kind = LOG_EVENTS.get(e["action"])
        if kind == "skip":
            problem = e["data"].get("image_problem")
            title = f"skipped ({e['data'].get('reason')}) in {e['data'].get('stage')}"
            detail = " · ".join(x for x in [e["data"].get("comment"), problem] if x)
            events.append(_event(e["at"], kind, e["user"], title, detail=detail))
        elif kind == "takeover":
            events.append(_event(e["at"], kind, e["user"], "took the description over"))
    events.sort(key=lambda ev: ev["at"])  # stable: same-moment events keep their order
    return events
