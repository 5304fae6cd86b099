from __future__ import annotations

from datetime import timedelta

from review_factories import (
    add_caption,
    add_score,
    make_item,
    make_project,
    make_user,
    role_users_status,
)

from annotation_tool.models import Item, Stage, utcnow


class TestPostClaims:
    def url(self, project_id: int) -> str:
        return f"/api/projects/{project_id}/claims"

    def test_two_annotators_get_different_items(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        first = make_item(db, project, images["coffee"])
        second = make_item(db, project, images["rocket"])
        a = client_for(annotator).post(self.url(project.id), json={"task": "selection"}).json()
        b = client_for(annotator2).post(self.url(project.id), json={"task": "selection"}).json()
        assert (a["id"], b["id"]) == (first.id, second.id)
        assert a["locked_by_me"] is True

    def test_reclaim_returns_the_held_item(self, client_for, annotator, db, images):
        project = make_project(db)
        make_item(db, project, images["coffee"])
        make_item(db, project, images["rocket"])
        client = client_for(annotator)
        first = client.post(self.url(project.id), json={"task": "selection"}).json()
        again = client.post(self.url(project.id), json={"task": "selection"}).json()
        assert again["id"] == first["id"]

    def test_exclude_skips_and_frees_the_previous_claim(self, client_for, annotator, db, images):
        project = make_project(db)
        first = make_item(db, project, images["coffee"])
        second = make_item(db, project, images["rocket"])
        client = client_for(annotator)
        client.post(self.url(project.id), json={"task": "selection"})
        nxt = client.post(
            self.url(project.id), json={"task": "selection", "exclude": [first.id]}
        ).json()
        assert nxt["id"] == second.id
        db.expire_all()
        assert db.get(Item, first.id).lock_user_id is None  # one claim per person

    def test_expired_lock_is_taken_over(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        item.lock_user_id = annotator2.id
        item.lock_expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
        got = client_for(annotator).post(self.url(project.id), json={"task": "selection"}).json()
        assert got["id"] == item.id

    def test_empty_queue_is_204(self, client_for, annotator, db):
        project = make_project(db)
        assert (
            client_for(annotator).post(self.url(project.id), json={"task": "selection"}).status_code
            == 204
        )

    def test_inspector_never_gets_an_item_twice(self, client_for, annotator, reviewer, db, images):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_2, annotator_id=annotator.id
        )
        add_score(db, item, annotator, 0, 4)
        add_score(db, item, reviewer, 1, 4)
        assert (
            client_for(reviewer).post(self.url(project.id), json={"task": "inspection"}).status_code
            == 204
        )
        other = make_user(db, "other-rev", "reviewer")
        assert (
            client_for(other).post(self.url(project.id), json={"task": "inspection"}).json()["id"]
            == item.id
        )

    def test_revision_goes_only_to_its_author(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        item = make_item(
            db, project, images["coffee"], stage=Stage.REVISION, describer_id=annotator.id
        )
        assert (
            client_for(annotator2).post(self.url(project.id), json={"task": "revision"}).status_code
            == 204
        )
        assert (
            client_for(annotator).post(self.url(project.id), json={"task": "revision"}).json()["id"]
            == item.id
        )

    def test_description_claim_seeds_the_draft_once(self, client_for, annotator, db, images):
        project = make_project(db)
        make_item(
            db,
            project,
            images["coffee"],
            stage=Stage.DESCRIPTION,
            draft_caption="A cup.",
            draft_model="llava",
        )
        client = client_for(annotator)
        got = client.post(self.url(project.id), json={"task": "description"}).json()
        assert got["description"] == {"version": 1, "kind": "draft", "text": "A cup."}
        assert got["draft_model"] == "llava"
        again = client.post(self.url(project.id), json={"task": "description"}).json()
        assert again["description"]["version"] == 1

    def test_study_captions_are_blind(self, client_for, annotator, db, images):
        project = make_project(db, "study", kind="caption_study")
        item = make_item(db, project, images["coffee"], stage=Stage.STUDY)
        for model in ("cogvlm", "llava"):
            add_caption(db, item, model, f"text by {model}")
        got = client_for(annotator).post(self.url(project.id), json={"task": "study"}).json()
        assert [c["label"] for c in got["captions"]] == ["Caption A", "Caption B"]
        assert "cogvlm" not in str(got["captions"]).replace("text by cogvlm", "")
        assert all(set(c) == {"id", "label", "caption"} for c in got["captions"])

    def test_roles_per_task(self, client_for, db):
        project = make_project(db)
        assert role_users_status(
            client_for, db, "POST", self.url(project.id), json={"task": "selection"}
        ) == {
            "annotator": 204,
            "reviewer": 403,
            "admin": 403,
        }

    def test_reviewer_tasks_refuse_annotators(self, client_for, annotator, db):
        project = make_project(db)
        client = client_for(annotator)
        for task in ("inspection", "audit", "settle"):
            assert client.post(self.url(project.id), json={"task": task}).status_code == 403


class TestPostClaimsOfStartedDescriptions:
    """Issue 22.1: a started description changes hands only by an explicit, logged
    takeover once its author has left it for takeover_after_s."""

    def url(self, project_id: int) -> str:
        return f"/api/projects/{project_id}/claims"

    def start(self, client, project, item) -> None:
        client.post(self.url(project.id), json={"task": "description"})
        client.put(f"/api/items/{item.id}/description", json={"text": "begun", "base_version": 0})
        client.delete(f"/api/items/{item.id}/lock")

    def test_started_description_is_not_handed_to_another(
        self, client_for, annotator, annotator2, db, images
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        self.start(client_for(annotator), project, item)
        resp = client_for(annotator2).post(self.url(project.id), json={"task": "description"})
        assert resp.status_code == 204

    def test_abandoned_description_is_taken_over_and_logged(
        self, client_for, annotator, annotator2, admin, db, images, settings
    ):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        self.start(client_for(annotator), project, item)
        db.expire_all()
        stored = db.get(Item, item.id)
        stored.updated_at = utcnow() - timedelta(seconds=settings.takeover_after_s + 1)
        db.commit()
        got = client_for(annotator2).post(self.url(project.id), json={"task": "description"})
        assert (got.json()["id"], got.json()["description"]["text"]) == (item.id, "begun")
        db.expire_all()
        assert db.get(Item, item.id).describer_id == annotator2.id
        history = client_for(admin).get(f"/api/items/{item.id}/history").json()
        assert [v["author"] for v in history["versions"]] == ["ann"]
        takeover = [e for e in history["log"] if e["action"] == "description.takeover"]
        assert [(e["user"], e["data"]) for e in takeover] == [
            ("bob", {"from_user": annotator.id, "version": 1})
        ]

    def test_own_started_description_comes_back_first(self, client_for, annotator, db, images):
        project = make_project(db)
        make_item(db, project, images["coffee"], stage=Stage.DESCRIPTION)
        started = make_item(db, project, images["rocket"], stage=Stage.DESCRIPTION)
        started.describer_id = annotator.id
        db.commit()
        got = client_for(annotator).post(self.url(project.id), json={"task": "description"})
        assert got.json()["id"] == started.id
