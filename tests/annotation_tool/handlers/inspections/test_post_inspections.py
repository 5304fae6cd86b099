from __future__ import annotations

import pytest
from review_factories import add_score, make_item, make_project, make_user, role_users_status

from annotation_tool.models import Stage


class TestPostInspections:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/inspections"

    def scored(self, db, images, annotator, score: int = 5):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_1, annotator_id=annotator.id
        )
        add_score(db, item, annotator, 0, score)
        return item

    @pytest.mark.parametrize(
        ("annotator_score", "first", "second", "stage", "final"),
        [
            (5, 5, 5, "description", 5),
            (3, 3, 3, "not_selected", 3),
            (5, 4, 5, "settle", None),
            (5, 5, 4, "settle", None),
        ],
    )
    def test_two_rounds(
        self,
        client_for,
        annotator,
        reviewer,
        reviewer2,
        db,
        images,
        annotator_score,
        first,
        second,
        stage,
        final,
    ):
        item = self.scored(db, images, annotator, annotator_score)
        r1 = client_for(reviewer).post(self.url(item.id), json={"score": first})
        assert r1.json()["stage"] == "inspection_2"
        r2 = client_for(reviewer2).post(self.url(item.id), json={"score": second, "comment": "c"})
        assert r2.status_code == 201
        assert r2.json() == {"id": item.id, "stage": stage, "final_score": final}

    def test_same_reviewer_cannot_inspect_twice(self, client_for, annotator, reviewer, db, images):
        item = self.scored(db, images, annotator)
        client = client_for(reviewer)
        client.post(self.url(item.id), json={"score": 5})
        resp = client.post(self.url(item.id), json={"score": 5})
        assert resp.status_code == 409
        assert resp.json()["error"] == "invalid_state"

    def test_not_waiting_for_inspection(self, client_for, reviewer, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        assert client_for(reviewer).post(self.url(item.id), json={"score": 5}).status_code == 409

    def test_reviewers_only(self, client_for, db, images):
        item = self.scored(db, images, make_user(db, "a0", "annotator"))
        statuses = role_users_status(client_for, db, "POST", self.url(item.id), json={"score": 5})
        assert statuses == {"annotator": 403, "reviewer": 201, "admin": 403}
