from __future__ import annotations

from review_factories import add_caption, make_item, make_project, make_user, role_users_status

from annotation_tool.models import CaptionRating, Stage


class TestPostRatings:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/ratings"

    def study_item(self, db, images, assessors: int = 3):
        project = make_project(db, "study", kind="caption_study", assessors_per_item=assessors)
        item = make_item(db, project, images["coffee"], stage=Stage.STUDY)
        captions = [add_caption(db, item, m, f"by {m}") for m in ("cogvlm", "llava")]
        return project, item, captions

    def body(self, captions, score: int = 4) -> dict:
        return {
            "ratings": [
                {"caption_id": c.id, "completeness": score, "relevance": score, "fantasy": score}
                for c in captions
            ]
        }

    def test_rates_every_caption(self, client_for, annotator, db, images):
        _, item, captions = self.study_item(db, images)
        resp = client_for(annotator).post(self.url(item.id), json=self.body(captions))
        assert resp.status_code == 201
        assert db.query(CaptionRating).count() == 2

    def test_partial_or_repeated_ratings_are_refused(self, client_for, annotator, db, images):
        _, item, captions = self.study_item(db, images)
        client = client_for(annotator)
        resp = client.post(self.url(item.id), json=self.body(captions[:1]))
        assert resp.status_code == 422
        client.post(self.url(item.id), json=self.body(captions))
        assert client.post(self.url(item.id), json=self.body(captions)).status_code == 409

    def test_enough_assessors_closes_the_item(self, client_for, db, images):
        _, item, captions = self.study_item(db, images, assessors=1)
        client_for(make_user(db, "a1", "annotator")).post(
            self.url(item.id), json=self.body(captions)
        )
        resp = client_for(make_user(db, "a2", "annotator")).post(
            self.url(item.id), json=self.body(captions)
        )
        assert resp.status_code == 409
        assert resp.json()["message"] == "This image has all the ratings it needs."

    def test_roles(self, client_for, db, images):
        _, item, captions = self.study_item(db, images)
        statuses = role_users_status(
            client_for, db, "POST", self.url(item.id), json=self.body(captions)
        )
        assert statuses == {"annotator": 201, "reviewer": 201, "admin": 403}
