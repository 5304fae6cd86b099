from __future__ import annotations

from review_factories import GOOD_DESCRIPTION, make_item, make_project, make_user

from annotation_tool.models import Stage


class TestGetHistory:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/history"

    def test_every_version_and_decision_is_kept(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        ann = client_for(annotator)
        ann.post(f"/api/projects/{project.id}/claims", json={"task": "description"})
        ann.put(f"/api/items/{item.id}/description", json={"text": "first", "base_version": 0})
        ann.put(f"/api/items/{item.id}/description", json={"text": "second", "base_version": 1})
        ann.post(
            f"/api/items/{item.id}/description/submissions",
            json={"text": GOOD_DESCRIPTION, "base_version": 2},
        )
        rev = client_for(make_user(db, "r1", "reviewer"))
        rev.post(f"/api/projects/{project.id}/claims", json={"task": "audit"})
        rev.post(
            f"/api/items/{item.id}/reviews",
            json={"decision": "reject", "rules": ["D6"], "comment": "order"},
        )
        h = client_for(make_user(db, "boss", "admin")).get(self.url(item.id)).json()
        assert [(v["version"], v["kind"], v["author"]) for v in h["versions"]] == [
            (1, "autosave", "ann"),
            (2, "autosave", "ann"),
            (3, "submit", "ann"),
        ]
        assert [(r["reviewer"], r["decision"], r["rules"]) for r in h["reviews"]] == [
            ("r1", "reject", ["D6"])
        ]
        assert [e["action"] for e in h["log"]] == [
            "item.claim",
            "description.save",
            "description.save",
            "description.submit",
            "item.claim",
            "audit.decide",
        ]

    def test_other_annotator_is_403(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        item = make_item(
            db,
            project,
            images["coffee"],
            stage=Stage.AUDIT_1,
            describer_id=annotator2.id,
            annotator_id=annotator2.id,
        )
        assert client_for(annotator).get(self.url(item.id)).status_code == 403
        assert client_for(annotator2).get(self.url(item.id)).status_code == 200
