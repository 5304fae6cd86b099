"""Issue 22, an annotator's day, item 3: progress on every task page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from review_factories import make_item, make_project, role_users_status

from annotation_tool.models import AuditLog, Stage, utcnow


class TestGetProgress:
    def url(self, project_id: int, task: str) -> str:
        return f"/api/projects/{project_id}/progress?task={task}"

    def test_done_today_left_and_rate(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        items = [make_item(db, project, images["coffee"], image_id=f"i{i}") for i in range(5)]
        ann = client_for(annotator)
        for _ in range(3):
            claimed = ann.post(f"/api/projects/{project.id}/claims", json={"task": "selection"})
            ann.post(f"/api/items/{claimed.json()['id']}/scores", json={"score": 3})
        claimed = ann.post(f"/api/projects/{project.id}/claims", json={"task": "selection"})
        ann.post(f"/api/items/{claimed.json()['id']}/skips", json={"reason": "unsure"})
        # The three scores 20 and 10 minutes apart: two more in 20 minutes = 6 an hour.
        rows = db.query(AuditLog).filter_by(action="selection.score").order_by(AuditLog.id)
        now = utcnow()
        for row, minutes in zip(rows, (20, 10, 0), strict=True):
            row.at = now - timedelta(minutes=minutes)
        yesterday = AuditLog(
            user_id=annotator.id,
            project_id=project.id,
            item_id=items[0].id,
            action="selection.score",
            data={},
            at=now - timedelta(days=1, hours=1),
        )
        db.add(yesterday)
        db.commit()
        body = ann.get(self.url(project.id, "selection")).json()
        assert (body["done_today"], body["skipped_today"], body["left"]) == (3, 1, 1)
        if now.hour == 0 and now.minute < 20:
            pytest.skip("the scores straddle midnight UTC")  # pragma: no cover
        assert body["per_hour"] == 6.0
        # Another annotator's figures are their own; the skipped item is still theirs.
        other = client_for(annotator2).get(self.url(project.id, "selection")).json()
        assert (other["done_today"], other["left"], other["per_hour"]) == (0, 2, None)

    def test_description_and_revision_are_told_apart(self, client_for, annotator, db, images):
        project = make_project(db)
        make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION, final_score=5)
        for revision in (False, True, True):
            db.add(
                AuditLog(
                    user_id=annotator.id,
                    project_id=project.id,
                    action="description.submit",
                    data={"revision": revision},
                    at=utcnow(),
                )
            )
        db.commit()
        ann = client_for(annotator)
        description = ann.get(self.url(project.id, "description")).json()
        revision = ann.get(self.url(project.id, "revision")).json()
        assert (description["done_today"], description["left"]) == (1, 1)
        assert (revision["done_today"], revision["left"]) == (2, 0)

    def test_a_task_of_another_role_is_403(self, client_for, db):
        project = make_project(db)
        url = self.url(project.id, "audit")
        assert role_users_status(client_for, db, "GET", url) == {
            "annotator": 403,
            "reviewer": 200,
            "admin": 403,
        }
