"""Notifications' persistence: queries, and rows made from the domain's notices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import Channel, Language, PersonContactChanged

from ..domain.delivery import Contact, State
from ..domain.reasons import DueNotice
from .tables import Contact as ContactRow
from .tables import DueNotification


def add_due_notices(session: Session, notices: Sequence[tuple[DueNotice, CloudEvent[Any]]]) -> int:
    """Record each notice with the event that made it due, unless it is known already
    (its identity, person, reason and occasion, is unique). Returns how many are new."""
    if not notices:
        return 0
    occasions = {notice.occasion for notice, _ in notices}
    query = select(DueNotification.person_id, DueNotification.reason, DueNotification.occasion)
    known = {
        tuple(row)
        for row in session.exec(query.where(col(DueNotification.occasion).in_(occasions)))
    }
    added = 0
    for notice, event in notices:
        key = (notice.person_id, str(notice.reason), notice.occasion)
        if key in known:
            continue
        known.add(key)
        added += 1
        session.add(
            DueNotification(
                person_id=notice.person_id,
                reason=notice.reason,
                occasion=notice.occasion,
                caused_by=event.id,
                due_at=event.time,
                correlation_id=event.correlationid or event.id,
                details=json.dumps(dict(notice.details), sort_keys=True),
                state=State.PENDING,
                next_attempt_at=event.time,
            )
        )
    return added


def apply_contact(session: Session, event: CloudEvent[PersonContactChanged]) -> bool:
    """Keep the person's latest details (an older change arriving late changes nothing);
    erased details are forgotten. Notifications that waited for the person's details are
    due again. Returns whether anything changed."""
    data = event.data
    row = session.get(ContactRow, data.person_id)
    if row is not None and row.changed_at > event.time:
        return False
    if row is None:
        row = ContactRow(person_id=data.person_id, changed_at=event.time, event_id=event.id)
    erased = data.erased
    row.name = "" if erased else data.name
    row.email = None if erased else data.email
    row.phone = None if erased else data.phone
    row.preferred_channel = Channel.EMAIL if erased else data.preferred_channel
    row.sms_consent = False if erased else data.sms_consent
    row.language = data.language
    row.erased = erased
    row.changed_at = event.time
    row.event_id = event.id
    session.add(row)
    session.flush()
    session.execute(
        update(DueNotification)
        .where(
            col(DueNotification.person_id) == data.person_id,
            col(DueNotification.state) == State.AWAITING_CONTACT,
        )
        .values(state=State.PENDING)
    )
    return True


def contacts_of(session: Session, person_ids: set[str]) -> dict[str, Contact]:
    if not person_ids:
        return {}
    rows = session.exec(select(ContactRow).where(col(ContactRow.person_id).in_(person_ids)))
    return {
        row.person_id: Contact(
            person_id=row.person_id,
            name=row.name,
            email=row.email,
            phone=row.phone,
            preferred_channel=Channel(row.preferred_channel),
            sms_consent=row.sms_consent,
            language=Language(row.language),
            erased=row.erased,
        )
        for row in rows
    }


def release_awaiting(session: Session) -> int:
    """Notifications waiting for details that have arrived are due again. The contact's own
    transaction does this too; this catches one that committed while a delivery pass was
    deciding, on the details it could not yet see, that the person had none."""
    result = session.execute(
        update(DueNotification)
        .where(
            col(DueNotification.state) == State.AWAITING_CONTACT,
            col(DueNotification.person_id).in_(select(ContactRow.person_id)),
        )
        .values(state=State.PENDING)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_in_flight(session: Session) -> int:
    """Attempts left in flight (by a crash) are due again at once."""
    result = session.execute(
        update(DueNotification)
        .where(col(DueNotification.state) == State.IN_FLIGHT)
        .values(state=State.PENDING, next_attempt_at=DueNotification.last_attempt_at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def due(session: Session, now: datetime, limit: int) -> list[DueNotification]:
    """Pending notifications whose time has come, oldest first; on PostgreSQL rows another
    transaction holds are skipped."""
    query = (
        select(DueNotification)
        .where(
            col(DueNotification.state) == State.PENDING,
            col(DueNotification.next_attempt_at) <= now,
        )
        .order_by(col(DueNotification.next_attempt_at), col(DueNotification.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(query))


def next_due_at(session: Session) -> datetime | None:
    query = select(DueNotification.next_attempt_at).where(
        col(DueNotification.state) == State.PENDING
    )
    return session.exec(query.order_by(col(DueNotification.next_attempt_at)).limit(1)).first()


def notification(session: Session, notification_id: int) -> DueNotification | None:
    return session.get(DueNotification, notification_id)


def sent_notifications(
    session: Session,
    *,
    person_id: str | None,
    reason: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[DueNotification]:
    query = select(DueNotification)
    if person_id is not None:
        query = query.where(col(DueNotification.person_id) == person_id)
    if reason is not None:
        query = query.where(col(DueNotification.reason) == reason)
    if since is not None:
        query = query.where(col(DueNotification.due_at) >= since)
    if until is not None:
        query = query.where(col(DueNotification.due_at) < until)
    query = query.order_by(col(DueNotification.due_at).desc(), col(DueNotification.id).desc())
    return list(session.exec(query.limit(limit)))
