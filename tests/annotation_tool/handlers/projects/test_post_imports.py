from __future__ import annotations

from review_factories import make_project, manifest_rows, role_users_status, write_run

from annotation_tool.models import Item, StudyCaption


class TestPostImports:
    def url(self, project_id: int) -> str:
        return f"/api/projects/{project_id}/imports"

    def test_filters_by_aesthetic_and_short_edge(self, client_for, admin, db, images, tmp_path):
        project = make_project(db)
        run = write_run(tmp_path / "run", manifest_rows(images, ("cogvlm", "llava")))
        resp = client_for(admin).post(
            self.url(project.id),
            json={"run_dir": str(run), "min_aesthetic": 6.5, "min_short_edge": 1040},
        )
        assert resp.status_code == 201
        assert resp.json() == {"matched": 2, "imported": 2, "already_present": 0}
        items = db.query(Item).order_by(Item.id).all()
        assert sorted(i.source_key for i in items) == ["hubble_deep_field", "rocket"]
        # Two captioners per image: one item each, with the first model's caption as draft.
        assert [i.draft_model for i in items] == ["cogvlm", "cogvlm"]

    def test_draft_model_preference_and_idempotence(self, client_for, admin, db, images, tmp_path):
        project = make_project(db)
        run = write_run(tmp_path / "run", manifest_rows(images, ("cogvlm", "llava")))
        client = client_for(admin)
        body = {"run_dir": str(run), "draft_model": "llava"}
        assert client.post(self.url(project.id), json=body).json() == {
            "matched": 5,
            "imported": 5,
            "already_present": 0,
        }
        assert {i.draft_model for i in db.query(Item)} == {"llava"}
        assert client.post(self.url(project.id), json=body).json() == {
            "matched": 5,
            "imported": 0,
            "already_present": 5,
        }

    def test_caption_study_keeps_every_model(self, client_for, admin, db, images, tmp_path):
        project = make_project(db, "study", kind="caption_study")
        run = write_run(tmp_path / "run", manifest_rows(images, ("cogvlm", "llava", "minigpt4")))
        resp = client_for(admin).post(self.url(project.id), json={"run_dir": str(run), "limit": 2})
        assert resp.json()["imported"] == 2
        assert db.query(StudyCaption).count() == 6
        assert {i.stage for i in db.query(Item)} == {"study"}

    def test_run_dir_outside_roots_is_refused(self, client_for, admin, db):
        project = make_project(db)
        resp = client_for(admin).post(self.url(project.id), json={"run_dir": "/etc"})
        assert resp.status_code == 422
        assert "outside the configured roots" in resp.json()["message"]

    def test_run_dir_without_manifests(self, client_for, admin, db, tmp_path):
        project = make_project(db)
        resp = client_for(admin).post(self.url(project.id), json={"run_dir": str(tmp_path)})
        assert resp.status_code == 422
        # Issue 22.9: no server path in the message.
        assert resp.json()["message"] == "no manifests/*.parquet in this run directory"

    def test_only_admin(self, client_for, db, images, tmp_path):
        project = make_project(db)
        run = write_run(tmp_path / "run", manifest_rows(images))
        statuses = role_users_status(
            client_for, db, "POST", self.url(project.id), json={"run_dir": str(run)}
        )
        assert statuses == {"annotator": 403, "reviewer": 403, "admin": 201}
