from __future__ import annotations

from review_factories import (
    add_review,
    add_score,
    make_item,
    make_project,
    make_user,
    role_users_status,
)

from annotation_tool.models import Stage


class TestGetDashboard:
    def url(self, project_id: int) -> str:
        return f"/api/projects/{project_id}/dashboard"

    def test_figures(self, client_for, admin, annotator, reviewer, reviewer2, db, images):
        project = make_project(db)
        scores = [(5, 5, 5), (4, 4, 3), (2, 2, 2), (1, 2, 1)]
        for i, (a, r1, r2) in enumerate(scores):
            item = make_item(
                db, project, images["coffee"], stage=Stage.NOT_SELECTED, image_id=f"i{i}"
            )
            add_score(db, item, annotator, 0, a)
            add_score(db, item, reviewer, 1, r1)
            add_score(db, item, reviewer2, 2, r2)
        audited = make_item(
            db, project, images["rocket"], stage=Stage.REVISION, image_id="a", audit_cycle=1
        )
        add_review(db, audited, reviewer, 1, "accept")
        add_review(db, audited, make_user(db, "r3", "reviewer"), 1, "reject")
        d = client_for(admin).get(self.url(project.id)).json()
        assert d["progress"]["not_selected"] == 4
        assert d["progress"]["revision"] == 1
        assert d["agreement"]["annotator_vs_inspector1"]["n"] == 4
        assert d["agreement"]["annotator_vs_inspector1"]["exact_agreement"] == 0.75
        assert d["agreement"]["annotator_vs_inspector1"]["weighted_kappa"] == 0.941
        assert d["agreement"]["krippendorff_alpha_interval"] == 0.929
        assert d["rejections"]["decisions"] == 2
        assert d["rejections"]["rejection_rate"] == 0.5
        d5 = next(r for r in d["rejections"]["per_rule"] if r["rule"] == "D5")
        assert d5 == {"rule": "D5", "title": "Details", "rejections": 1, "rate": 0.5}

    def test_only_admin(self, client_for, db):
        project = make_project(db)
        assert role_users_status(client_for, db, "GET", self.url(project.id)) == {
            "annotator": 403,
            "reviewer": 403,
            "admin": 200,
        }


class TestDashboardBlindAgreement:
    """Issue 22, an annotator's day, item 4: agreement reported blind and unblinded."""

    def test_agreement_is_split_by_how_the_inspectors_scored(
        self, client_for, admin, annotator, reviewer, reviewer2, db, images
    ):
        project = make_project(db)
        # blind: (a, i1, i2); unblinded ones confirm the annotator every time
        for i, (a, r1, r2, blind) in enumerate(
            [(5, 4, 3, True), (2, 3, 2, True), (4, 4, 4, False), (3, 3, 3, None)]
        ):
            item = make_item(
                db, project, images["coffee"], stage=Stage.NOT_SELECTED, image_id=f"b{i}"
            )
            add_score(db, item, annotator, 0, a)
            add_score(db, item, reviewer, 1, r1, blind=blind)
            add_score(db, item, reviewer2, 2, r2, blind=blind)
        a = client_for(admin).get(f"/api/projects/{project.id}/dashboard").json()["agreement"]
        assert a["annotator_vs_inspector1"]["n"] == 4
        assert a["blind"]["annotator_vs_inspector1"] == {
            "n": 2,
            "weighted_kappa": a["blind"]["annotator_vs_inspector1"]["weighted_kappa"],
            "exact_agreement": 0.0,
        }
        assert a["blind"]["inspector1_vs_inspector2"]["exact_agreement"] == 0.0
        # Scores from before blindness was recorded (None) count as unblinded.
        assert a["unblinded"]["annotator_vs_inspector2"]["n"] == 2
        assert a["unblinded"]["annotator_vs_inspector2"]["exact_agreement"] == 1.0

    def test_skips_and_unreadable_images_are_counted(self, client_for, admin, db, images):
        project = make_project(db)
        make_item(
            db, project, images["coffee"], image_id="bad", image_problem="the file is missing"
        )
        d = client_for(admin).get(f"/api/projects/{project.id}/dashboard").json()
        assert d["skips"] == {"unreadable": 0, "not_a_5": 0, "unsure": 0}
        assert [(u["image_id"], u["problem"]) for u in d["unreadable"]] == [
            ("bad", "the file is missing")
        ]
