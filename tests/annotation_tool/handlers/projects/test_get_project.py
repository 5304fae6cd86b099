from __future__ import annotations

from review_factories import make_item, make_project

from annotation_tool.models import Stage


class TestGetProject:
    def url(self, project_id: int) -> str:
        return f"/api/projects/{project_id}"

    def test_stage_counts(self, client_for, annotator, db, images):
        project = make_project(db)
        make_item(db, project, images["coffee"])
        make_item(db, project, images["rocket"])
        make_item(db, project, images["chelsea"], stage=Stage.DONE)
        resp = client_for(annotator).get(self.url(project.id))
        assert resp.json()["stages"] == {"selection": 2, "done": 1}

    def test_missing_is_404(self, client_for, annotator):
        assert client_for(annotator).get(self.url(42)).status_code == 404
