"""Notifications' persistence: queries, and rows made from the domain's notices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from ips_shared.contracts.envelope import CloudEvent

from ..domain.reasons import DueNotice
from .tables import DueNotification


def add_due_notices(session: Session, notices: Sequence[tuple[DueNotice, CloudEvent[Any]]]) -> None:
    """Record each notice with the event that made it due, unless it is known already."""
    occasions = {notice.occasion for notice, _ in notices}
    query = select(DueNotification.person_id, DueNotification.reason, DueNotification.occasion)
    known = {
        tuple(row)
        for row in session.exec(query.where(col(DueNotification.occasion).in_(occasions)))
    }
    for notice, event in notices:
        key = (notice.person_id, str(notice.reason), notice.occasion)
        if key in known:
            continue
        known.add(key)
        session.add(
            DueNotification(
                person_id=notice.person_id,
                reason=notice.reason,
                occasion=notice.occasion,
                caused_by=event.id,
                due_at=event.time,
            )
        )
