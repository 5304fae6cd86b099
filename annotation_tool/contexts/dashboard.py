"""Figures for the admin dashboard: progress, throughput, rejections per rule, agreement."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_tool.contexts.agreement import krippendorff_alpha_interval, weighted_kappa
from annotation_tool.contexts.projects import stage_counts
from annotation_tool.contexts.skips import skip_counts, unreadable_items
from annotation_tool.guidelines import DESCRIPTION_RULES
from annotation_tool.models import AuditLog, Decision, Item, Review, Score, ScoreRound, Stage, User

WORK_ACTIONS = (
    "selection.score",
    "selection.inspect",
    "selection.settle",
    "description.submit",
    "audit.decide",
    "study.rate",
)


def progress(db: Session, project_id: int) -> dict[str, int]:
    counts = stage_counts(db, project_id)
    return {stage.value: counts.get(stage.value, 0) for stage in Stage}


def throughput(db: Session, project_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        select(
            User.username,
            AuditLog.action,
            func.count(),
            func.min(AuditLog.at),
            func.max(AuditLog.at),
        )
        .join(User, User.id == AuditLog.user_id)
        .where(AuditLog.project_id == project_id, AuditLog.action.in_(WORK_ACTIONS))
        .group_by(User.username, AuditLog.action)
        .order_by(User.username, AuditLog.action)
    )
    people: dict[str, dict[str, Any]] = {}
    for username, action, count, first, last in rows:
        person = people.setdefault(
            username, {"user": username, "actions": {}, "first": first, "last": last}
        )
        person["actions"][action] = count
        person["first"] = min(person["first"], first)
        person["last"] = max(person["last"], last)
    out = []
    for person in people.values():
        total = sum(person["actions"].values())
        # Rate over the span of their own activity, with at least one minute so a
        # burst of two actions does not read as thousands per hour.
        hours = max((person["last"] - person["first"]).total_seconds(), 60) / 3600
        out.append(
            {
                "user": person["user"],
                "actions": person["actions"],
                "total": total,
                "per_hour": round(total / hours, 1),
            }
        )
    return out


def rejections_per_rule(db: Session, project_id: int) -> dict[str, Any]:
    decisions = list(
        db.execute(
            select(Review.decision, Review.rules)
            .join(Item, Item.id == Review.item_id)
            .where(Item.project_id == project_id)
        )
    )
    total = len(decisions)
    per_rule = Counter(
        rule for decision, rules in decisions if decision == Decision.REJECT for rule in rules
    )
    rejected = sum(1 for decision, _ in decisions if decision == Decision.REJECT)
    return {
        "decisions": total,
        "rejected": rejected,
        "rejection_rate": round(rejected / total, 3) if total else None,
        "per_rule": [
            {
                "rule": rule.id,
                "title": rule.title,
                "rejections": per_rule.get(rule.id, 0),
                "rate": round(per_rule.get(rule.id, 0) / total, 3) if total else None,
            }
            for rule in DESCRIPTION_RULES
        ],
    }


PAIRS = {
    "annotator_vs_inspector1": (ScoreRound.ANNOTATOR, ScoreRound.INSPECTION_1),
    "annotator_vs_inspector2": (ScoreRound.ANNOTATOR, ScoreRound.INSPECTION_2),
    "inspector1_vs_inspector2": (ScoreRound.INSPECTION_1, ScoreRound.INSPECTION_2),
}
INSPECTIONS = (ScoreRound.INSPECTION_1, ScoreRound.INSPECTION_2)


def _agreement_of(latest: list[dict[int, int]]) -> dict[str, Any]:
    """Pairwise kappa and exact agreement, and alpha over the three selection rounds,
    of items given as {round: score}."""
    out: dict[str, Any] = {}
    for name, (r1, r2) in PAIRS.items():
        both = [s for s in latest if r1 in s and r2 in s]
        a, b = [s[r1] for s in both], [s[r2] for s in both]
        kappa = weighted_kappa(a, b)
        out[name] = {
            "n": len(a),
            "weighted_kappa": None if kappa is None else round(kappa, 3),
            "exact_agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / len(a), 3)
            if a
            else None,
        }
    units = [
        [
            s.get(ScoreRound.ANNOTATOR),
            s.get(ScoreRound.INSPECTION_1),
            s.get(ScoreRound.INSPECTION_2),
        ]
        for s in latest
    ]
    alpha = krippendorff_alpha_interval(units)
    out["krippendorff_alpha_interval"] = None if alpha is None else round(alpha, 3)
    return out


def agreement(db: Session, project_id: int) -> dict[str, Any]:
    """Over every item, then split: ``blind`` keeps the inspections made without
    seeing earlier scores, ``unblinded`` those made seeing them (and those from before
    the tool recorded it, when every inspection saw them); each beside the annotator."""
    latest: dict[int, dict[int, tuple[int, bool]]] = defaultdict(dict)
    rows = db.execute(
        select(Score.item_id, Score.round, Score.score, Score.blind)
        .join(Item, Item.id == Score.item_id)
        .where(Item.project_id == project_id)
        .order_by(Score.id)
    )
    for item_id, round_, score, blind in rows:
        latest[item_id][round_] = (score, bool(blind))  # the last score of a round counts

    def subset(blind: bool | None) -> list[dict[int, int]]:
        return [
            {
                r: score
                for r, (score, was_blind) in rounds.items()
                if blind is None or r not in INSPECTIONS or was_blind == blind
            }
            for rounds in latest.values()
        ]

    out = _agreement_of(subset(None))
    out["blind"] = _agreement_of(subset(True))
    out["unblinded"] = _agreement_of(subset(False))
    out["settled_by_admin"] = sum(1 for s in latest.values() if ScoreRound.SETTLEMENT in s)
    return out


def dashboard(db: Session, project_id: int) -> dict[str, Any]:
    return {
        "progress": progress(db, project_id),
        "throughput": throughput(db, project_id),
        "rejections": rejections_per_rule(db, project_id),
        "agreement": agreement(db, project_id),
        "skips": skip_counts(db, project_id),
        "unreadable": unreadable_items(db, project_id),
    }
