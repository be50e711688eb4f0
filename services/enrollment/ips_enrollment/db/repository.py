"""Enrollment's persistence: the queries, and rows made from the use cases' values. Each
function takes the session of the unit of work at hand. (The operators' lists and the
statewide report, read from these rows: `listings`.)"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from ips_shared.contracts import subjects
from ips_shared.contracts.events import Channel, Language, Transport

from ..domain.applications import ApplicationStatus, Queued
from ..domain.errors import NoSchedule, NotFound, UnknownApplication, UnknownPerson
from ..domain.people import Contact
from ..domain.rides import Rider
from ..domain.schedule import ScheduledDay
from .tables import (
    Application,
    Attendance,
    AuditEntry,
    Cohort,
    CohortSchedule,
    CohortTrainingDay,
    Outbox,
    Person,
    Ps101Registration,
    Ps101Session,
    TrainingCompletion,
)

RowT = TypeVar("RowT")
IMPORTED_SESSION = "imported-records"  # stands for Peer Support 101 taken before the system


def _new_id() -> str:
    return str(uuid.uuid4())


def _get(session: Session, table: type[RowT], key: str, what: str) -> RowT:
    row = session.get(table, key)
    if row is None:
        raise NotFound(f"No {what} has this id.")
    return row


# -- people and Peer Support 101 --------------------------------------------------------


def find_person(session: Session, person_id: str) -> Person | None:
    return session.get(Person, person_id)


def person(session: Session, person_id: str) -> Person:
    found = find_person(session, person_id)
    if found is None:
        raise UnknownPerson()
    return found


def add_person(
    session: Session,
    *,
    person_id: str | None,
    name: str,
    region: str,
    email: str | None,
    phone: str | None,
    preferred_channel: Channel,
    created_at: datetime,
    sms_consent: bool = False,
    language: Language = Language.ENGLISH,
) -> Person:
    """A new person row, under `person_id` or a new id."""
    row = Person(
        id=person_id or _new_id(),
        name=name,
        region=region,
        email=email,
        phone=phone,
        preferred_channel=preferred_channel,
        sms_consent=sms_consent,
        language=language,
        created_at=created_at,
    )
    session.add(row)
    return row


def contact_of(person: Person) -> Contact:
    return Contact(
        name=person.name,
        email=person.email,
        phone=person.phone,
        preferred_channel=person.preferred_channel,
        sms_consent=person.sms_consent,
        language=person.language,
    )


def set_contact(person: Person, contact: Contact) -> None:
    person.name = contact.name
    person.email = contact.email
    person.phone = contact.phone
    person.preferred_channel = contact.preferred_channel
    person.sms_consent = contact.sms_consent
    person.language = contact.language


def forget_contact_events(session: Session, person_id: str) -> int:
    """Every contact event of the person still in the outbox (waiting, or kept a while
    after publishing) is deleted: an erasure leaves no copy of the details here."""
    subject = subjects.person_contact_subject(person_id)
    result = session.execute(delete(Outbox).where(col(Outbox.subject) == subject))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def add_ps101_session(
    session: Session, *, starts_at: datetime, place: str, online: bool, capacity: int
) -> Ps101Session:
    row = Ps101Session(
        id=_new_id(), starts_at=starts_at, place=place, online=online, capacity=capacity
    )
    session.add(row)
    return row


def ps101_session(session: Session, session_id: str) -> Ps101Session:
    return _get(session, Ps101Session, session_id, "Peer Support 101 session")


def ensure_imported_session(session: Session) -> str:
    """The session standing for Peer Support 101 taken before this system; its id."""
    if session.get(Ps101Session, IMPORTED_SESSION) is None:
        session.add(
            Ps101Session(
                id=IMPORTED_SESSION,
                starts_at=datetime(1970, 1, 1, tzinfo=UTC),
                place="completed before this system",
                capacity=1_000_000,
            )
        )
        session.flush()
    return IMPORTED_SESSION


def registration(session: Session, session_id: str, person_id: str) -> Ps101Registration | None:
    return session.get(Ps101Registration, (session_id, person_id))


def registrations_to(session: Session, session_id: str) -> int:
    return session.exec(
        select(func.count()).where(Ps101Registration.session_id == session_id)
    ).one()


def add_registration(
    session: Session,
    session_id: str,
    person_id: str,
    registered_at: datetime,
    completed_on: date | None = None,
) -> Ps101Registration:
    row = Ps101Registration(
        session_id=session_id,
        person_id=person_id,
        registered_at=registered_at,
        completed_on=completed_on,
    )
    session.add(row)
    return row


def completed_ps101(session: Session, person_id: str) -> bool:
    completed = select(Ps101Registration.person_id).where(
        Ps101Registration.person_id == person_id, col(Ps101Registration.completed_on).is_not(None)
    )
    return session.exec(completed).first() is not None


# -- applications and cohorts ------------------------------------------------------------


def application(session: Session, application_id: str) -> Application:
    found = session.get(Application, application_id)
    if found is None:
        raise UnknownApplication()
    return found


def has_applied(session: Session, person_id: str, intake: str) -> bool:
    applied = select(Application.id).where(
        Application.person_id == person_id, Application.intake == intake
    )
    return session.exec(applied).first() is not None


def add_application(
    session: Session,
    *,
    person_id: str,
    intake: str,
    transport: Transport,
    offers_ride: bool,
    work_settings: tuple[str, ...],
    submitted_at: datetime,
    keyed_by: str | None = None,
    keyed_at: datetime | None = None,
) -> Application:
    row = Application(
        id=_new_id(),
        person_id=person_id,
        intake=intake,
        transport=transport,
        offers_ride=offers_ride,
        work_settings=list(work_settings),
        submitted_at=submitted_at,
        keyed_by=keyed_by,
        keyed_at=keyed_at,
    )
    session.add(row)
    return row


def applications_of(session: Session, person_id: str) -> list[Application]:
    query = select(Application).where(Application.person_id == person_id)
    return list(session.exec(query.order_by(col(Application.submitted_at))))


def applications_to(session: Session, cohort_id: str) -> list[Application]:
    query = select(Application).where(Application.intake == cohort_id)
    return list(session.exec(query.order_by(col(Application.submitted_at), col(Application.id))))


def lock_cohort(session: Session, cohort_id: str, capacity_if_new: int) -> Cohort:
    """The cohort row, locked on PostgreSQL so that seat counts are decided one at a time;
    made with `capacity_if_new` seats if it does not exist yet."""
    cohort = session.exec(select(Cohort).where(Cohort.id == cohort_id).with_for_update()).first()
    if cohort is None:
        cohort = Cohort(id=cohort_id, capacity=capacity_if_new)
        session.add(cohort)
        session.flush()
    return cohort


def cohort_schedule(session: Session, cohort_id: str) -> tuple[str, list[ScheduledDay]]:
    """A cohort's place and its days in day order; `NoSchedule` if it has none yet."""
    schedule = session.get(CohortSchedule, cohort_id)
    if schedule is None:
        raise NoSchedule("This cohort has no schedule yet.")
    days = session.exec(
        select(CohortTrainingDay)
        .where(CohortTrainingDay.cohort_id == cohort_id)
        .order_by(col(CohortTrainingDay.day))
    )
    return schedule.place, [ScheduledDay(d.day, d.starts_at, d.ends_at) for d in days]


def replace_schedule(
    session: Session,
    cohort_id: str,
    place: str,
    days: tuple[ScheduledDay, ...],
    scheduled_at: datetime,
) -> None:
    """Set a cohort's schedule, replacing any it had (days left out are dropped)."""
    schedule = session.get(CohortSchedule, cohort_id)
    if schedule is None:
        session.add(CohortSchedule(cohort_id=cohort_id, place=place, scheduled_at=scheduled_at))
        session.flush()
    else:
        schedule.place, schedule.scheduled_at = place, scheduled_at
    kept = {
        row.day: row
        for row in session.exec(
            select(CohortTrainingDay).where(CohortTrainingDay.cohort_id == cohort_id)
        )
    }
    for entry in days:
        row = kept.pop(entry.day, None)
        if row is None:
            row = CohortTrainingDay(cohort_id=cohort_id, day=entry.day)
        row.starts_at, row.ends_at = entry.starts_at, entry.ends_at
        session.add(row)
    for dropped in kept.values():
        session.delete(dropped)


def seats_taken(session: Session, cohort_id: str) -> int:
    return session.exec(
        select(func.count()).where(
            Application.intake == cohort_id, Application.status == ApplicationStatus.ACCEPTED
        )
    ).one()


def waitlist(session: Session, cohort_id: str) -> list[Queued]:
    rows = session.exec(
        select(Application.id, Application.submitted_at).where(
            Application.intake == cohort_id, Application.status == ApplicationStatus.WAITLISTED
        )
    ).all()
    return [Queued(application_id, submitted_at) for application_id, submitted_at in rows]


def riders(session: Session, cohort_id: str) -> list[Rider]:
    """Those accepted to the cohort, with their region and how they travel."""
    rows = session.exec(
        select(Application, Person)
        .join(Person, col(Person.id) == col(Application.person_id))
        .where(
            Application.intake == cohort_id,
            Application.status == ApplicationStatus.ACCEPTED,
        )
    ).all()
    return [
        Rider(
            person_id=person.id,
            region=person.region,
            needs_ride=application.transport == Transport.NEEDS_RIDE,
            offers_ride=application.offers_ride,
        )
        for application, person in rows
    ]


# -- training -----------------------------------------------------------------------------


def accepted_intakes(session: Session, person_id: str) -> list[str]:
    return list(
        session.exec(
            select(Application.intake).where(
                Application.person_id == person_id,
                Application.status == ApplicationStatus.ACCEPTED,
            )
        ).all()
    )


def attendance_of(session: Session, person_id: str) -> list[tuple[int, date]]:
    """(day, attended on) of every training day this person attended, in any cohort."""
    rows = session.exec(
        select(Attendance.day, Attendance.attended_on).where(Attendance.person_id == person_id)
    ).all()
    return [(day, attended_on) for day, attended_on in rows]


def attended(session: Session, person_id: str, cohort_id: str, day: int) -> bool:
    return session.get(Attendance, (person_id, cohort_id, day)) is not None


def add_attendance(
    session: Session,
    *,
    person_id: str,
    cohort_id: str,
    day: int,
    attended_on: date,
    recorded_at: datetime,
) -> None:
    session.add(
        Attendance(
            person_id=person_id,
            cohort_id=cohort_id,
            day=day,
            attended_on=attended_on,
            recorded_at=recorded_at,
        )
    )


def completed_training(session: Session, person_id: str) -> bool:
    return session.get(TrainingCompletion, person_id) is not None


def add_training_completion(
    session: Session, person_id: str, cohort_id: str, completed_on: date
) -> None:
    session.add(
        TrainingCompletion(person_id=person_id, cohort_id=cohort_id, completed_on=completed_on)
    )


# -- the audit trail ------------------------------------------------------------------------


def add_audit_entry(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    person_id: str,
    record: str,
    correlation_id: str | None,
) -> None:
    """An entry of the audit trail written with the change it records (in its
    transaction): an operator's action the request's own entry cannot name, such as
    keying in a paper application (the person is in the body, not the path)."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            role="operator",
            action=action,
            person_id=person_id,
            record=record,
            status=201,
            correlation_id=correlation_id,
        )
    )
