from __future__ import annotations

from review_factories import add_score, make_item, make_project, role_users_status

from annotation_tool.models import Score, Stage


class TestPostSettlements:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/settlements"

    def test_admin_settles_a_dispute(
        self, client_for, admin, annotator, reviewer, reviewer2, db, images
    ):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.SETTLE, annotator_id=annotator.id
        )
        for user, round_, score in ((annotator, 0, 5), (reviewer, 1, 4), (reviewer2, 2, 5)):
            add_score(db, item, user, round_, score)
        resp = client_for(admin).post(
            self.url(item.id), json={"score": 5, "comment": "two of three"}
        )
        assert resp.status_code == 201
        assert resp.json() == {"id": item.id, "stage": "description", "final_score": 5}
        settled = db.query(Score).filter_by(round=3).one()
        assert (settled.user_id, settled.comment) == (admin.id, "two of three")

    def test_no_dispute_is_409(self, client_for, admin, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        assert client_for(admin).post(self.url(item.id), json={"score": 5}).status_code == 409

    def test_admins_only(self, client_for, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.SETTLE)
        statuses = role_users_status(client_for, db, "POST", self.url(item.id), json={"score": 2})
        assert statuses == {"annotator": 403, "reviewer": 403, "admin": 201}
