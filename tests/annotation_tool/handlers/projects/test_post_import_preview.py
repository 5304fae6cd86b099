"""Issue 22, an annotator's day, item 7: the import form previews its count and says
why its bounds match no image."""

from __future__ import annotations

from review_factories import make_project, manifest_rows, role_users_status, write_run

from annotation_tool.models import Item


class TestPostImportPreview:
    def url(self, project_id: int) -> str:
        return f"/api/projects/{project_id}/imports/preview"

    def test_counts_each_bound_and_imports_nothing(self, client_for, admin, db, images, tmp_path):
        project = make_project(db)
        run = write_run(tmp_path / "run", manifest_rows(images, ("cogvlm", "llava")))
        body = {"run_dir": str(run), "min_aesthetic": 6.5, "min_short_edge": 1024}
        resp = client_for(admin).post(self.url(project.id), json=body)
        assert resp.status_code == 200, resp.text
        p = resp.json()
        assert [(s["label"], s["images"]) for s in p["steps"]] == [
            ("images in the run", 6),
            ("kept by the pipeline", 5),
            ("with aesthetic ≥ 6.5", 2),
            ("with a short edge ≥ 1024 px", 2),
        ]
        assert (p["matched"], p["new"], p["largest_short_edge"], p["best_aesthetic"]) == (
            2,
            2,
            1100,
            7.0,
        )
        assert p["explanation"] == "2 image(s) match; 2 of them are new to this project."
        assert db.query(Item).count() == 0
        client_for(admin).post(f"/api/projects/{project.id}/imports", json=body)
        again = client_for(admin).post(self.url(project.id), json=body).json()
        assert (again["matched"], again["new"]) == (2, 0)

    def test_a_short_edge_bound_too_high_says_what_the_run_holds(
        self, client_for, admin, db, images, tmp_path
    ):
        project = make_project(db)
        run = write_run(tmp_path / "run", manifest_rows(images))
        body = {"run_dir": str(run), "min_aesthetic": 6.5, "min_short_edge": 2000}
        p = client_for(admin).post(self.url(project.id), json=body).json()
        assert p["matched"] == 0
        assert p["explanation"] == (
            "No kept image has a short edge ≥ 2000 px: the largest kept short edge is 1100 px."
            " Lower the short-edge bound (the default 1024 px suits LAION-sized images, not"
            " small test runs)."
        )

    def test_an_aesthetic_bound_too_high(self, client_for, admin, db, images, tmp_path):
        project = make_project(db)
        run = write_run(tmp_path / "run", manifest_rows(images))
        body = {"run_dir": str(run), "min_aesthetic": 8}
        p = client_for(admin).post(self.url(project.id), json=body).json()
        assert p["explanation"] == (
            "No kept image has aesthetic ≥ 8: the best kept image scores 7.00."
            " Lower the aesthetic bound."
        )

    def test_an_unknown_source(self, client_for, admin, db, images, tmp_path):
        project = make_project(db)
        run = write_run(tmp_path / "run", manifest_rows(images))
        body = {"run_dir": str(run), "sources": ["laion"]}
        p = client_for(admin).post(self.url(project.id), json=body).json()
        assert p["explanation"] == "No kept image comes from laion: the run's sources are test."

    def test_only_admin(self, client_for, db, tmp_path):
        project = make_project(db)
        statuses = role_users_status(
            client_for, db, "POST", self.url(project.id), json={"run_dir": str(tmp_path)}
        )
        assert statuses["annotator"] == 403 and statuses["reviewer"] == 403
