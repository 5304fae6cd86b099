from __future__ import annotations

from review_factories import GOOD_DESCRIPTION, make_item, make_project, role_users_status

from annotation_tool.models import Stage


class TestPostDescriptionSubmissions:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/description/submissions"

    def test_rules_are_enforced_on_the_server(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        resp = client_for(annotator).post(
            self.url(item.id),
            json={"text": "This image depicts " + GOOD_DESCRIPTION, "base_version": 0},
        )
        assert resp.status_code == 422
        assert [v["rule"] for v in resp.json()["violations"]] == ["D3", "D7"]
        db.refresh(item)
        assert (item.stage, item.description_version) == ("description", 0)

    def test_submission_starts_audit_cycle(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        resp = client_for(annotator).post(
            self.url(item.id), json={"text": GOOD_DESCRIPTION, "base_version": 0}
        )
        assert resp.status_code == 201
        assert resp.json()["stage"] == "audit_1"
        db.refresh(item)
        assert (item.describer_id, item.audit_cycle, item.lock_user_id) == (annotator.id, 1, None)

    def test_stale_submission_is_conflict(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        client = client_for(annotator)
        client.put(f"/api/items/{item.id}/description", json={"text": "x", "base_version": 0})
        resp = client.post(self.url(item.id), json={"text": GOOD_DESCRIPTION, "base_version": 0})
        assert resp.status_code == 409

    def test_annotators_only(self, client_for, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        statuses = role_users_status(
            client_for,
            db,
            "POST",
            self.url(item.id),
            json={"text": GOOD_DESCRIPTION, "base_version": 0},
        )
        assert statuses == {"annotator": 201, "reviewer": 403, "admin": 403}
