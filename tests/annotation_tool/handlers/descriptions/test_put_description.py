from __future__ import annotations

from review_factories import make_item, make_project, role_users_status

from annotation_tool.models import DescriptionVersion, Stage


class TestPutDescription:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/description"

    def test_autosave_versions_and_live_violations(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        client = client_for(annotator)
        r1 = client.put(
            self.url(item.id), json={"text": "Here is a cup. Maybe.", "base_version": 0}
        )
        assert r1.status_code == 200
        assert r1.json()["version"] == 1
        assert [v["rule"] for v in r1.json()["violations"]] == ["D1", "D2", "D4", "D7"]
        r2 = client.put(self.url(item.id), json={"text": "A cup.", "base_version": 1})
        assert r2.json()["version"] == 2
        assert [
            v.text for v in db.query(DescriptionVersion).order_by(DescriptionVersion.version)
        ] == [
            "Here is a cup. Maybe.",
            "A cup.",
        ]

    def test_stale_base_version_is_a_conflict_not_an_overwrite(
        self, client_for, annotator, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        client = client_for(annotator)
        client.put(self.url(item.id), json={"text": "tab one", "base_version": 0})
        resp = client.put(self.url(item.id), json={"text": "tab two", "base_version": 0})
        assert resp.status_code == 409
        body = resp.json()
        assert (body["error"], body["current_version"], body["current_text"]) == (
            "conflict",
            1,
            "tab one",
        )
        assert db.query(DescriptionVersion).count() == 1

    def test_revision_only_by_its_author(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.REVISION, describer_id=annotator.id
        )
        resp = client_for(annotator2).put(self.url(item.id), json={"text": "x", "base_version": 0})
        assert resp.status_code == 409
        assert (
            resp.json()["message"] == "Only the original annotator revises a rejected description."
        )

    def test_closed_item_is_not_editable(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DONE)
        assert (
            client_for(annotator)
            .put(self.url(item.id), json={"text": "x", "base_version": 0})
            .status_code
            == 409
        )

    def test_annotators_only(self, client_for, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        statuses = role_users_status(
            client_for, db, "PUT", self.url(item.id), json={"text": "x", "base_version": 0}
        )
        assert statuses == {"annotator": 200, "reviewer": 403, "admin": 403}
