from __future__ import annotations

import tarfile

from review_factories import make_item, make_project

from annotation_tool.models import Stage
from curation.image_ref import tar_ref


class TestGetImage:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/image"

    def test_original_bytes(self, client_for, admin, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        resp = client_for(admin).get(self.url(item.id))
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "image/jpeg"
        assert resp.content == images["coffee"].read_bytes()

    def test_member_of_a_webdataset_tar(self, client_for, admin, db, images, image_dir):
        shard = image_dir / "shard-test.tar"
        with tarfile.open(shard, "w") as tar:
            tar.add(images["rocket"], arcname="000001.jpg")
        project = make_project(db)
        item = make_item(db, project, images["rocket"])
        item.image_ref = tar_ref(shard, "000001.jpg")
        db.commit()
        resp = client_for(admin).get(self.url(item.id))
        assert resp.status_code == 200
        assert resp.content == images["rocket"].read_bytes()

    def test_path_outside_roots_is_refused(self, client_for, admin, db, tmp_path, images, caplog):
        project = make_project(db)
        outside = tmp_path / "outside.jpg"
        outside.write_bytes(images["coffee"].read_bytes())
        item = make_item(db, project, outside)
        resp = client_for(admin).get(self.url(item.id))
        assert resp.status_code == 404
        # Issue 22.9: the reason names server paths, so it goes to the log only.
        assert resp.json() == {
            "error": "image_unavailable",
            "message": "The image of this item cannot be read: the file lies outside the "
            "image folders.",
            "reason": "the file lies outside the image folders",
        }
        assert "outside the allowed roots" in caplog.text

    def test_unreadable_file_names_no_path(self, client_for, admin, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        item.image_ref = item.image_ref.replace("coffee.jpg", "missing.jpg")
        db.commit()
        for url in (self.url(item.id), f"/api/items/{item.id}/thumbnail"):
            resp = client_for(admin).get(url)
            assert resp.status_code == 404
            assert str(images["coffee"].parent) not in resp.text

    def test_dotdot_cannot_escape(self, client_for, admin, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"])
        item.image_ref = f"file:{images['coffee'].parent}/../../../etc/passwd"
        db.commit()
        assert client_for(admin).get(self.url(item.id)).status_code == 404

    def test_annotator_without_claim_is_404(self, client_for, annotator, db, images):
        project = make_project(db)
        item = make_item(db, project, images["coffee"], stage=Stage.SELECTION)
        assert client_for(annotator).get(self.url(item.id)).status_code == 404
