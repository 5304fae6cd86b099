"""What changed between two submissions of a description: a word diff, and the
rejection that sent the earlier one back, for the auditor of a revision."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from annotation_tool.contexts.audits import reviews
from annotation_tool.contexts.descriptions import versions
from annotation_tool.models import Decision, DescriptionVersion, Item, Review, VersionKind

# A word with the whitespace after it, so the pieces put back together give the text.
_TOKEN = re.compile(r"\S+\s*|\s+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """``(op, text)`` pieces, op in equal/insert/delete; the equal and delete pieces
    give ``old``, the equal and insert pieces give ``new``. Words are compared without
    the whitespace around them, so a reflowed line is not a change."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(
        a=[t.strip() for t in a], b=[t.strip() for t in b], autojunk=False
    )
    out: list[tuple[str, str]] = []

    def add(op: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    old_so_far = ""  # the equal and delete pieces so far: the old text's words
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", b[j1:j2])  # the new text's whitespace
            old_so_far += "".join(b[j1:j2])
        else:
            deleted = a[i1:i2]
            if deleted and old_so_far and not old_so_far[-1].isspace():
                deleted = [" ", *deleted]  # the new text ended the word there; keep it apart
            add("delete", deleted)
            old_so_far += "".join(deleted)
            add("insert", b[j1:j2])
    return out


@dataclass(frozen=True)
class Revision:
    audit_cycle: int
    previous: DescriptionVersion
    current: DescriptionVersion
    rejections: list[Review]
    diff: list[tuple[str, str]]


def revision_of(db: Session, item: Item) -> Revision | None:
    """For an item whose last submission follows a rejected one: both texts, the
    previous cycle's rejections and the diff; None for a first submission."""
    submitted = [v for v in versions(db, item.id) if v.kind == VersionKind.SUBMIT]
    if len(submitted) < 2:
        return None
    previous, current = submitted[-2], submitted[-1]
    rejections = [
        r
        for r in reviews(db, item.id)
        if r.description_version == previous.version and r.decision == Decision.REJECT
    ]
    return Revision(
        audit_cycle=len(submitted),
        previous=previous,
        current=current,
        rejections=rejections,
        diff=word_diff(previous.text, current.text),
    )
