"""Notifications' persistence: queries, and rows made from the domain's notices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from ips_shared.contracts.envelope import CloudEvent
from ips_shared.contracts.events import (
    ApplicationAccepted,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Channel,
    CohortScheduled,
    Language,
    PeerSupport101Completed,
    PersonContactChanged,
)
from ips_shared.db import insert_new

from ..domain.delivery import Contact, Skip, State
from ..domain.preferences import DEFAULT, Preferences
from ..domain.reasons import DueNotice, Reason
from ..domain.reminders import ScheduledDay, occasion, remind_on
from .tables import (
    CohortMember,
    DeadlineReminderRun,
    DueNotification,
    Graduate,
    Preference,
    TrainingDay,
)
from .tables import Contact as ContactRow


def add_due_notices(session: Session, notices: Sequence[tuple[DueNotice, CloudEvent[Any]]]) -> int:
    """Record each notice with the event that made it due, unless it is known already
    (its identity, person, reason and occasion, is unique). Returns how many are new."""
    return _add(
        session,
        [
            (notice, event.id, event.time, event.correlationid or event.id)
            for notice, event in notices
        ],
    )


def _add(session: Session, notices: Sequence[tuple[DueNotice, str, datetime, str | None]]) -> int:
    """(notice, the event that caused it, when it is due, its correlation id). A notice
    whose identity is recorded already, also by another replica at the same time, is
    skipped."""
    return insert_new(
        session,
        DueNotification,
        [
            {
                "person_id": notice.person_id,
                "reason": str(notice.reason),
                "occasion": notice.occasion,
                "caused_by": caused_by,
                "due_at": due_at,
                "correlation_id": correlation_id,
                "details": json.dumps(dict(notice.details), sort_keys=True),
                "state": State.PENDING,
                "next_attempt_at": due_at,
                "attempts": 0,
            }
            for notice, caused_by, due_at, correlation_id in notices
        ],
        unique=("person_id", "reason", "occasion"),
    )


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


_WAITING_TO_SEND = (State.PENDING, State.IN_FLIGHT)


def release_claims(session: Session, claims: Sequence[tuple[int, int]]) -> int:
    """The attempts named, if still in flight by that attempt, are due again at once."""
    released = 0
    for notification_id, attempt in claims:
        result = session.execute(
            update(DueNotification)
            .where(
                col(DueNotification.id) == notification_id,
                col(DueNotification.attempts) == attempt,
                col(DueNotification.state) == State.IN_FLIGHT,
            )
            .values(state=State.PENDING, next_attempt_at=DueNotification.last_attempt_at)
        )
        released += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return released


def due(session: Session, now: datetime, limit: int) -> list[DueNotification]:
    """Pending notifications whose time has come, and attempts in flight whose worker's
    lease ran out, oldest first; on PostgreSQL rows another transaction holds are skipped
    (so replicas claim different rows; on SQLite claims take turns on the write lock)."""
    query = (
        select(DueNotification)
        .where(
            col(DueNotification.state).in_(_WAITING_TO_SEND),
            col(DueNotification.next_attempt_at) <= now,
        )
        .order_by(col(DueNotification.next_attempt_at), col(DueNotification.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(query))


def next_due_at(session: Session) -> datetime | None:
    """When the earliest pending notification falls due, or a lease runs out."""
    query = select(DueNotification.next_attempt_at).where(
        col(DueNotification.state).in_(_WAITING_TO_SEND)
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


# -- preferences -------------------------------------------------------------------------


def is_known(session: Session, person_id: str) -> bool:
    """A person is known once enrollment has sent their contact details."""
    return session.get(ContactRow, person_id) is not None


def _preferences(row: Preference) -> Preferences:
    quiet = (row.quiet_start, row.quiet_end)
    return Preferences(
        language=Language(row.language) if row.language else None,
        quiet_hours=quiet if quiet[0] is not None and quiet[1] is not None else None,  # type: ignore[arg-type]
        reminders=row.reminders,
    )


def preferences_of(session: Session, person_id: str) -> Preferences:
    row = session.get(Preference, person_id)
    return DEFAULT if row is None else _preferences(row)


def preferences_of_people(session: Session, person_ids: set[str]) -> dict[str, Preferences]:
    """Each person's preferences (those without a row have the defaults, not listed)."""
    if not person_ids:
        return {}
    rows = session.exec(select(Preference).where(col(Preference.person_id).in_(person_ids)))
    return {row.person_id: _preferences(row) for row in rows}


def set_preferences(
    session: Session, person_id: str, chosen: Preferences, *, at: datetime, by: str
) -> None:
    row = session.get(Preference, person_id) or Preference(
        person_id=person_id, changed_at=at, changed_by=by
    )
    row.language = str(chosen.language) if chosen.language else None
    row.quiet_start, row.quiet_end = chosen.quiet_hours or (None, None)
    row.reminders = chosen.reminders
    row.changed_at = at
    row.changed_by = by
    session.add(row)


# -- cohorts and their training days (the reminders) ------------------------------------


def apply_membership(session: Session, event: CloudEvent[Any]) -> bool:
    """Accepted: in the cohort. The application withdrawn: out of it, and its reminders
    not sent yet are dropped. Other events change nothing (False)."""
    data = event.data
    if isinstance(data, ApplicationAccepted):
        session.merge(
            CohortMember(
                application_id=data.application_id,
                person_id=data.person_id,
                cohort_id=data.cohort_id,
            )
        )
    elif isinstance(data, ApplicationWithdrawn):
        member = session.get(CohortMember, data.application_id)
        if member is not None:
            _drop_reminders(
                session, member.cohort_id, Skip.WITHDRAWN, keep=set(), person_id=member.person_id
            )
            session.delete(member)
    else:
        return False
    session.flush()
    return True


def apply_schedule(session: Session, event: CloudEvent[CohortScheduled], zone: ZoneInfo) -> bool:
    """The latest schedule replaces the cohort's days (an older one arriving late changes
    nothing); reminders not sent yet for dates no longer scheduled are dropped."""
    data = event.data
    query = select(TrainingDay).where(col(TrainingDay.cohort_id) == data.cohort_id)
    current = list(session.exec(query))
    if any(row.scheduled_at > event.time for row in current):
        return False
    session.execute(delete(TrainingDay).where(col(TrainingDay.cohort_id) == data.cohort_id))
    days = [ScheduledDay(data.cohort_id, d.day, d.starts_at, data.place) for d in data.days]
    for day in days:
        session.add(
            TrainingDay(
                cohort_id=day.cohort_id,
                day=day.day,
                starts_at=day.starts_at,
                place=day.place,
                remind_on=remind_on(day, zone),
                scheduled_at=event.time,
                event_id=event.id,
                correlation_id=event.correlationid or event.id,
            )
        )
    session.flush()
    _drop_reminders(
        session, data.cohort_id, Skip.RESCHEDULED, keep={occasion(day, zone) for day in days}
    )
    return True


def _drop_reminders(
    session: Session,
    cohort_id: str,
    why: Skip,
    *,
    keep: set[str],
    person_id: str | None = None,
) -> None:
    query = update(DueNotification).where(
        col(DueNotification.reason) == Reason.TRAINING_REMINDER,
        col(DueNotification.occasion).startswith(f"{cohort_id}:", autoescape=True),
        col(DueNotification.state).in_((State.PENDING, State.AWAITING_CONTACT)),
    )
    if keep:
        query = query.where(col(DueNotification.occasion).not_in(keep))
    if person_id is not None:
        query = query.where(col(DueNotification.person_id) == person_id)
    session.execute(query.values(state=State.SKIPPED, outcome_code=str(why)))


REMIND_ON_REACH = timedelta(days=2)


def days_to_remind(session: Session, today: date, now: datetime) -> list[tuple[TrainingDay, str]]:
    """Training days whose reminder date has come (through the index) and that have not
    begun, with each person in their cohort.

    The index is read between two dates: a day that has not begun is today or later, so
    its reminder date (the day before) is no earlier than yesterday. Read only from above
    (`remind_on <= today`), the range held every training day ever scheduled: the work
    grew with the years and the people, not with the reminders due, and on PostgreSQL the
    estimate it gave made the join read every cohort member. The reach keeps a day more,
    for a reminder date stored under another zone setting (a day apart at most)."""
    query = (
        select(TrainingDay, CohortMember.person_id)
        .join(CohortMember, col(CohortMember.cohort_id) == col(TrainingDay.cohort_id))
        .where(
            col(TrainingDay.remind_on) <= today,
            col(TrainingDay.remind_on) >= today - REMIND_ON_REACH,
            col(TrainingDay.starts_at) > now,
        )
        .order_by(col(TrainingDay.starts_at))
    )
    return [(day, person_id) for day, person_id in session.exec(query)]


def add_reminders(
    session: Session, reminders: Sequence[tuple[DueNotice, TrainingDay]], now: datetime
) -> int:
    """Reminders due now, each caused by the schedule that set its day; known ones once."""
    return _add(
        session,
        [(notice, day.event_id, now, day.correlation_id) for notice, day in reminders],
    )


# -- graduates of Peer Support 101 (the application-deadline reminders) ------------------


def apply_graduation(session: Session, event: CloudEvent[Any]) -> bool:
    """Peer Support 101 completed: a graduate (the earliest completion kept). An application
    submitted: the person has applied (whichever of the two comes first). Other events
    change nothing (False)."""
    data = event.data
    if isinstance(data, PeerSupport101Completed):
        row = {
            "person_id": data.person_id,
            "completed_on": data.completed_on,
            "applied": False,
            "event_id": event.id,
            "correlation_id": event.correlationid or event.id,
        }
        if not insert_new(session, Graduate, [row], unique=("person_id",)):
            session.execute(
                update(Graduate)
                .where(
                    col(Graduate.person_id) == data.person_id,
                    (col(Graduate.completed_on).is_(None))
                    | (col(Graduate.completed_on) > data.completed_on),
                )
                .values(
                    completed_on=data.completed_on,
                    event_id=event.id,
                    correlation_id=event.correlationid or event.id,
                )
            )
        return True
    if isinstance(data, ApplicationSubmitted):
        row = {"person_id": data.person_id, "completed_on": None, "applied": True}
        if not insert_new(session, Graduate, [row], unique=("person_id",)):
            session.execute(
                update(Graduate)
                .where(col(Graduate.person_id) == data.person_id)
                .values(applied=True)
            )
        return True
    return False


def deadline_reminder_done(session: Session, occasion: str) -> bool:
    return session.get(DeadlineReminderRun, occasion) is not None


def graduates_to_remind(session: Session, completed_before: date) -> list[Graduate]:
    """Graduates who have not applied, with a completion dated before the day given
    (through the index on applied and completion date)."""
    query = select(Graduate).where(
        col(Graduate.applied).is_(False), col(Graduate.completed_on) < completed_before
    )
    return list(session.exec(query.order_by(col(Graduate.person_id))))


def add_deadline_reminders(
    session: Session,
    occasion: str,
    reminders: Sequence[tuple[DueNotice, Graduate]],
    now: datetime,
) -> int:
    """The reminders due now, each caused by the completion that made the person a
    graduate; the occasion marked done (by whichever replica gets there first)."""
    added = _add(
        session,
        [
            (notice, graduate.event_id or "", now, graduate.correlation_id)
            for notice, graduate in reminders
        ],
    )
    insert_new(
        session,
        DeadlineReminderRun,
        [{"occasion": occasion, "done_at": now, "people": len(reminders)}],
        unique=("occasion",),
    )
    return added
