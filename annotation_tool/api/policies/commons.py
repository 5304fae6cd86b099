"""``authorize(actor, rule)``: the one place a policy's answer becomes a 403."""

from __future__ import annotations

from collections.abc import Callable

from annotation_tool.errors import ForbiddenError, NotFoundError
from annotation_tool.models import User

Rule = Callable[[User], bool]


def authorize(actor: User, rule: Rule) -> None:
    if not rule(actor):
        raise ForbiddenError("Your role does not allow this.")


def has_role(*roles: str) -> Rule:
    return lambda actor: actor.role in roles


def authorize_read(actor: User, rule: Rule, entity: object, id_: int) -> None:
    """For reads of one entity: whoever may not see it is told it does not exist, in
    the words ``get_or_raise`` uses, so 403 versus 404 reveals no ids."""
    if not rule(actor):
        raise NotFoundError(f"{type(entity).__name__} {id_} not found", id=id_)
