"""What notifications does when an event that may concern a peer arrives: the rules table
says whether a notification is due; its identity is recorded at once, once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..db import repository
from ..domain.rules import notice_for


def record_due_notifications(
    events: Sequence[CloudEvent[Any]],
    uow: UnitOfWork,
    *,
    wake_delivery: Callable[[], None],
    wake_reminders: Callable[[], None],
) -> None:
    """A notification is due for each event the rules table names (once per person, reason
    and occasion); the others change nothing. The delivery worker is woken after commit.
    An application accepted or withdrawn also says who is in which cohort (the training
    reminders: the reminder scheduler looks again after commit); a Peer Support 101
    completion or an application, who has applied since (the deadline reminders)."""
    for event in events:
        if repository.apply_membership(uow.session, event):
            uow.on_commit(wake_reminders)
        repository.apply_graduation(uow.session, event)
    notices = [
        (notice, event) for event in events if (notice := notice_for(event.data)) is not None
    ]
    if repository.add_due_notices(uow.session, notices):
        uow.on_commit(wake_delivery)
