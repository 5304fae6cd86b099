from __future__ import annotations

from review_factories import add_score, make_item, make_project, role_users_status

from annotation_tool.models import Stage


class TestGetMyItems:
    def url(self, project_id: int) -> str:
        return f"/api/projects/{project_id}/my-items"

    def test_only_own_work(self, client_for, annotator, annotator2, db, images):
        project = make_project(db)
        mine = make_item(
            db, project, images["coffee"], stage=Stage.INSPECTION_1, annotator_id=annotator.id
        )
        add_score(db, mine, annotator, 0, 4)
        other = make_item(
            db, project, images["rocket"], stage=Stage.INSPECTION_1, annotator_id=annotator2.id
        )
        add_score(db, other, annotator2, 0, 2)
        make_item(db, project, images["chelsea"])
        rows = client_for(annotator).get(self.url(project.id)).json()
        assert [(r["id"], r["my_score"], r["stage"]) for r in rows] == [
            (mine.id, 4, "inspection_1")
        ]

    def test_annotators_only(self, client_for, db):
        project = make_project(db)
        assert role_users_status(client_for, db, "GET", self.url(project.id)) == {
            "annotator": 200,
            "reviewer": 403,
            "admin": 403,
        }
