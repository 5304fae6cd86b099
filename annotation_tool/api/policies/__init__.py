"""Policies: one class per resource; each classmethod returns a rule ``(actor) -> bool``."""

from annotation_tool.api.policies.commons import authorize, authorize_read
from annotation_tool.api.policies.item_policy import ItemPolicy
from annotation_tool.api.policies.project_policy import ProjectPolicy
from annotation_tool.api.policies.user_policy import UserPolicy

__all__ = ["ItemPolicy", "ProjectPolicy", "UserPolicy", "authorize", "authorize_read"]
