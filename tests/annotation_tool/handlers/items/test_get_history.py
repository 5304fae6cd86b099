from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from review_factories import (
    GOOD_DESCRIPTION,
    add_review,
    add_score,
    add_version,
    claim,
    make_item,
    make_project,
    make_user,
)

from annotation_tool.models import AuditLog, Score, Stage


def describe_and_submit(ann: TestClient, project_id: int, item_id: int) -> None:
    """The annotator claims the description, autosaves twice and submits (v1-v3)."""
    claim(ann, project_id, "description")
    ann.put(f"/api/items/{item_id}/description", json={"text": "first", "base_version": 0})
    ann.put(f"/api/items/{item_id}/description", json={"text": "second", "base_version": 1})
    ann.post(
        f"/api/items/{item_id}/description/submissions",
        json={"text": GOOD_DESCRIPTION, "base_version": 2},
    )


def reject_for_order(rev: TestClient, project_id: int, item_id: int, comment: str) -> None:
    """The reviewer claims the audit and rejects the text under rule D6."""
    claim(rev, project_id, "audit")
    rev.post(
        f"/api/items/{item_id}/reviews",
        json={"decision": "reject", "rules": ["D6"], "comment": comment},
    )


class TestGetHistory:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/history"

    def test_every_version_and_decision_is_kept(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        describe_and_submit(client_for(annotator), project.id, item.id)
        reject_for_order(client_for(make_user(db, "r1", "reviewer")), project.id, item.id, "order")
        h = client_for(make_user(db, "boss", "admin")).get(self.url(item.id)).json()
        assert [(v["version"], v["kind"], v["author"]) for v in h["versions"]] == [
            (1, "autosave", "ann"),
            (2, "autosave", "ann"),
            (3, "submit", "ann"),
        ]
        assert [(r["reviewer"], r["decision"], r["rules"]) for r in h["reviews"]] == [
            ("r1", "reject", ["D6"])
        ]
        assert [e["action"] for e in h["log"]] == [
            "item.claim",
            "description.save",
            "description.save",
            "description.submit",
            "item.claim",
            "audit.decide",
        ]

    def test_other_annotator_is_404(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        item = make_item(
            db,
            project,
            images["coffee"],
            stage=Stage.AUDIT_1,
            describer_id=annotator2.id,
            annotator_id=annotator2.id,
        )
        assert client_for(annotator).get(self.url(item.id)).status_code == 404
        assert client_for(annotator2).get(self.url(item.id)).status_code == 200


class TestGetHistoryIsFilteredLikeTheItemView:
    """Issue 22.2: the history shows each role what the item view shows it."""

    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/history"

    @pytest.fixture
    def item(self, db, images, annotator, annotator2, reviewer, reviewer2):
        """Scored by ann, inspected by rev and rita (with comments), described by bob,
        rejected once, and now in revision with an unsubmitted autosave."""
        project = make_project(db)
        item = make_item(
            db,
            project,
            images["coffee"],
            stage=Stage.REVISION,
            annotator_id=annotator.id,
            describer_id=annotator2.id,
            final_score=5,
            audit_cycle=1,
        )
        add_score(db, item, annotator, 0, 5)
        for inspector in (reviewer, reviewer2):
            Score.create(
                db, item_id=item.id, user_id=inspector.id, round=1, score=5, comment="secret note"
            )
        add_version(db, item, annotator2, "submitted text", kind="submit")
        add_review(db, item, reviewer, 1, decision="reject")
        add_version(db, item, annotator2, "unsubmitted edit", kind="autosave")
        AuditLog.create(db, user_id=annotator2.id, item_id=item.id, action="x", data={})
        db.commit()
        return item

    def test_scoring_annotator_sees_only_own_score(self, client_for, annotator, item):
        h = client_for(annotator).get(self.url(item.id)).json()
        assert [(s["round"], s["score"], s["user"], s["comment"]) for s in h["scores"]] == [
            (0, 5, "ann", "")
        ]
        assert (h["versions"], h["reviews"], h["log"]) == ([], [], [])

    def test_describer_sees_own_texts_and_comments_but_no_names(self, client_for, annotator2, item):
        h = client_for(annotator2).get(self.url(item.id)).json()
        assert h["scores"] == []
        assert [(v["text"], v["author"]) for v in h["versions"]] == [
            ("submitted text", "bob"),
            ("unsubmitted edit", "bob"),
        ]
        assert [(r["reviewer"], r["comment"]) for r in h["reviews"]] == [(None, "fix")]
        assert h["log"] == []

    def test_reviewer_sees_submitted_texts_only(self, client_for, reviewer2, item):
        h = client_for(reviewer2).get(self.url(item.id)).json()
        assert [s["user"] for s in h["scores"]] == ["ann", "rev", "rita"]
        assert [(v["version"], v["text"]) for v in h["versions"]] == [(1, "submitted text")]
        assert [r["reviewer"] for r in h["reviews"]] == ["rev"]
        assert h["log"] == []

    def test_admin_sees_everything(self, client_for, admin, item):
        h = client_for(admin).get(self.url(item.id)).json()
        assert (len(h["scores"]), len(h["versions"]), len(h["reviews"]), len(h["log"])) == (
            3,
            2,
            1,
            1,
        )


class TestHistoryTimeline:
    """Issue 22, an annotator's day, item 2: the history reads as a timeline."""

    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/history"

    def test_one_chronological_list_with_revisions_marked(
        self, client_for, annotator, reviewer, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION, final_score=5)
        add_score(db, item, annotator, 0, 5)
        ann = client_for(annotator)
        describe_and_submit(ann, project.id, item.id)
        reject_for_order(client_for(reviewer), project.id, item.id, "left to right, please")
        claim(ann, project.id, "revision")
        revised = GOOD_DESCRIPTION.replace("soft and even", "soft")
        ann.post(
            f"/api/items/{item.id}/description/submissions",
            json={"text": revised, "base_version": 3},
        )
        h = client_for(make_user(db, "boss", "admin")).get(self.url(item.id)).json()
        assert [(e["kind"], e["who"], e["title"]) for e in h["timeline"]] == [
            ("score", "ann", "scored 5"),
            ("autosave", "ann", "2 autosaves (v1-v2)"),
            ("submit", "ann", "submitted v3 for audit"),
            ("reject", "rev", "rejected v3 in audit round 1 (D6)"),
            ("revision", "ann", "resubmitted v4 after a rejection (revision 1)"),
        ]
        reject, revision = h["timeline"][3], h["timeline"][4]
        assert reject["detail"] == "left to right, please"
        assert {"op": "delete", "text": "soft and even, "} in revision["diff"]
        # The annotator sees their own timeline without the reviewer's name.
        mine = ann.get(self.url(item.id)).json()["timeline"]
        assert [(e["kind"], e["who"]) for e in mine][2:4] == [("submit", "ann"), ("reject", None)]
