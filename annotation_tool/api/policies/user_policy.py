from __future__ import annotations

from annotation_tool.api.policies.commons import Rule, has_role
from annotation_tool.models import Role


class UserPolicy:
    @classmethod
    def list(cls) -> Rule:
        return has_role(Role.ADMIN)

    @classmethod
    def create(cls) -> Rule:
        return has_role(Role.ADMIN)

    @classmethod
    def update(cls) -> Rule:
        return has_role(Role.ADMIN)
