from __future__ import annotations

import pytest
from review_factories import add_score, add_version, make_item, make_project

from annotation_tool.models import Stage


class TestGetItem:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}"

    def test_annotator_sees_only_own_score(self, client_for, annotator, reviewer, db, images):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_2, annotator_id=annotator.id
        )
        add_score(db, item, annotator, 0, 4)
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
        item = make_item(
            db,
            project,
            images["coffee"],
            stage=Stage.AUDIT_1,
            annotator_id=annotator.id,
            describer_id=annotator.id,
        )
        add_version(db, item, annotator, "<script>alert(1)</script> A cup.")
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
        item = make_item(
            db,
            project,
            images["coffee"],
            stage=Stage.REVISION,
            annotator_id=annotator.id,
            describer_id=annotator.id,
        )
        add_version(db, item, annotator, "as submitted", kind="submit")
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
