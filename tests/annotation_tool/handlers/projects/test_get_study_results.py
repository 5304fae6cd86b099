from __future__ import annotations

from review_factories import add_caption, make_item, make_project, make_user, role_users_status

from annotation_tool.models import CaptionRating, Stage


class TestGetStudyResults:
    def url(self, project_id: int) -> str:
        return f"/api/projects/{project_id}/study-results"

    def test_mean_per_model(self, client_for, admin, db, images):
        project = make_project(db, "study", kind="caption_study")
        raters = [make_user(db, f"a{i}", "annotator") for i in range(3)]
        # (completeness, relevance, fantasy) per rater, per model, on two images
        given = {
            "cogvlm": [(5, 5, 4), (4, 5, 5), (5, 4, 5)],
            "llava": [(3, 4, 2), (2, 3, 3), (4, 4, 1)],
        }
        for name in ("coffee", "rocket"):
            item = make_item(db, project, images[name], stage=Stage.STUDY, image_id=name)
            for model, scores in given.items():
                caption = add_caption(db, item, model, f"{model} on {name}")
                for rater, (c, r, f) in zip(raters, scores, strict=True):
                    db.add(
                        CaptionRating(
                            caption_id=caption.id,
                            item_id=item.id,
                            user_id=rater.id,
                            completeness=c,
                            relevance=r,
                            fantasy=f,
                        )
                    )
        db.commit()
        rows = client_for(admin).get(self.url(project.id)).json()
        assert rows == [
            {
                "model": "cogvlm",
                "n_captions": 2,
                "n_ratings": 6,
                "completeness": 4.667,
                "relevance": 4.667,
                "fantasy": 4.667,
                "overall": 4.667,
            },
            {
                "model": "llava",
                "n_captions": 2,
                "n_ratings": 6,
                "completeness": 3.0,
                "relevance": 3.667,
                "fantasy": 2.0,
                "overall": 2.889,
            },
        ]

    def test_only_admin(self, client_for, db):
        project = make_project(db, "study", kind="caption_study")
        assert role_users_status(client_for, db, "GET", self.url(project.id)) == {
            "annotator": 403,
            "reviewer": 403,
            "admin": 200,
        }
