from __future__ import annotations

from annotation_tool.api.policies.commons import Rule, has_role
from annotation_tool.models import Role


class ProjectPolicy:
    @classmethod
    def list(cls) -> Rule:
        return has_role(Role.ANNOTATOR, Role.REVIEWER, Role.ADMIN)

    @classmethod
    def create(cls) -> Rule:
        return has_role(Role.ADMIN)

    @classmethod
    def import_items(cls) -> Rule:
        return has_role(Role.ADMIN)

    @classmethod
    def export(cls) -> Rule:
        return has_role(Role.ADMIN)

    @classmethod
    def dashboard(cls) -> Rule:
        return has_role(Role.ADMIN)

    @classmethod
    def study_results(cls) -> Rule:
        return has_role(Role.ADMIN)

    @classmethod
    def my_items(cls) -> Rule:
        return has_role(Role.ANNOTATOR)
