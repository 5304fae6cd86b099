"""The whole ParaImage-Small workflow through the API: import -> score -> two
inspections -> description -> audit (reject, revise, accept x4) -> export."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
from review_factories import GOOD_DESCRIPTION, make_project, make_user, manifest_rows, write_run


def test_full_workflow(tmp_path, images, db, client_for):
    admin = make_user(db, "admin1", "admin")
    ann = make_user(db, "ann1", "annotator")
    reviewers = [make_user(db, f"rev{i}", "reviewer") for i in range(4)]
    project = make_project(db, "wf")
    run = write_run(tmp_path / "run", manifest_rows(images))
    a = client_for(admin)
    r = a.post(
        f"/api/projects/{project.id}/imports",
        json={"run_dir": str(run), "min_aesthetic": 6.5, "min_short_edge": 1040},
    )
    assert r.status_code == 201, r.text
    # Row i (by name) has aesthetic 6.0 + 0.2i and short edge 1000 + 20i; row 4 is
    # rejected, so rows 3 and 5 pass aesthetic >= 6.5 and short edge >= 1040.
    assert r.json() == {"matched": 2, "imported": 2, "already_present": 0}

    an = a_client = client_for(ann)
    claimed = an.post(f"/api/projects/{project.id}/claims", json={"task": "selection"}).json()
    r = an.post(f"/api/items/{claimed['id']}/scores", json={"score": 5, "checklist": ["S1", "S3"]})
    assert r.status_code == 201, r.text
    assert r.json()["stage"] == "inspection_1"
    rc = [client_for(u) for u in reviewers]
    for i in (0, 1):
        item = rc[i].post(f"/api/projects/{project.id}/claims", json={"task": "inspection"}).json()
        assert item["id"] == claimed["id"]
        r = rc[i].post(f"/api/items/{item['id']}/inspections", json={"score": 5})
        assert r.status_code == 201, r.text
    assert r.json() == {"id": claimed["id"], "stage": "description", "final_score": 5}

    item = an.post(f"/api/projects/{project.id}/claims", json={"task": "description"}).json()
    assert item["description"]["kind"] == "draft"
    assert item["draft_model"] == "cogvlm"
    r = an.put(
        f"/api/items/{item['id']}/description", json={"text": "Too short.", "base_version": 1}
    )
    assert r.status_code == 200, r.text
    assert {v["rule"] for v in r.json()["violations"]} == {"D1", "D2", "D3"}
    r = an.post(
        f"/api/items/{item['id']}/description/submissions",
        json={"text": "Too short.", "base_version": 2},
    )
    assert r.status_code == 422
    r = an.post(
        f"/api/items/{item['id']}/description/submissions",
        json={"text": GOOD_DESCRIPTION, "base_version": 2},
    )
    assert r.status_code == 201, r.text

    item = rc[0].post(f"/api/projects/{project.id}/claims", json={"task": "audit"}).json()
    r = rc[0].post(
        f"/api/items/{item['id']}/reviews",
        json={"decision": "reject", "rules": ["D5"], "comment": "name the colours"},
    )
    assert r.json()["stage"] == "revision"
    item = a_client.post(f"/api/projects/{project.id}/claims", json={"task": "revision"}).json()
    assert item["reviews"][0]["comment"] == "name the colours"
    r = an.post(
        f"/api/items/{item['id']}/description/submissions",
        json={"text": GOOD_DESCRIPTION + " ", "base_version": 3},
    )
    assert r.status_code == 201, r.text
    stages = []
    for c in rc:
        item = c.post(f"/api/projects/{project.id}/claims", json={"task": "audit"}).json()
        r = c.post(f"/api/items/{item['id']}/reviews", json={"decision": "accept"})
        stages.append(r.json()["stage"])
    assert stages == ["audit_1", "audit_2", "audit_2", "done"]

    r = a.post(f"/api/projects/{project.id}/export?format=parquet")
    table = pq.read_table(io.BytesIO(r.content))
    row = table.to_pylist()[0]
    assert table.num_rows == 1
    assert row["description"] == GOOD_DESCRIPTION + " "
    assert row["annotator"] == "ann1"
    assert row["reviewers"] == ["rev0", "rev1", "rev2", "rev3"]
    assert row["draft_model"] == "cogvlm"
    assert row["n_revisions"] == 1
    lines = a.post(f"/api/projects/{project.id}/export?format=jsonl").text.splitlines()
    assert json.loads(lines[0])["inspection_scores"] == [5, 5]
    d = a.get(f"/api/projects/{project.id}/dashboard").json()
    assert d["progress"]["done"] == 1
    assert d["rejections"]["per_rule"][4] == {
        "rule": "D5",
        "title": "Details",
        "rejections": 1,
        "rate": 0.2,
    }
