"""``authorize(actor, rule)``: the one place a policy's answer becomes a 403."""

from __future__ import annotations

from collections.abc import Callable

from annotation_tool.errors import ForbiddenError
from annotation_tool.models import User

Rule = Callable[[User], bool]


def authorize(actor: User, rule: Rule) -> None:
    if not rule(actor):
        raise ForbiddenError("Your role does not allow this.")


def has_role(*roles: str) -> Rule:
    return lambda actor: actor.role in roles
