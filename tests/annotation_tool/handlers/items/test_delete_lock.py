from __future__ import annotations

from datetime import timedelta

from review_factories import make_item, make_project

from annotation_tool.models import Item, utcnow


class TestDeleteLock:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/lock"

    def test_releases_own_lock_only(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        mine = make_item(
            db,
            project,
            images["coffee"],
            lock_user_id=annotator.id,
            lock_expires_at=utcnow() + timedelta(seconds=60),
        )
        theirs = make_item(
            db,
            project,
            images["rocket"],
            lock_user_id=annotator2.id,
            lock_expires_at=utcnow() + timedelta(seconds=60),
        )
        client = client_for(annotator)
        assert client.delete(self.url(mine.id)).status_code == 204
        assert client.delete(self.url(theirs.id)).status_code == 204
        db.expire_all()
        assert db.get(Item, mine.id).lock_user_id is None
        assert db.get(Item, theirs.id).lock_user_id == annotator2.id
        assert db.get(Item, mine.id) is not None  # the item itself is never deleted
