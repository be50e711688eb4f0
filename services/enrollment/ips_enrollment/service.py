"""Enrollment use cases. Each runs in one unit of work with the events it emits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from ips_shared.contracts import events
from ips_shared.contracts.events import Channel, Transport
from ips_shared.messaging.unit_of_work import UnitOfWork

from .db.tables import (
    Application,
    Attendance,
    Cohort,
    Person,
    Ps101Registration,
    Ps101Session,
    TrainingCompletion,
)
from .domain import applications as rules
from .domain import training
from .domain.applications import ApplicationRequest, ApplicationStatus, Queued
from .domain.errors import (
    DuplicateApplication,
    DuplicatePerson,
    MissingPrerequisite,
    NotFound,
    SessionFull,
    UnknownPerson,
)
from .domain.intakes import IntakeCalendar
from .domain.policy import EnrollmentPolicy
from .domain.roster import RosterRow

Clock = Callable[[], datetime]
RowT = TypeVar("RowT")
IMPORTED_SESSION = "imported-records"  # stands for Peer Support 101 taken before the system


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class NewPerson:
    name: str
    region: str
    email: str | None = None
    phone: str | None = None
    preferred_channel: Channel = Channel.EMAIL
    sms_consent: bool = False
    person_id: str | None = None


@dataclass(frozen=True)
class RideListing:
    region: str
    needs_ride: list[str]
    offers_ride: list[str]


class EnrollmentService:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        policy: EnrollmentPolicy,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._unit_of_work = unit_of_work
        self._policy = policy
        self._calendar = IntakeCalendar.from_policy(policy)
        self._clock = clock

    # -- people and Peer Support 101 --------------------------------------------------

    def register_person(self, new: NewPerson) -> Person:
        person = Person(
            id=new.person_id or new_id(),
            name=new.name,
            region=new.region,
            email=new.email,
            phone=new.phone,
            preferred_channel=new.preferred_channel,
            sms_consent=new.sms_consent,
            created_at=self._clock(),
        )
        with self._unit_of_work() as uow:
            if uow.session.get(Person, person.id) is not None:
                raise DuplicatePerson(f"A person with the id {person.id!r} exists already.")
            uow.session.add(person)
            uow.commit()
        return person

    def person(self, person_id: str) -> Person:
        with self._unit_of_work() as uow:
            return _person(uow.session, person_id)

    def create_session(
        self, starts_at: datetime, place: str, online: bool, capacity: int
    ) -> Ps101Session:
        session_row = Ps101Session(
            id=new_id(), starts_at=starts_at, place=place, online=online, capacity=capacity
        )
        with self._unit_of_work() as uow:
            uow.session.add(session_row)
            uow.commit()
        return session_row

    def register_for_session(self, session_id: str, person_id: str) -> Ps101Registration:
        with self._unit_of_work() as uow:
            db = uow.session
            _person(db, person_id)
            ps101 = _get(db, Ps101Session, session_id, "Peer Support 101 session")
            existing = db.get(Ps101Registration, (session_id, person_id))
            if existing is not None:
                return existing
            taken = db.exec(
                select(func.count()).where(Ps101Registration.session_id == session_id)
            ).one()
            if taken >= ps101.capacity:
                raise SessionFull(f"The session is full ({ps101.capacity} places).")
            registration = Ps101Registration(
                session_id=session_id, person_id=person_id, registered_at=self._clock()
            )
            db.add(registration)
            uow.commit()
        return registration

    def complete_ps101(
        self, session_id: str, person_id: str, completed_on: date
    ) -> Ps101Registration:
        with self._unit_of_work() as uow:
            db = uow.session
            _person(db, person_id)
            registration = db.get(Ps101Registration, (session_id, person_id))
            if registration is None:
                raise NotFound("This person is not registered for that session.")
            if registration.completed_on is not None:
                return registration  # recorded already: no second event
            registration.completed_on = completed_on
            db.add(registration)
            uow.emit(
                events.PeerSupport101Completed(
                    person_id=person_id, session_id=session_id, completed_on=completed_on
                ),
                partition_key=person_id,
            )
            uow.commit()
        return registration

    # -- the roster a state brings along ---------------------------------------------

    def import_roster_row(self, row: RosterRow) -> bool:
        """Import one person with their past completions; returns whether anything was new.

        Re-importing the same row changes nothing and emits nothing."""
        changed = False
        with self._unit_of_work() as uow:
            db = uow.session
            person = db.get(Person, row.person_id)
            if person is None:
                details = row.model_dump(
                    include={"name", "region", "email", "phone", "preferred_channel"}
                )
                db.add(Person(id=row.person_id, created_at=self._clock(), **details))
                changed = True
            elif person.name != row.name:
                raise DuplicatePerson(
                    f"The id {row.person_id!r} belongs to a person with another name."
                )
            if row.ps101_completed_on is not None and not _completed_ps101(db, row.person_id):
                self._imported_session(db)
                db.add(
                    Ps101Registration(
                        session_id=IMPORTED_SESSION,
                        person_id=row.person_id,
                        registered_at=self._clock(),
                        completed_on=row.ps101_completed_on,
                    )
                )
                uow.emit(
                    events.PeerSupport101Completed(
                        person_id=row.person_id,
                        session_id=IMPORTED_SESSION,
                        completed_on=row.ps101_completed_on,
                    ),
                    partition_key=row.person_id,
                )
                changed = True
            if (
                row.training_cohort
                and row.training_completed_on
                and db.get(TrainingCompletion, row.person_id) is None
            ):
                db.add(
                    TrainingCompletion(
                        person_id=row.person_id,
                        cohort_id=row.training_cohort,
                        completed_on=row.training_completed_on,
                    )
                )
                uow.emit(
                    events.TrainingCompleted(
                        person_id=row.person_id,
                        cohort_id=row.training_cohort,
                        completed_on=row.training_completed_on,
                    ),
                    partition_key=row.person_id,
                )
                changed = True
            if changed:
                uow.commit()
        return changed

    def _imported_session(self, db: Session) -> None:
        if db.get(Ps101Session, IMPORTED_SESSION) is None:
            db.add(
                Ps101Session(
                    id=IMPORTED_SESSION,
                    starts_at=datetime(1970, 1, 1, tzinfo=UTC),
                    place="completed before this system",
                    capacity=1_000_000,
                )
            )
            db.flush()

    # -- applications -------------------------------------------------------------------

    def submit_application(self, request: ApplicationRequest) -> Application:
        intake = self._calendar.intake_for(request.received_at)
        with self._unit_of_work() as uow:
            db = uow.session
            _person(db, request.person_id)
            if not _completed_ps101(db, request.person_id):
                raise MissingPrerequisite(
                    "Peer Support 101 must be completed before applying to the training."
                )
            duplicate = db.exec(
                select(Application.id).where(
                    Application.person_id == request.person_id, Application.intake == intake.id
                )
            ).first()
            if duplicate is not None:
                raise DuplicateApplication(
                    f"This person already applied to the {intake.id} intake."
                )
            application = Application(
                id=new_id(),
                person_id=request.person_id,
                intake=intake.id,
                transport=request.transport,
                offers_ride=request.offers_ride,
                work_settings=list(request.work_settings),
                submitted_at=request.received_at,
            )
            db.add(application)
            uow.emit(
                events.ApplicationSubmitted(
                    application_id=application.id,
                    person_id=application.person_id,
                    intake=application.intake,
                    submitted_at=application.submitted_at,
                    transport=application.transport,
                    work_settings=tuple(application.work_settings),
                ),
                partition_key=application.person_id,
            )
            try:
                uow.commit()
            except IntegrityError:  # a concurrent duplicate won the race
                raise DuplicateApplication(
                    f"This person already applied to the {intake.id} intake."
                ) from None
        return application

    def application(self, application_id: str) -> Application:
        with self._unit_of_work() as uow:
            return _get(uow.session, Application, application_id, "application")

    def applications_of(self, person_id: str) -> list[Application]:
        with self._unit_of_work() as uow:
            _person(uow.session, person_id)
            query = select(Application).where(Application.person_id == person_id)
            return list(uow.session.exec(query.order_by(col(Application.submitted_at))))

    def applications_to(self, cohort_id: str) -> list[Application]:
        with self._unit_of_work() as uow:
            query = select(Application).where(Application.intake == cohort_id)
            return list(
                uow.session.exec(query.order_by(col(Application.submitted_at), col(Application.id)))
            )

    def accept(self, application_id: str) -> Application:
        with self._unit_of_work() as uow:
            application = _get(uow.session, Application, application_id, "application")
            cohort = self._lock_cohort(uow.session, application.intake)
            taken = _seats_taken(uow.session, cohort.id)
            outcome = rules.accept(application.status, taken, cohort.capacity)
            self._move(uow, application, outcome)
            uow.commit()
        return application

    def decline(self, application_id: str, reason_code: str) -> Application:
        return self._close(application_id, ApplicationStatus.DECLINED, reason_code)

    def withdraw(self, application_id: str) -> Application:
        return self._close(application_id, ApplicationStatus.WITHDRAWN, None)

    def _close(
        self, application_id: str, outcome: ApplicationStatus, reason: str | None
    ) -> Application:
        with self._unit_of_work() as uow:
            db = uow.session
            application = _get(db, Application, application_id, "application")
            cohort = self._lock_cohort(db, application.intake)
            seat_freed = rules.close(application.status, outcome)
            application.decline_reason = reason
            self._move(uow, application, outcome)
            if seat_freed:
                db.flush()
                self._promote(uow, cohort)
            uow.commit()
        return application

    def _promote(self, uow: UnitOfWork, cohort: Cohort) -> None:
        if _seats_taken(uow.session, cohort.id) >= cohort.capacity:
            return
        first = rules.first_in_line(_waitlist(uow.session, cohort.id))
        if first is not None:
            promoted = _get(uow.session, Application, first.application_id, "application")
            self._move(uow, promoted, ApplicationStatus.ACCEPTED)

    def _move(self, uow: UnitOfWork, application: Application, status: ApplicationStatus) -> None:
        application.status = status
        application.decided_at = self._clock()
        uow.session.add(application)
        common = {
            "application_id": application.id,
            "person_id": application.person_id,
            "intake": application.intake,
        }
        payload: events.EventPayload
        if status == ApplicationStatus.ACCEPTED:
            payload = events.ApplicationAccepted(**common, cohort_id=application.intake)
        elif status == ApplicationStatus.WAITLISTED:
            uow.session.flush()
            position = rules.waitlist_position(
                _waitlist(uow.session, application.intake), application.id
            )
            payload = events.ApplicationWaitlisted(**common, position=position)
        elif status == ApplicationStatus.DECLINED:
            payload = events.ApplicationDeclined(
                **common, reason_code=application.decline_reason or "unspecified"
            )
        else:
            payload = events.ApplicationWithdrawn(**common)
        uow.emit(payload, partition_key=application.person_id)

    def _lock_cohort(self, db: Session, cohort_id: str) -> Cohort:
        """The cohort row, locked on PostgreSQL so that seat counts are decided one at a time."""
        cohort = db.exec(select(Cohort).where(Cohort.id == cohort_id).with_for_update()).first()
        if cohort is None:
            cohort = Cohort(id=cohort_id, capacity=self._policy.cohort_capacity)
            db.add(cohort)
            db.flush()
        return cohort

    def set_capacity(self, cohort_id: str, capacity: int) -> Cohort:
        with self._unit_of_work() as uow:
            cohort = self._lock_cohort(uow.session, cohort_id)
            cohort.capacity = capacity
            uow.session.add(cohort)
            uow.session.flush()
            self._promote(uow, cohort)
            uow.commit()
        return cohort

    # -- training -----------------------------------------------------------------------

    def record_attendance(self, cohort_id: str, person_id: str, day: int, on: date) -> bool:
        """Returns whether this attendance completed the training."""
        training.check_day(day)
        with self._unit_of_work() as uow:
            db = uow.session
            _person(db, person_id)
            accepted = db.exec(
                select(Application.intake).where(
                    Application.person_id == person_id,
                    Application.status == ApplicationStatus.ACCEPTED,
                )
            ).all()
            history = db.exec(
                select(Attendance.day, Attendance.attended_on).where(
                    Attendance.person_id == person_id
                )
            ).all()
            training.check_may_attend(
                in_cohort=cohort_id in accepted,
                accepted_earlier=any(
                    _intake_order(intake) < _intake_order(cohort_id) for intake in accepted
                ),
                attended=[attended_on for _, attended_on in history],
                on=on,
                window_months=self._policy.makeup_window_months,
            )
            if db.get(Attendance, (person_id, cohort_id, day)) is not None:
                return False  # recorded already: nothing new to tell
            self._lock_cohort(db, cohort_id)
            db.add(
                Attendance(
                    person_id=person_id,
                    cohort_id=cohort_id,
                    day=day,
                    attended_on=on,
                    recorded_at=self._clock(),
                )
            )
            uow.emit(
                events.TrainingDayAttended(
                    person_id=person_id, cohort_id=cohort_id, day=day, attended_on=on
                ),
                partition_key=person_id,
            )
            completed = self._complete_if_done(uow, person_id, cohort_id, [*history, (day, on)])
            uow.commit()
        return completed

    def _complete_if_done(
        self, uow: UnitOfWork, person_id: str, cohort_id: str, history: Sequence[tuple[int, date]]
    ) -> bool:
        if uow.session.get(TrainingCompletion, person_id) is not None:
            return False
        finished = training.completed_on(history, self._policy.makeup_window_months)
        if finished is None:
            return False
        uow.session.add(
            TrainingCompletion(person_id=person_id, cohort_id=cohort_id, completed_on=finished)
        )
        uow.emit(
            events.TrainingCompleted(
                person_id=person_id, cohort_id=cohort_id, completed_on=finished
            ),
            partition_key=person_id,
        )
        return True

    def ride_sharing(self, cohort_id: str) -> list[RideListing]:
        """Who needs a ride and who offered one, by region, among those accepted."""
        with self._unit_of_work() as uow:
            rows = uow.session.exec(
                select(Application, Person)
                .join(Person, col(Person.id) == col(Application.person_id))
                .where(
                    Application.intake == cohort_id,
                    Application.status == ApplicationStatus.ACCEPTED,
                )
            ).all()
        regions: dict[str, RideListing] = {}
        for application, person in rows:
            listing = regions.setdefault(person.region, RideListing(person.region, [], []))
            if application.transport == Transport.NEEDS_RIDE:
                listing.needs_ride.append(person.id)
            if application.offers_ride:
                listing.offers_ride.append(person.id)
        return [regions[region] for region in sorted(regions)]


SEASON_ORDER = {"spring": 0, "summer": 1, "fall": 2, "winter": 3}


def _intake_order(intake_id: str) -> tuple[int, int]:
    year, _, season = intake_id.partition("-")
    return int(year), SEASON_ORDER.get(season, 0)


def _person(db: Session, person_id: str) -> Person:
    person = db.get(Person, person_id)
    if person is None:
        raise UnknownPerson(f"No person has the id {person_id!r}.")
    return person


def _get(db: Session, table: type[RowT], key: str, what: str) -> RowT:
    row = db.get(table, key)
    if row is None:
        raise NotFound(f"No {what} has the id {key!r}.")
    return row


def _completed_ps101(db: Session, person_id: str) -> bool:
    return (
        db.exec(
            select(Ps101Registration.person_id).where(
                Ps101Registration.person_id == person_id,
                col(Ps101Registration.completed_on).is_not(None),
            )
        ).first()
        is not None
    )


def _seats_taken(db: Session, cohort_id: str) -> int:
    return db.exec(
        select(func.count()).where(
            Application.intake == cohort_id, Application.status == ApplicationStatus.ACCEPTED
        )
    ).one()


def _waitlist(db: Session, cohort_id: str) -> list[Queued]:
    rows = db.exec(
        select(Application.id, Application.submitted_at).where(
            Application.intake == cohort_id, Application.status == ApplicationStatus.WAITLISTED
        )
    ).all()
    return [Queued(application_id, submitted_at) for application_id, submitted_at in rows]
