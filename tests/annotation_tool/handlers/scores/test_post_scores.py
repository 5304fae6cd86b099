from __future__ import annotations

from datetime import timedelta

from review_factories import add_score, make_item, make_project, role_users_status

from annotation_tool.models import Item, Score, Stage, utcnow


class TestPostScores:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/scores"

    def claim(self, client, project_id: int) -> dict:
        return client.post(f"/api/projects/{project_id}/claims", json={"task": "selection"}).json()

    def test_score_moves_item_to_inspection_and_frees_it(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        client = client_for(annotator)
        self.claim(client, project.id)
        resp = client.post(self.url(item.id), json={"score": 4, "checklist": ["S1", "S5"]})
        assert resp.status_code == 201
        assert resp.json() == {"id": item.id, "stage": "inspection_1", "final_score": None}
        db.refresh(item)
        assert (item.annotator_id, item.lock_user_id) == (annotator.id, None)
        score = db.query(Score).one()
        assert (score.round, score.score, score.checklist) == (0, 4, ["S1", "S5"])

    def test_rescore_before_inspection_keeps_both_rows(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        client = client_for(annotator)
        self.claim(client, project.id)
        client.post(self.url(item.id), json={"score": 4})
        resp = client.post(self.url(item.id), json={"score": 5})
        assert resp.status_code == 201
        assert [s.score for s in db.query(Score).order_by(Score.id)] == [4, 5]

    def test_rescore_after_inspection_is_refused(self, client_for, annotator, reviewer, db, images):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_2, annotator_id=annotator.id
        )
        add_score(db, item, annotator, 0, 4)
        add_score(db, item, reviewer, 1, 4)
        resp = client_for(annotator).post(self.url(item.id), json={"score": 2})
        assert resp.status_code == 409
        assert resp.json()["error"] == "invalid_state"

    def test_item_claimed_by_someone_else_is_409(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        self.claim(client_for(annotator2), project.id)
        resp = client_for(annotator).post(self.url(item.id), json={"score": 3})
        assert resp.status_code == 409
        assert resp.json()["error"] == "lock_lost"

    def test_score_out_of_range_and_unknown_rule(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        client = client_for(annotator)
        assert client.post(self.url(item.id), json={"score": 6}).status_code == 422
        resp = client.post(self.url(item.id), json={"score": 3, "checklist": ["S99"]})
        assert resp.status_code == 422
        assert resp.json()["message"] == "unknown selection rules: ['S99']"

    def test_annotators_only(self, client_for, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        statuses = role_users_status(client_for, db, "POST", self.url(item.id), json={"score": 3})
        assert statuses == {"annotator": 201, "reviewer": 403, "admin": 403}


class TestPostScoresAfterAnInspectorLooked:
    """Issue 22.9: a rescore after an inspector's claim lapsed would have the stale
    inspection stored against a score the inspector never saw."""

    def test_rescore_after_a_lapsed_inspection_claim_is_refused(
        self, client_for, annotator, reviewer, db, images
    ):
        project = make_project(db, blind_inspection=False)  # the inspector sees the score
        item = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_1, annotator_id=annotator.id
        )
        add_score(db, item, annotator, 0, 3)
        inspector = client_for(reviewer)
        seen = inspector.post(f"/api/projects/{project.id}/claims", json={"task": "inspection"})
        assert [s["score"] for s in seen.json()["scores"]] == [3]
        db.expire_all()
        stored = db.get(Item, item.id)
        stored.lock_expires_at = utcnow() - timedelta(seconds=1)  # the claim lapsed
        db.commit()
        rescore = client_for(annotator).post(f"/api/items/{item.id}/scores", json={"score": 5})
        assert rescore.status_code == 409
        assert rescore.json()["message"] == "An inspector has already looked at this score."
        confirm = inspector.post(f"/api/items/{item.id}/inspections", json={"score": 3})
        assert confirm.status_code == 201
        db.expire_all()
        assert [(s.round, s.score) for s in db.query(Score).order_by(Score.id)] == [(0, 3), (1, 3)]
