"""Who may take which task and see which item.

Each role works only its own tasks: annotators score, describe, revise and rate
captions; reviewers inspect scores and audit descriptions; admins settle disputes.
"""

from __future__ import annotations

from annotation_tool.api.policies.commons import Rule, has_role
from annotation_tool.contexts.claims import Task
from annotation_tool.contexts.history import ItemVisibility, TextAccess
from annotation_tool.models import Item, Role, Stage, User

INSPECTION_STAGES = (Stage.INSPECTION_1, Stage.INSPECTION_2)

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

    @classmethod
    def visibility(cls, item: Item, actor: User, blind_inspection: bool = True) -> ItemVisibility:
        """What ``actor``, once allowed to read ``item``, sees of it: the item view and
        the history apply the same answer. Admins see everything. Reviewers see every
        score and submitted texts only, never an autosave; while the item waits for
        inspection in a project with ``blind_inspection``, only their own score (no
        earlier score, no name), so each inspector judges alone. Annotators see their own
        scores, and the texts and audit comments of descriptions they write (or, while
        nobody has started one, the VLM draft of the item they hold); never names of
        others, nor the log."""
        if actor.role == Role.ADMIN:
            return ItemVisibility(actor.id, True, True, TextAccess.ALL, True, True)
        if actor.role == Role.REVIEWER:
            if blind_inspection and item.stage in INSPECTION_STAGES:
                return ItemVisibility(
                    actor.id, False, False, TextAccess.SUBMITTED, True, False, blind=True
                )
            return ItemVisibility(actor.id, True, True, TextAccess.SUBMITTED, True, False)
        writes = item.describer_id == actor.id or (
            item.describer_id is None and item.lock_user_id == actor.id
        )
        text = TextAccess.ALL if writes else TextAccess.NONE
        return ItemVisibility(actor.id, False, False, text, writes, False)
