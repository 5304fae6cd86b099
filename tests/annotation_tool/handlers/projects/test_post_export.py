from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
from review_factories import (
    GOOD_DESCRIPTION,
    add_score,
    finished_item,
    make_item,
    make_project,
    make_user,
    role_users_status,
)

from annotation_tool.contexts.exports import EXPORT_SCHEMA
from annotation_tool.models import AuditLog, Stage
from annotation_tool.settings import HEADER_CSRF


class TestPostExport:
    def url(self, project_id: int, fmt: str = "parquet") -> str:
        return f"/api/projects/{project_id}/export?format={fmt}"

    def finished(self, db, images):
        project = make_project(db)
        ann = make_user(db, "ann", "annotator")
        revs = [make_user(db, f"r{i}", "reviewer") for i in range(4)]
        item = finished_item(
            db, project, images["coffee"], ann, revs, draft_model="cogvlm", image_id="img-1"
        )
        make_item(db, project, images["rocket"], stage=Stage.AUDIT_2, image_id="img-2")
        add_score(db, item, revs[0], 1, 5)  # the two inspectors
        add_score(db, item, revs[1], 2, 5)
        return project

    def test_parquet_rows(self, client_for, admin, db, images):
        project = self.finished(db, images)
        resp = client_for(admin).post(self.url(project.id))
        assert resp.status_code == 200
        assert (
            resp.headers["content-disposition"]
            == f'attachment; filename="paraimage-small-{project.id}.parquet"'
        )
        table = pq.read_table(io.BytesIO(resp.content))
        assert table.schema.remove_metadata() == EXPORT_SCHEMA
        rows = table.to_pylist()
        assert len(rows) == 1
        row = rows[0]
        assert (row["image_id"], row["final_score"], row["annotator_score"]) == ("img-1", 5, 5)
        assert row["description"] == GOOD_DESCRIPTION
        assert (row["n_words"], row["n_sentences"]) == (182, 6)
        assert row["inspectors"] == ["r0", "r1"]
        assert row["reviewers"] == ["r0", "r1", "r2", "r3"]
        assert [r["round"] for r in row["reviews"]] == [1, 1, 2, 2]
        assert row["draft_model"] == "cogvlm"
        assert row["image_ref"].startswith("file:")

    def test_jsonl_matches(self, client_for, admin, db, images):
        project = self.finished(db, images)
        lines = client_for(admin).post(self.url(project.id, "jsonl")).text.splitlines()
        assert len(lines) == 1
        assert json.loads(lines[0])["annotator"] == "ann"

    def test_only_admin(self, client_for, db):
        project = make_project(db)
        assert role_users_status(client_for, db, "POST", self.url(project.id)) == {
            "annotator": 403,
            "reviewer": 403,
            "admin": 200,
        }

    def test_get_changes_nothing(self, client_for, admin, db):
        """Issue 22.9: an export writes an audit row, so a GET (a link, a prefetch)
        must not run it."""
        project = make_project(db)
        resp = client_for(admin).get(self.url(project.id))
        assert resp.status_code == 405
        assert db.query(AuditLog).filter_by(action="project.export").count() == 0

    def test_post_is_logged_and_needs_csrf(self, client_for, admin, db):
        project = make_project(db)
        client = client_for(admin)
        assert client.post(self.url(project.id), headers={HEADER_CSRF: "x"}).status_code == 403
        assert client.post(self.url(project.id)).status_code == 200
        logged = db.query(AuditLog).filter_by(action="project.export").all()
        assert [(e.user_id, e.data) for e in logged] == [
            (admin.id, {"format": "parquet", "rows": 0})
        ]
