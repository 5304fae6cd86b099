from __future__ import annotations

import pytest
from review_factories import (
    add_score,
    add_version,
    claim,
    make_item,
    make_project,
    rejected_item,
    resubmit,
    scored_item,
    submitted_item,
)

from annotation_tool.models import Score, Stage


class TestGetItem:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}"

    def test_annotator_sees_only_own_score(self, client_for, annotator, reviewer, db, images):
        project = make_project(db, blind_inspection=False)  # blind: see test_blind_*
        item = scored_item(db, project, images["coffee"], annotator, 4, stage=Stage.INSPECTION_2)
        add_score(db, item, reviewer, 1, 3)
        mine = client_for(annotator).get(self.url(item.id)).json()
        assert [(s["round"], s["score"], s["user"]) for s in mine["scores"]] == [(0, 4, None)]
        theirs = client_for(reviewer).get(self.url(item.id)).json()
        assert [(s["round"], s["score"], s["user"]) for s in theirs["scores"]] == [
            (0, 4, "ann"),
            (1, 3, "rev"),
        ]

    def test_annotator_cannot_read_other_peoples_items(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_1, annotator_id=annotator2.id
        )
        assert client_for(annotator).get(self.url(item.id)).status_code == 404

    def test_reviewer_cannot_read_unsubmitted_items(self, client_for, reviewer, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        assert client_for(reviewer).get(self.url(item.id)).status_code == 404

    def test_description_text_is_returned_verbatim(
        self, client_for, annotator, reviewer, db, images
    ):
        project = make_project(db)
        item = submitted_item(
            db, project, images["coffee"], annotator, "<script>alert(1)</script> A cup."
        )
        got = client_for(reviewer).get(self.url(item.id)).json()
        # JSON carries the raw text; pages render it with textContent (see e2e tests).
        assert got["description"]["text"] == "<script>alert(1)</script> A cup."

    def test_missing_is_404(self, client_for, admin):
        assert client_for(admin).get(self.url(999)).status_code == 404

    @pytest.mark.parametrize("suffix", ["", "/image", "/thumbnail", "/history"])
    def test_unreadable_answers_like_missing(
        self, client_for, annotator, annotator2, db, images, suffix
    ):
        """Issue 22.9: 403 versus 404 must not tell which item ids exist."""
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_1, annotator_id=annotator2.id
        )
        client = client_for(annotator)
        hidden = client.get(self.url(item.id) + suffix)
        missing = client.get(self.url(item.id + 1000) + suffix)
        assert (hidden.status_code, missing.status_code) == (404, 404)
        assert hidden.json() == {
            "error": "not_found",
            "message": f"Item {item.id} not found",
            "id": item.id,
        }
        assert missing.json()["message"] == f"Item {item.id + 1000} not found"


class TestGetItemShowsReviewersSubmittedWorkOnly:
    """Issue 22.2: reviewers see submitted work, never an unsubmitted draft."""

    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}"

    def test_draft_in_description_is_hidden(
        self, client_for, annotator, annotator2, reviewer, db, images
    ):
        project = make_project(db)
        item = make_item(
            db,
            project,
            images["coffee"],
            stage=Stage.DESCRIPTION,
            annotator_id=annotator.id,
            describer_id=annotator2.id,
        )
        add_version(db, item, annotator2, "half written", kind="autosave")
        got = client_for(reviewer).get(self.url(item.id)).json()
        assert (got["description"], got["draft_model"]) == (None, None)

    def test_revision_shows_the_submitted_text(self, client_for, annotator, reviewer, db, images):
        project = make_project(db)
        item = submitted_item(
            db, project, images["coffee"], annotator, "as submitted", stage=Stage.REVISION
        )
        add_version(db, item, annotator, "being revised", kind="autosave")
        got = client_for(reviewer).get(self.url(item.id)).json()
        assert got["description"] == {"version": 1, "kind": "submit", "text": "as submitted"}
        mine = client_for(annotator).get(self.url(item.id)).json()
        assert mine["description"]["text"] == "being revised"

    def test_lock_alone_does_not_show_another_annotators_text(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.DESCRIPTION, describer_id=annotator2.id
        )
        add_version(db, item, annotator2, "bob's words", kind="autosave")
        item.lock_user_id = annotator.id
        db.commit()
        got = client_for(annotator).get(self.url(item.id)).json()
        assert (got["description"], got["reviews"]) == (None, [])


class TestBlindInspection:
    """Issue 22, an annotator's day, item 4: inspectors score blind by default."""

    def test_the_second_inspector_sees_no_earlier_score_or_name(
        self, client_for, annotator, reviewer, reviewer2, db, images
    ):
        project = make_project(db)
        item = scored_item(db, project, images["coffee"], annotator, 4, stage=Stage.INSPECTION_2)
        add_score(db, item, reviewer, 1, 3)
        second = client_for(reviewer2)
        seen = claim(second, project.id, "inspection").json()
        assert (seen["id"], seen["blind"], seen["scores"]) == (item.id, True, [])
        history = second.get(f"/api/items/{item.id}/history").json()
        assert history["scores"] == [] and history["timeline"] == []
        # The first inspector, looking back, sees only their own score.
        first = client_for(reviewer).get(f"/api/items/{item.id}").json()
        assert [(s["round"], s["score"], s["user"]) for s in first["scores"]] == [(1, 3, None)]

    def test_the_first_inspector_is_blind_too_and_the_score_records_it(
        self, client_for, annotator, reviewer, db, images
    ):
        project = make_project(db)
        item = scored_item(db, project, images["coffee"], annotator, 4)
        rev = client_for(reviewer)
        assert claim(rev, project.id, "inspection").json()["scores"] == []
        assert rev.post(f"/api/items/{item.id}/inspections", json={"score": 4}).status_code == 201
        db.expire_all()
        assert [(s.round, s.blind) for s in db.query(Score).order_by(Score.id)] == [
            (0, None),
            (1, True),
        ]

    def test_a_project_may_turn_it_off(self, client_for, annotator, reviewer, db, images):
        project = make_project(db, blind_inspection=False)
        scored_item(db, project, images["coffee"], annotator, 4)
        seen = claim(client_for(reviewer), project.id, "inspection").json()
        assert seen["blind"] is False
        assert [(s["score"], s["user"]) for s in seen["scores"]] == [(4, "ann")]

    def test_after_inspection_reviewers_see_every_score(
        self, client_for, annotator, reviewer, reviewer2, db, images
    ):
        project = make_project(db)
        item = scored_item(db, project, images["coffee"], annotator, 5, stage=Stage.DESCRIPTION)
        add_score(db, item, reviewer, 1, 5)
        seen = client_for(reviewer2).get(f"/api/items/{item.id}").json()
        assert [s["user"] for s in seen["scores"]] == ["ann", "rev"]


class TestRevisionForTheAuditor:
    """Issue 22, an annotator's day, item 2: a resubmitted text is marked as a
    revision, with the earlier rejection, its comment and a diff."""

    def test_a_resubmission_shows_the_rejection_and_the_diff(
        self, client_for, annotator, reviewer, reviewer2, db, images
    ):
        project = make_project(db)
        item = rejected_item(
            db,
            project,
            images["coffee"],
            annotator,
            reviewer,
            "A red cup on a table.",
            stage=Stage.AUDIT_1,
            annotator_id=None,
        )
        add_version(db, item, annotator, "An autosave.", kind="autosave")
        resubmit(db, item, annotator, "A white cup on a wooden table.")
        seen = claim(client_for(reviewer2), project.id, "audit").json()
        revision = seen["revision"]
        assert (revision["audit_cycle"], revision["previous_version"], revision["version"]) == (
            2,
            1,
            3,
        )
        assert [(r["rules"], r["comment"], r["reviewer"]) for r in revision["rejections"]] == [
            (["D5"], "fix", "rev")
        ]
        assert revision["diff"] == [
            {"op": "equal", "text": "A "},
            {"op": "delete", "text": "red "},
            {"op": "insert", "text": "white "},
            {"op": "equal", "text": "cup on a "},
            {"op": "insert", "text": "wooden "},
            {"op": "equal", "text": "table."},
        ]

    def test_a_first_submission_is_no_revision(self, client_for, annotator, reviewer, db, images):
        item = submitted_item(db, make_project(db), images["coffee"], annotator, "A cup.")
        assert client_for(reviewer).get(f"/api/items/{item.id}").json()["revision"] is None
