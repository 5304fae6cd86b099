"""Who may take which task and see which item.

Each role works only its own tasks: annotators score, describe, revise and rate
captions; reviewers inspect scores and audit descriptions; admins settle disputes.
"""

from __future__ import annotations

from annotation_tool.api.policies.commons import Rule, has_role
from annotation_tool.contexts.claims import Task
from annotation_tool.models import Item, Role, User

TASK_ROLES: dict[Task, tuple[Role, ...]] = {
    Task.SELECTION: (Role.ANNOTATOR,),
    Task.DESCRIPTION: (Role.ANNOTATOR,),
    Task.REVISION: (Role.ANNOTATOR,),
    Task.STUDY: (Role.ANNOTATOR, Role.REVIEWER),
    Task.INSPECTION: (Role.REVIEWER,),
    Task.AUDIT: (Role.REVIEWER,),
    Task.SETTLE: (Role.ADMIN,),
}


class ItemPolicy:
    @classmethod
    def work(cls, task: Task) -> Rule:
        return has_role(*TASK_ROLES[task])

    @classmethod
    def release(cls) -> Rule:
        # Releasing only ever clears the caller's own claim, so every role may ask.
        return has_role(Role.ANNOTATOR, Role.REVIEWER, Role.ADMIN)

    @classmethod
    def read(cls, item: Item) -> Rule:
        def rule(actor: User) -> bool:
            if actor.role == Role.ADMIN:
                return True
            if item.lock_user_id == actor.id:
                return True  # whoever holds the claim sees what they work on
            if actor.role == Role.REVIEWER:
                # Reviewers see what has been submitted: scored items onwards.
                return item.annotator_id is not None
            return actor.id in (item.annotator_id, item.describer_id)

        return rule

    @classmethod
    def history(cls, item: Item) -> Rule:
        def rule(actor: User) -> bool:
            if actor.role in (Role.ADMIN, Role.REVIEWER):
                return actor.role == Role.ADMIN or item.annotator_id is not None
            return actor.id in (item.annotator_id, item.describer_id)

        return rule
