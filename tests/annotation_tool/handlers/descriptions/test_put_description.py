from __future__ import annotations

from review_factories import GOOD_DESCRIPTION, make_item, make_project, role_users_status

from annotation_tool.models import DescriptionVersion, Item, Stage


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


class TestPutDescriptionOfAnotherAnnotator:
    """Issue 22.1: a stale PUT must neither read nor take someone else's started text."""

    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/description"

    def started_by(self, client, project, item) -> None:
        client.post(f"/api/projects/{project.id}/claims", json={"task": "description"})
        assert client.put(self.url(item.id), json={"text": "my secret draft", "base_version": 0})
        client.delete(f"/api/items/{item.id}/lock")  # the lock is free again

    def test_conflict_reply_carries_no_text(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        self.started_by(client_for(annotator), project, item)
        other = client_for(annotator2)
        assert other.get(f"/api/items/{item.id}").status_code == 404
        resp = other.put(self.url(item.id), json={"text": "probe", "base_version": 0})
        assert resp.status_code == 403
        assert resp.json() == {
            "error": "forbidden",
            "message": "Another annotator is writing this description.",
        }

    def test_stale_put_and_submit_do_not_take_the_item(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        self.started_by(client_for(annotator), project, item)
        other = client_for(annotator2)
        put = other.put(self.url(item.id), json={"text": "taken", "base_version": 1})
        submit = other.post(
            f"/api/items/{item.id}/description/submissions",
            json={"text": GOOD_DESCRIPTION, "base_version": 1},
        )
        assert (put.status_code, submit.status_code) == (403, 403)
        db.expire_all()
        stored = db.get(Item, item.id)
        assert (stored.stage, stored.describer_id, stored.description_version) == (
            Stage.DESCRIPTION,
            annotator.id,
            1,
        )
        assert [v.author_id for v in db.query(DescriptionVersion)] == [annotator.id]

    def test_first_save_makes_the_author(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        client_for(annotator).put(self.url(item.id), json={"text": "mine", "base_version": 0})
        db.expire_all()
        assert db.get(Item, item.id).describer_id == annotator.id
