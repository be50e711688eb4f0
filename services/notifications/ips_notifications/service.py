"""Notification use cases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import ApplicationSubmitted
from ips_shared.messaging.unit_of_work import UnitOfWork

from .db.tables import DueNotification
from .domain.reasons import DueNotice, notice_for_application


def record_application_confirmations(
    uow: UnitOfWork, events: Sequence[CloudEvent[ApplicationSubmitted]]
) -> None:
    """A confirmation is due for each application received (once per application)."""
    _record_due(uow, [(notice_for_application(event.data), event) for event in events])


def _record_due(uow: UnitOfWork, notices: Sequence[tuple[DueNotice, CloudEvent[Any]]]) -> None:
    occasions = {notice.occasion for notice, _ in notices}
    query = select(DueNotification.person_id, DueNotification.reason, DueNotification.occasion)
    known = {
        tuple(row)
        for row in uow.session.exec(query.where(col(DueNotification.occasion).in_(occasions)))
    }
    for notice, event in notices:
        key = (notice.person_id, str(notice.reason), notice.occasion)
        if key in known:
            continue
        known.add(key)
        uow.session.add(
            DueNotification(
                person_id=notice.person_id,
                reason=notice.reason,
                occasion=notice.occasion,
                caused_by=event.id,
                due_at=event.time,
            )
        )
