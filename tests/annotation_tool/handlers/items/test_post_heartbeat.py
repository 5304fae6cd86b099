from __future__ import annotations

from datetime import timedelta

from review_factories import make_item, make_project

from annotation_tool.models import Item, utcnow


class TestPostHeartbeat:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/heartbeat"

    def test_extends_own_lock(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        item.lock_user_id = annotator.id
        item.lock_expires_at = utcnow() + timedelta(seconds=5)
        db.commit()
        resp = client_for(annotator).post(self.url(item.id))
        assert resp.status_code == 200
        db.expire_all()
        assert db.get(Item, item.id).lock_expires_at > utcnow() + timedelta(seconds=50)

    def test_someone_elses_lock_is_409(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        item.lock_user_id = annotator2.id
        item.lock_expires_at = utcnow() + timedelta(seconds=60)
        db.commit()
        resp = client_for(annotator).post(self.url(item.id))
        # annotator cannot even read an item someone else holds and they never worked on,
        # so for them it does not exist
        assert resp.status_code == 404

    def test_lock_lost_to_other_reviewer(
        self, client_for, reviewer, reviewer2, annotator, db, images
    ):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage="inspection_1", annotator_id=annotator.id
        )
        item.lock_user_id = reviewer2.id
        item.lock_expires_at = utcnow() + timedelta(seconds=60)
        db.commit()
        resp = client_for(reviewer).post(self.url(item.id))
        assert resp.status_code == 409
        assert resp.json()["error"] == "lock_lost"

    def test_released_item_is_not_locked_again(self, client_for, reviewer, annotator, db, images):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage="inspection_1", annotator_id=annotator.id
        )
        resp = client_for(reviewer).post(self.url(item.id))
        assert resp.status_code == 409
        assert resp.json()["message"] == "This item is no longer claimed by you."
        db.expire_all()
        assert db.get(Item, item.id).lock_user_id is None

    def test_lapsed_own_claim_is_extended(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        item.lock_user_id = annotator.id
        item.lock_expires_at = utcnow() - timedelta(seconds=5)
        db.commit()
        assert client_for(annotator).post(self.url(item.id)).status_code == 200
