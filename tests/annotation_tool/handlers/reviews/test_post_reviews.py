from __future__ import annotations

from review_factories import make_project, make_user, role_users_status, submitted_item

from annotation_tool.models import Review


class TestPostReviews:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/reviews"

    def submitted(self, db, images, author):
        return submitted_item(db, make_project(db), images["coffee"], author, audit_cycle=1)

    def test_rejection_needs_rule_and_comment(self, client_for, annotator, reviewer, db, images):
        item = self.submitted(db, images, annotator)
        client = client_for(reviewer)
        resp = client.post(self.url(item.id), json={"decision": "reject", "comment": "bad"})
        assert resp.status_code == 422
        assert resp.json()["message"] == "A rejection must name at least one broken rule."
        resp = client.post(self.url(item.id), json={"decision": "reject", "rules": ["D5"]})
        assert resp.json()["message"] == "A rejection needs a comment for the annotator."
        resp = client.post(
            self.url(item.id), json={"decision": "reject", "rules": ["D9"], "comment": "x"}
        )
        assert resp.json()["message"] == "unknown description rules: ['D9']"

    def test_rejection_sends_back_to_author(self, client_for, annotator, reviewer, db, images):
        item = self.submitted(db, images, annotator)
        resp = client_for(reviewer).post(
            self.url(item.id),
            json={"decision": "reject", "rules": ["D5", "D6"], "comment": "colours"},
        )
        assert resp.status_code == 201
        assert resp.json()["stage"] == "revision"
        review = db.query(Review).one()
        assert (review.rules, review.comment, review.description_version) == (
            ["D5", "D6"],
            "colours",
            1,
        )

    def test_two_accepts_per_round_then_done(self, client_for, annotator, db, images):
        item = self.submitted(db, images, annotator)
        stages = []
        for i in range(4):
            r = client_for(make_user(db, f"r{i}", "reviewer")).post(
                self.url(item.id), json={"decision": "accept"}
            )
            stages.append(r.json()["stage"])
        assert stages == ["audit_1", "audit_2", "audit_2", "done"]
        assert [r.round for r in db.query(Review).order_by(Review.id)] == [1, 1, 2, 2]

    def test_one_decision_per_reviewer_per_cycle(self, client_for, annotator, reviewer, db, images):
        item = self.submitted(db, images, annotator)
        client = client_for(reviewer)
        client.post(self.url(item.id), json={"decision": "accept"})
        resp = client.post(self.url(item.id), json={"decision": "accept"})
        assert resp.status_code == 409
        assert resp.json()["message"] == "You have already audited this version."

    def test_reviewers_only(self, client_for, annotator, db, images):
        item = self.submitted(db, images, annotator)
        statuses = role_users_status(
            client_for, db, "POST", self.url(item.id), json={"decision": "accept"}
        )
        assert statuses == {"annotator": 403, "reviewer": 201, "admin": 403}
