from __future__ import annotations

import io

from PIL import Image
from review_factories import make_item, make_project

from annotation_tool.contexts.images import THUMBNAIL_EDGE, thumbnail_path


class TestGetThumbnail:
    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/thumbnail"

    def test_made_once_and_cached_on_disk(self, client_for, admin, db, images, settings):
        project = make_project(db)
        item = make_item(db, project, images["hubble_deep_field"])
        client = client_for(admin)
        resp = client.get(self.url(item.id))
        assert resp.status_code == 200
        thumb = Image.open(io.BytesIO(resp.content))
        assert max(thumb.size) <= THUMBNAIL_EDGE
        cached = thumbnail_path(settings.thumbnail_dir, item.image_ref)
        assert cached.read_bytes() == resp.content
        cached.write_bytes(b"cached")  # a second request must come from the cache
        assert client.get(self.url(item.id)).content == b"cached"
