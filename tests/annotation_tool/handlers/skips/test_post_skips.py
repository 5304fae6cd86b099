"""Issue 22, an annotator's day, item 1: skip with a reason in description and
revision; a skipped item goes to someone else; an unreadable image says why, can be
reported, and then cannot be scored."""

from __future__ import annotations

import pytest
from review_factories import (
    GOOD_DESCRIPTION,
    claim,
    make_item,
    make_project,
    rejected_item,
    scored_item,
)

from annotation_tool.models import AuditLog, Item, Skip, Stage


class TestPostSkips:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/skips"

    def test_a_skipped_description_goes_to_someone_else(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION, final_score=5)
        ann = client_for(annotator)
        assert claim(ann, project.id, "description").json()["id"] == item.id
        ann.put(f"/api/items/{item.id}/description", json={"text": "A cup.", "base_version": 0})
        resp = ann.post(self.url(item.id), json={"reason": "not_a_5", "comment": "too plain"})
        assert resp.status_code == 201
        assert resp.json() == {
            "id": item.id,
            "reason": "not_a_5",
            "image_problem": None,
            "stage": "description",
        }
        db.expire_all()
        stored = db.get(Item, item.id)
        assert (stored.describer_id, stored.lock_user_id) == (None, None)
        assert claim(ann, project.id, "description").status_code == 204  # not again
        other = claim(client_for(annotator2), project.id, "description")
        assert other.json()["id"] == item.id
        skip = db.query(Skip).one()
        assert (skip.user_id, skip.stage, skip.reason, skip.comment) == (
            annotator.id,
            "description",
            "not_a_5",
            "too plain",
        )
        log = db.query(AuditLog).filter_by(action="item.skip").one()
        assert log.data["reason"] == "not_a_5"
        # A late autosave from the skipper's tab does not take it back.
        late = ann.put(
            f"/api/items/{item.id}/description", json={"text": "late", "base_version": 1}
        )
        assert late.status_code == 409
        assert late.json()["message"] == "You skipped this item; it goes to someone else now."

    def test_a_skipped_revision_goes_to_another_annotator(
        self, client_for, annotator, annotator2, reviewer, db, images
    ):
        project = make_project(db)
        item = rejected_item(
            db, project, images["coffee"], annotator, reviewer, final_score=5, annotator_id=None
        )
        ann = client_for(annotator)
        assert claim(ann, project.id, "revision").json()["id"] == item.id
        assert ann.post(self.url(item.id), json={"reason": "unsure"}).status_code == 201
        assert claim(ann, project.id, "revision").status_code == 204
        bob = client_for(annotator2)
        taken = claim(bob, project.id, "revision").json()
        assert taken["id"] == item.id
        assert taken["description"]["text"] == GOOD_DESCRIPTION  # they continue from it
        assert [r["comment"] for r in taken["reviews"]] == ["fix"]  # and see why
        resp = bob.post(
            f"/api/items/{item.id}/description/submissions",
            json={"text": GOOD_DESCRIPTION + " ", "base_version": 1},
        )
        assert resp.status_code == 201, resp.text
        db.expire_all()
        assert db.get(Item, item.id).describer_id == annotator2.id

    def test_an_unreadable_image_is_reported_and_cannot_be_scored(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        item.image_ref = item.image_ref.replace("coffee.jpg", "missing.jpg")
        db.commit()
        ann = client_for(annotator)
        assert claim(ann, project.id, "selection").json()["id"] == item.id
        why = ann.get(f"/api/items/{item.id}/image").json()
        assert why["reason"] == "the file is missing"  # shown to the annotator, no path
        resp = ann.post(self.url(item.id), json={"reason": "unreadable"})
        assert resp.json()["image_problem"] == "the file is missing"
        db.expire_all()
        assert db.get(Item, item.id).image_problem == "the file is missing"
        assert claim(client_for(annotator2), project.id, "selection").status_code == 204
        score = ann.post(f"/api/items/{item.id}/scores", json={"score": 3})
        assert score.status_code == 409
        assert "cannot be read (the file is missing)" in score.json()["message"]

    def test_a_damaged_file_says_so(self, client_for, annotator, db, images):
        # A subfolder of the image root: the other tests list the root's own *.jpg.
        damaged = images["coffee"].parent / "broken" / "damaged.jpg"
        damaged.parent.mkdir(exist_ok=True)
        damaged.write_bytes(images["coffee"].read_bytes()[:2000])
        project = make_project(db)
        item = make_item(db, project, damaged)
        ann = client_for(annotator)
        claim(ann, project.id, "selection")
        resp = ann.post(self.url(item.id), json={"reason": "unreadable"})
        assert resp.json()["image_problem"] == "the image data is damaged or cut short"

    def test_a_readable_image_reported_unreadable_is_only_skipped(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        ann = client_for(annotator)
        claim(ann, project.id, "selection")
        resp = ann.post(self.url(item.id), json={"reason": "unreadable"})
        assert resp.json()["image_problem"] is None
        assert claim(ann, project.id, "selection").status_code == 204
        assert claim(client_for(annotator2), project.id, "selection").json()["id"] == item.id

    def test_someone_elses_claim_cannot_be_skipped(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        claim(client_for(annotator), project.id, "description")
        resp = client_for(annotator2).post(self.url(item.id), json={"reason": "unsure"})
        assert resp.status_code == 404  # they may not read it: it does not exist for them

    def test_reviewers_skip_their_own_tasks(self, client_for, annotator, reviewer, db, images):
        project = make_project(db)
        item = scored_item(db, project, images["coffee"], annotator, 4)
        rev = client_for(reviewer)
        claim(rev, project.id, "inspection")
        assert rev.post(self.url(item.id), json={"reason": "unsure"}).status_code == 201
        assert claim(rev, project.id, "inspection").status_code == 204

    @pytest.mark.parametrize("body", [{"reason": "bored"}, {}, {"reason": "unsure", "comment": 1}])
    def test_bad_reason_is_422(self, client_for, annotator, db, images, body):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        ann = client_for(annotator)
        claim(ann, project.id, "selection")
        resp = ann.post(self.url(item.id), json=body)
        assert resp.status_code == 422
        assert resp.json()["fields"][0]["field"].split(".")[0] in {"reason", "comment"}

    def test_a_finished_item_cannot_be_skipped(self, client_for, admin, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DONE)
        assert (
            client_for(admin).post(self.url(item.id), json={"reason": "unsure"}).status_code == 409
        )
